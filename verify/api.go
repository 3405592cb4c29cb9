package verify

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/client"
	"github.com/smartonboarding/smartonboard/preflight"
)

// checkAdminAuth makes sure an admin route refuses requests without a valid key.
// The invented key is well formed, so it reaches the key lookup, not only the
// format check.
func (v *verifier) checkAdminAuth(ctx context.Context) {
	ctx, cancel := v.call(ctx)
	defer cancel()
	for _, k := range []struct{ what, key string }{{"no key", ""}, {"an invented key", so.GenerateKey(so.KeySecret)}} {
		_, err := v.withKey(k.key).ListContentItems(ctx, 1)
		if status := client.StatusOf(err); status != http.StatusUnauthorized {
			v.fail("admin auth", "GET /v1/content-items with "+k.what, preflight.TypeSecurity,
				fmt.Sprintf("the admin API answered %s with %s, not 401", k.what, describe(err)),
				"make sure the URL reaches Smart Onboarding directly and nothing in front answers for it")
			return
		}
	}
	v.ok("admin auth", "requests without a valid key are refused (401)")
}

// describe is an answer for a report line: its status, or the error.
func describe(err error) string {
	if err == nil {
		return "200"
	}
	if s := client.StatusOf(err); s != 0 {
		return fmt.Sprint(s)
	}
	return err.Error()
}

// isKind tells whether key has the prefix of a key of kind want.
func isKind(key string, want so.KeyKind) bool {
	kind, ok := so.KeyKindOf(key)
	return ok && kind == want
}

