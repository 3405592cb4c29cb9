package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/stream"
)

// userStream serves GET /v1/stream: the journey, next_step and intervention
// events of one end user, resumable with Last-Event-ID. EventSource cannot
// set headers, so the public key, the user hash and the last event id may also
// come as ?key=, ?user_hash= and ?last_event_id=.
func (s *Server) userStream(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "user_id", "key", "user_hash", "last_event_id")
	if err != nil {
		return err
	}
	userID := q.Get("user_id")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	check := func(r *http.Request) error { return s.checkUser(r, userID) }
	if err := check(r); err != nil {
		return err
	}
	return s.serveTopic(w, r, stream.UserTopic(projectID(r), userID), check)
}

// analyticsStream serves GET /v1/analytics/stream: live project counters.
func (s *Server) analyticsStream(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	return s.serveTopic(w, r, stream.ProjectTopic(projectID(r)), nil)
}

// serveTopic streams topic to the request for as long as its key, and check
// when given, keep authorizing it, and at most StreamLifetime.
func (s *Server) serveTopic(w http.ResponseWriter, r *http.Request, topic string, check func(*http.Request) error) error {
	a, err := s.admission(r)
	if err != nil {
		return err
	}
	sub, err := s.Bus.Subscribe(topic, lastEventID(r), a)
	if err != nil {
		return refused(w, a, err)
	}
	defer sub.Close()
	opts := stream.ServeOptions{MaxLifetime: s.StreamLifetime, Reauthorize: func(ctx context.Context) error {
		return s.stillAuthorized(r.WithContext(ctx), check)
	}}
	// Once Serve has begun, the response is an event stream: a write failure means
	// the client went away, which is worth a debug line, not an error body.
	if err := stream.Serve(w, r, sub, opts); err != nil {
		s.Logger.DebugContext(r.Context(), "stream ended", "topic", topic, "err", err)
	}
	return nil
}

// lastEventID is the Last-Event-ID header (the browser's own reconnection),
// else ?last_event_id= (the SDK's, after it closed the stream itself).
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	if r.Pattern == "GET /v1/stream" {
		return r.URL.Query().Get("last_event_id")
	}
	return ""
}

// stillAuthorized re-checks an open stream: its key must still authenticate,
// and check (the user's identity) still pass. A store that cannot answer
// keeps the stream: a database blip must not tell every browser never to
// reconnect, and the key and identity caches answer most checks anyway.
func (s *Server) stillAuthorized(r *http.Request, check func(*http.Request) error) error {
	err := s.reauthorize(r)
	if err == nil && check != nil {
		err = check(r)
	}
	if code := so.ErrorCode(err); code == so.EUNAVAILABLE || code == so.EINTERNAL {
		if !errors.Is(r.Context().Err(), context.Canceled) { // not merely the client leaving
			s.Logger.WarnContext(r.Context(), "cannot re-check a stream's authorization; keeping it", "err", err, "request_id", requestID(r.Context()))
		}
		return nil
	}
	return err
}

// reauthorize checks that the key a stream was opened with still
// authenticates, so a revoked or expired key ends the stream; it is the one
// place streams depend on how keys are checked.
func (s *Server) reauthorize(r *http.Request) error {
	if p := principalFrom(r.Context()); p != nil && p.Kind == so.PrincipalSession {
		return s.reauthorizeSession(r, p)
	}
	presented, err := presentedKey(r)
	if err != nil {
		return err
	}
	k, err := s.keys.authenticate(r.Context(), s.Projects, presented)
	if err != nil {
		return err
	}
	if opened := APIKeyFrom(r.Context()); opened == nil || k.ID != opened.ID {
		return so.Errorf(so.EUNAUTHORIZED, "the stream's API key no longer authenticates")
	}
	return nil
}

// reauthorizeSession checks that a dashboard session is still signed in and
// still a member allowed to read the project.
func (s *Server) reauthorizeSession(r *http.Request, p *so.Principal) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return so.Errorf(so.EUNAUTHORIZED, "the stream's session cookie is gone")
	}
	a, sess, err := s.Accounts.Authenticate(r.Context(), c.Value)
	if err != nil {
		return err
	}
	now, err := s.Accounts.SessionPrincipal(r.Context(), a, sess, p.ProjectID)
	if err != nil {
		return err
	}
	if !now.Can(so.ScopeRead) {
		return so.Errorf(so.EFORBIDDEN, "your role no longer allows reading this project")
	}
	return nil
}

// admission tells the broker which stream limits a request is counted
// against. Secret keys and dashboard sessions are the customer's own servers
// and admins: they are trusted, and may use the places kept for them. Public keys are every
// visitor of the customer's pages, so their streams count per project and
// per client address.
func (s *Server) admission(r *http.Request) (stream.Admission, error) {
	p := principalFrom(r.Context())
	if p.Kind != so.PrincipalPublicKey {
		return stream.Admission{Trusted: true}, nil
	}
	limits, err := s.projectLimits(r.Context(), p.ProjectID)
	if err != nil {
		return stream.Admission{}, err
	}
	return stream.Admission{Client: clientBucket(s.clientIP(r)), MaxPerClient: s.MaxStreamsPerIP,
		MaxPerProject: so.Or(limits.Streams, s.MaxStreamsPerProject)}, nil
}

// clientBucket is the client address streams are counted against: an IPv6
// address stands for its /64, which one subscriber usually holds whole.
func clientBucket(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// streamRetryAfter is the Retry-After of a stream refused by a per-project or
// per-client limit: places free as streams close, which takes a while.
const streamRetryAfter = "10"

// refused explains why the broker refused a stream: 429 for the limits of one
// project or client, which others do not share, and 503 for the instance's.
func refused(w http.ResponseWriter, a stream.Admission, err error) error {
	switch {
	case errors.Is(err, stream.ErrClosed):
		return so.Errorf(so.EUNAVAILABLE, "the server is shutting down; reconnect")
	case errors.Is(err, stream.ErrFull):
		return so.Errorf(so.EUNAVAILABLE, "this instance holds as many open streams as it may (SMARTONBOARD_MAX_STREAMS); reconnect, perhaps to another instance")
	case errors.Is(err, stream.ErrProjectFull):
		w.Header().Set("Retry-After", streamRetryAfter)
		return so.Errorf(so.ERATELIMITED, "this project has %d public-key streams open on this instance, as many as it may (SMARTONBOARD_MAX_STREAMS_PER_PROJECT, or the project's limits.streams); retry later", a.MaxPerProject)
	case errors.Is(err, stream.ErrClientFull):
		w.Header().Set("Retry-After", streamRetryAfter)
		return so.Errorf(so.ERATELIMITED, "this address has %d streams open on this instance, as many as one address may (SMARTONBOARD_MAX_STREAMS_PER_IP); close one, or retry later", a.MaxPerClient)
	}
	return err
}

// publishJourney pushes a journey's state and next step to its user's stream.
func (s *Server) publishJourney(ctx context.Context, j *so.Journey) {
	PublishJourneys(ctx, s.Bus, s.Journeys, []*so.Journey{j})
}
