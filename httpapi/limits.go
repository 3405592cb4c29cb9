package httpapi

import (
	"context"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/ratelimit"
)

// RateLimits are the instance's default limits, in requests per minute; 0
// turns one off. A project's settings override each for its own traffic. Each
// instance enforces them on its own, so behind N instances a client gets up to
// N times the limit: set them per instance.
type RateLimits struct {
	EventsPerUser int // event requests per end user
	PerIP         int // requests per client address
	PublicKey     int // requests per public key (a quota)
	Admin         int // admin requests per secret key or session
}

// Sign-in limits: attempts per minute per client address and per email, far
// below what password guessing needs.
const (
	loginPerIP    = 20
	loginPerEmail = 10
)

// limiters keeps each kind of bucket apart, so that a flood of one kind (end
// user ids, which any page can invent) can never evict and so reset another
// (sign-in attempts, addresses, keys): each evicts only its own kind.
type limiters struct {
	addresses, users, principals, logins *ratelimit.Limiter
}

// newLimiters sizes each kind: clients invent addresses and user ids without
// bound, so those get ratelimit's default (100,000 buckets, some 24 MiB each
// at most); keys, accounts and sign-in attempts need fewer.
func newLimiters() limiters {
	few := ratelimit.Options{MaxKeys: 20_000}
	return limiters{addresses: ratelimit.New(ratelimit.Options{}), users: ratelimit.New(ratelimit.Options{}),
		principals: ratelimit.New(few), logins: ratelimit.New(few)}
}

// addressKey is the client address limits count against: an IPv6 address
// stands for its /64, which one subscriber usually holds whole.
func (s *Server) addressKey(r *http.Request) string { return clientBucket(s.clientIP(r)) }

// limitAddress spends one token of the client address's bucket, before any
// key is looked up, so a flood of invented keys costs the store nothing.
func (s *Server) limitAddress(w http.ResponseWriter, r *http.Request) error {
	return s.spend(w, r, s.limiter.addresses.Allow(s.addressKey(r), s.Limits.PerIP, 1))
}

// limitPrincipal applies the limits that depend on who is calling: a public
// key's quota, an admin's rate, and a project's own address limit.
func (s *Server) limitPrincipal(w http.ResponseWriter, r *http.Request, who access) error {
	p := principalFrom(r.Context())
	if p == nil {
		return nil
	}
	if p.ProjectID == "" { // a signed-in account on its own routes
		return s.spend(w, r, s.limiter.principals.Allow("account:"+p.Account.ID, s.Limits.Admin, 1))
	}
	l, err := s.projectLimits(r.Context(), p.ProjectID)
	if err != nil {
		return err
	}
	var ds []ratelimit.Decision
	if l.PerIP != nil {
		ds = append(ds, s.limiter.addresses.Allow(p.ProjectID+"\x00"+s.addressKey(r), *l.PerIP, 1))
	}
	switch {
	case p.Kind == so.PrincipalPublicKey:
		ds = append(ds, s.limiter.principals.Allow("key:"+p.Key.ID, so.Or(l.PublicKey, s.Limits.PublicKey), 1))
	case who != public && p.Account != nil: // per account, however many sessions it opens
		ds = append(ds, s.limiter.principals.Allow("account:"+p.Account.ID, so.Or(l.Admin, s.Limits.Admin), 1))
	case who != public:
		ds = append(ds, s.limiter.principals.Allow("admin:"+p.Key.ID, so.Or(l.Admin, s.Limits.Admin), 1))
	}
	return s.spend(w, r, ratelimit.Tightest(ds...))
}

// limitUsers spends one event request of each end user a batch names; when one
// of them is over its limit the whole batch is refused and nothing is stored.
func (s *Server) limitUsers(w http.ResponseWriter, r *http.Request, users []string) error {
	l, err := s.projectLimits(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	perMinute := so.Or(l.EventsPerUser, s.Limits.EventsPerUser)
	if perMinute <= 0 {
		return nil
	}
	return s.spend(w, r, s.limiter.users.AllowEach(projectID(r)+"\x00", users, perMinute))
}

// throttleLogin bounds password guessing per client address and per account.
func (s *Server) throttleLogin(w http.ResponseWriter, r *http.Request, email string) error {
	if len(email) > so.MaxEmailLen {
		email = email[:so.MaxEmailLen]
	}
	return s.spend(w, r, ratelimit.Tightest(
		s.limiter.logins.Allow("ip:"+s.addressKey(r), loginPerIP, 1),
		s.limiter.logins.Allow("email:"+so.NormalizeEmail(email), loginPerEmail, 1)))
}

// limitState is the tightest decision taken for a request so far, so the
// RateLimit headers report it whichever check came last.
type limitState struct {
	d   ratelimit.Decision
	set bool
}

// spend reports the request's tightest decision in the RateLimit headers and
// refuses a request over its limit.
func (s *Server) spend(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) error {
	if d.Limit == 0 {
		return nil
	}
	if st, _ := r.Context().Value(limitKey).(*limitState); st != nil {
		if st.set {
			d = ratelimit.Tightest(st.d, d)
		}
		st.d, st.set = d, true
	}
	ratelimit.WriteHeaders(w.Header(), d)
	if !d.Allowed {
		return so.Errorf(so.ERATELIMITED, "too many requests: at most %d a minute; retry after the Retry-After header's seconds", d.Limit)
	}
	return nil
}

// projectLimits reads a project's limit overrides through the project cache.
func (s *Server) projectLimits(ctx context.Context, projectID string) (so.Limits, error) {
	p, err := s.projects.get(ctx, s.Projects, projectID)
	if so.ErrorCode(err) == so.EINTERNAL {
		return so.Limits{}, so.Errorf(so.EUNAVAILABLE, "project settings cannot be read right now; retry")
	} else if err != nil {
		return so.Limits{}, err
	}
	return p.Settings.Limits, nil
}