func (v *verifier) checkSecretKey(ctx context.Context) {
	key := v.opts.SecretKey
	switch {
	case key == "":
		v.skip("secret key", "pass --key (or set SMARTONBOARD_ADMIN_KEY) to check the admin API")
		return
	case !isKind(key, so.KeySecret):
		v.fail("secret key", "not an sk_ key", preflight.TypeConfiguration, "--key is not a secret key",
			"pass the secret key (sk_…) as --key and the public key (pk_…) as --public-key")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	_, err := v.withKey(key).ListContentItems(ctx, 1)
	switch client.StatusOf(err) {
	case 0:
		if err != nil {
			v.fail("secret key", "GET /v1/content-items", preflight.TypeNetwork, err.Error(), reachSuggestion(err))
			return
		}
		v.secretOK = true
		v.ok("secret key", "admin API answers with it")
	case http.StatusUnauthorized:
		v.fail("secret key", "refused", preflight.TypeSecurity, "the instance does not know this secret key",
			"use the key printed at first start or set in SMARTONBOARD_ADMIN_KEY for this deployment")
	default:
		v.fail("secret key", "GET /v1/content-items", preflight.TypeService, err.Error(),
			"read the server log: the admin API fails with a valid key")
	}
}

func (v *verifier) checkPublicKey(ctx context.Context) {
	key := v.opts.PublicKey
	switch {
	case key == "":
		v.skip("public key", "pass --public-key to check that the browser key cannot use the admin API")
		return
	case !isKind(key, so.KeyPublic):
		v.fail("public key", "not a pk_ key", preflight.TypeConfiguration, "--public-key is not a public key",
			"pass the public key (pk_…) that the browser SDK sends")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	_, err := v.withKey(key).ListContentItems(ctx, 1)
	switch client.StatusOf(err) {
	case http.StatusForbidden:
		v.publicOK = true
		v.ok("public key", "known, and refused on admin routes (403)")
	case http.StatusUnauthorized:
		v.fail("public key", "refused", preflight.TypeSecurity, "the instance does not know this public key",
			"use the pk_… key printed at first start or set in SMARTONBOARD_PUBLIC_KEY; the browser SDK sends it")
	default:
		v.fail("public key", "GET /v1/content-items", preflight.TypeSecurity,
			fmt.Sprintf("a public key on an admin route got %s, not 403", describe(err)),
			"do not serve this instance: browser keys must never reach the admin API")
	}
}

// checkCORS asks what a browser asks before posting events from Origin, and
// judges the answer as the browser would: a 2xx that allows the origin, POST,
// and the Authorization and Content-Type headers.
func (v *verifier) checkCORS(ctx context.Context) {
	if v.opts.Origin == "" {
		v.skip("cors", "pass --origin https://app.example.com to check that browsers there may call the API")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	resp, err := v.anon.Send(ctx, http.MethodOptions, "/v1/events", http.Header{
		"Origin":                         {v.opts.Origin},
		"Access-Control-Request-Method":  {http.MethodPost},
		"Access-Control-Request-Headers": {"authorization, content-type"},
	})
	if err != nil {
		v.fail("cors", "OPTIONS /v1/events", preflight.TypeNetwork, err.Error(), reachSuggestion(err))
		return
	}
	resp.Body.Close()
	h := resp.Header
	var problem string
	switch {
	case resp.StatusCode/100 != 2:
		problem = fmt.Sprintf("the preflight request got %d", resp.StatusCode)
	case h.Get("Access-Control-Allow-Origin") != v.opts.Origin && h.Get("Access-Control-Allow-Origin") != "*":
		problem = fmt.Sprintf("the answer allows origin %q", h.Get("Access-Control-Allow-Origin"))
	case !listHas(h.Get("Access-Control-Allow-Methods"), "POST"):
		problem = fmt.Sprintf("the answer allows methods %q, not POST", h.Get("Access-Control-Allow-Methods"))
	case !listHas(h.Get("Access-Control-Allow-Headers"), "Authorization") || !listHas(h.Get("Access-Control-Allow-Headers"), "Content-Type"):
		problem = fmt.Sprintf("the answer allows headers %q, not Authorization and Content-Type", h.Get("Access-Control-Allow-Headers"))
	}
	if problem == "" && v.opts.PublicKey != "" {
		problem = v.originRefused(ctx)
	}
	if problem != "" {
		v.fail("cors", v.opts.Origin+" not allowed", preflight.TypeConfiguration,
			fmt.Sprintf("a browser at %s cannot send events: %s", v.opts.Origin, problem),
			"add the origin to the project's settings.allowed_origins or to SMARTONBOARD_ALLOWED_ORIGINS, and make sure the proxy passes OPTIONS requests through to the instance")
		return
	}
	if v.opts.PublicKey == "" {
		v.ok("cors", v.opts.Origin+" passes the preflight (pass --public-key to check the project's origins too)")
		return
	}
	v.ok("cors", v.opts.Origin+" may call the API")
}

// originRefused makes a public-key call that changes nothing from the origin,
// since a preflight cannot tell which project's origins apply (it carries no
// key), and says why the page would be refused, if it would.
func (v *verifier) originRefused(ctx context.Context) string {
	resp, err := v.withKey(v.opts.PublicKey).Send(ctx, http.MethodGet, "/v1/users/smartonboard-verify/next-step?flow=smartonboard-verify",
		http.Header{"Origin": {v.opts.Origin}})
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return "the project refuses calls from pages of that origin (403)"
	case resp.Header.Get("Access-Control-Allow-Origin") != v.opts.Origin && resp.Header.Get("Access-Control-Allow-Origin") != "*":
		return fmt.Sprintf("its answers allow origin %q, so the page cannot read them", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	return ""
}

// listHas tells whether a comma-separated header value names token. A "*"
// does not count: browsers do not extend it to Authorization.
func listHas(list, token string) bool {
	return slices.ContainsFunc(strings.Split(list, ","), func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), token) })
}

// checkStream opens the admin stream and waits for its first event: a proxy that
// buffers responses holds it back, and then no admin sees live counters.
func (v *verifier) checkStream(ctx context.Context) {
	if !v.secretOK {
		v.skip("stream", "needs a working --key")
		return
	}
	v.firstEvent(ctx, "stream", streaming(v.withKey(v.opts.SecretKey)), "/v1/analytics/stream", nil)
}

// checkUserStream opens the stream browsers hold, with the public key, for
// VerifyUserID: it passes the same proxies under another path, and when the
// project verifies identities it needs the user's hash, which the secret key
// can compute from the project's identity secret.
func (v *verifier) checkUserStream(ctx context.Context) {
	if !v.secretOK || !v.publicOK {
		v.skip("user stream", "needs a working --key and --public-key")
		return
	}
	pctx, cancel := v.call(ctx)
	p, err := v.withKey(v.opts.SecretKey).Project(pctx)
	cancel()
	if err != nil {
		v.fail("user stream", "GET /v1/project", preflight.TypeService, err.Error(), "read the server log")
		return
	}
	var header http.Header
	if p.IdentityVerification {
		header = http.Header{"X-User-Hash": {hex.EncodeToString(so.UserHash(p.IdentitySecret, VerifyUserID))}}
	}
	v.firstEvent(ctx, "user stream", streaming(v.withKey(v.opts.PublicKey)), "/v1/stream?user_id="+VerifyUserID, header)
}

// firstEvent opens a stream and waits up to StreamWait for its first event.
func (v *verifier) firstEvent(ctx context.Context, check string, c *client.Client, path string, header http.Header) {
	ctx, cancel := context.WithTimeout(ctx, v.opts.StreamWait)
	defer cancel()
	start := time.Now()
	s, err := c.OpenStream(ctx, path, header)
	if err == nil {
		defer s.Close()
		_, err = s.Next()
	}
	switch {
	case err == nil:
		v.ok(check, "first event after "+since(start))
	case ctx.Err() != nil || isTimeout(err):
		v.fail(check, fmt.Sprintf("no event within %s", v.opts.StreamWait), preflight.TypeNetwork,
			"the event stream did not deliver its first event: something in front buffers or holds streaming responses",
			"turn off response buffering for /v1/stream and /v1/analytics/stream (nginx: proxy_buffering off; the server also sends X-Accel-Buffering: no) and allow long-lived connections")
	case client.StatusOf(err) == http.StatusUnauthorized || client.StatusOf(err) == http.StatusForbidden:
		v.fail(check, "GET "+strings.SplitN(path, "?", 2)[0], preflight.TypeSecurity, err.Error(),
			"the stream refused the key (or the user hash): check the keys passed to verify")
	case client.StatusOf(err) == http.StatusTooManyRequests:
		v.fail(check, "GET "+strings.SplitN(path, "?", 2)[0], preflight.TypeService, err.Error(),
			"the project's or this address's public-key streams are at their limit: see SMARTONBOARD_MAX_STREAMS_PER_PROJECT (or the project's limits.streams) and SMARTONBOARD_MAX_STREAMS_PER_IP")
	case client.StatusOf(err) == http.StatusServiceUnavailable:
		v.fail(check, "GET "+strings.SplitN(path, "?", 2)[0], preflight.TypeService, err.Error(),
			"the instance holds as many streams as it may: see smartonboard_streams_open in /metrics and SMARTONBOARD_MAX_STREAMS")
	default:
		v.fail(check, "GET "+strings.SplitN(path, "?", 2)[0], preflight.TypeNetwork, err.Error(),
			"the stream was cut or refused: allow long-lived responses through the proxy, and read the server log")
	}
}

// checkWrite posts one event with the secret key and reads its user back over a
// new connection: a 200 means the event was committed, so any instance must see
// the user. The event's time is the server's clock, read from its Date header.
func (v *verifier) checkWrite(ctx context.Context) {
	switch {
	case !v.opts.Write:
		v.skip("write", "pass --write to store one event for user "+VerifyUserID+" and read it back")
		return
	case !v.secretOK:
		v.skip("write", "needs a working --key")
		return
	}
	ctx, cancel := v.call(ctx)
	defer cancel()
	admin := v.withKey(v.opts.SecretKey)
	sent := so.Truncate(time.Now().Add(v.skew))
	ev := so.EventInput{ID: "verify-" + so.NewID(), Type: so.EventCustom, UserID: VerifyUserID,
		Timestamp: so.FormatTime(sent), Properties: []byte(`{"name":"smartonboard_verify"}`)}
	start := time.Now()
	resp, err := admin.PostEvents(ctx, []so.EventInput{ev})
	if err == nil && resp.Accepted != 1 {
		if len(resp.Rejected) > 0 && resp.Rejected[0].Field == "timestamp" {
			v.fail("write", "POST /v1/events", preflight.TypeConfiguration,
				"the server refused the event's time: "+resp.Rejected[0].Message,
				"the event's time came from the Date header: the clocks of the instances and of whatever sets that header (proxy, load balancer) differ; run NTP on all of them")
			return
		}
		err = fmt.Errorf("the event was not accepted: %+v", resp.Rejected)
	}
	if err != nil {
		v.fail("write", "POST /v1/events", preflight.TypeService, err.Error(),
			"read the server log; check that the database user may write (INSERT on events and end_users)")
		return
	}
	u, err := freshConnections(admin).User(ctx, VerifyUserID)
	// An instance records a user's sighting at most once per SeenPrecision, so a
	// second run within it finds the first run's time.
	if err != nil || u.LastSeenAt.Before(sent.Add(-so.SeenPrecision)) {
		v.fail("write", "GET /v1/users/"+VerifyUserID, preflight.TypeService,
			"an acknowledged event is not visible: "+describeUser(u, err),
			"instances may be reading a different database than they write: check DATABASE_URL on every instance")
		return
	}
	v.ok("write", "one event stored and read back in "+since(start))
}

func describeUser(u *so.EndUser, err error) string {
	if client.StatusOf(err) == http.StatusNotFound {
		return "its user does not exist"
	}
	if err != nil {
		return err.Error()
	}
	return "the user was last seen " + so.FormatTime(u.LastSeenAt)
}
