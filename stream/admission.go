package stream

import "errors"

// ErrProjectFull is returned by Subscribe when the topic's project holds
// Admission.MaxPerProject untrusted streams, so one tenant's public key cannot
// take the places of every other tenant.
var ErrProjectFull = errors.New("stream: too many open streams for this project")

// ErrClientFull is returned by Subscribe when the client holds
// Admission.MaxPerClient untrusted streams, so one visitor cannot take the
// places of a project's other users.
var ErrClientFull = errors.New("stream: too many open streams for this client")

// Admission tells the broker who opens a subscription, so it can count it
// against the limits that keep untrusted clients apart. The caller knows the
// limits (a project's settings may change them); the broker counts, under the
// lock that also replaces a user's oldest stream.
type Admission struct {
	// Trusted marks a secret-key stream: it is not counted per project or
	// per client, and it may take the places Options.Reserved keeps.
	Trusted bool
	// Client is the address the stream is counted against ("" counts nowhere).
	Client string
	// MaxPerProject bounds the untrusted streams of the topic's project (0: no bound).
	MaxPerProject int
	// MaxPerClient bounds the untrusted streams of Client (0: no bound).
	MaxPerClient int
}

// admissions counts the open untrusted subscriptions, in all, per project and
// per client; entries go when they reach zero, so the maps are as small as
// the subscriptions open.
type admissions struct {
	untrusted int
	projects  map[string]int
	clients   map[string]int
}

func newAdmissions() admissions {
	return admissions{projects: map[string]int{}, clients: map[string]int{}}
}

// add counts s in (delta 1) or out (delta -1).
func (c *admissions) add(s *Subscription, delta int) {
	if s.admission.Trusted {
		return
	}
	c.untrusted += delta
	bump(c.projects, s.project, delta)
	if s.admission.Client != "" {
		bump(c.clients, s.admission.Client, delta)
	}
}

func bump(m map[string]int, k string, delta int) {
	if n := m[k] + delta; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}

// admit checks a subscription to project against every limit, counting the
// victim it would replace as already gone, so that a refused subscription
// replaces nothing. Untrusted subscriptions may hold MaxSubscribers less
// Reserved places whatever trusted ones hold, and trusted ones any place
// left, so each kind always has its share. The caller holds b.mu.
func (b *Broker) admit(project string, a Admission, victim *Subscription) error {
	gone := func(match bool) int {
		if victim != nil && match {
			return 1
		}
		return 0
	}
	untrustedVictim := victim != nil && !victim.admission.Trusted
	total := b.subscribers - gone(true)
	if a.Trusted {
		if total >= b.opts.MaxSubscribers {
			return ErrFull
		}
		return nil
	}
	if a.Client != "" && a.MaxPerClient > 0 &&
		b.counts.clients[a.Client]-gone(untrustedVictim && victim.admission.Client == a.Client) >= a.MaxPerClient {
		return ErrClientFull
	}
	if a.MaxPerProject > 0 && b.counts.projects[project]-gone(untrustedVictim) >= a.MaxPerProject {
		return ErrProjectFull
	}
	if total >= b.opts.MaxSubscribers || b.counts.untrusted-gone(untrustedVictim) >= b.opts.MaxSubscribers-b.opts.Reserved {
		return ErrFull
	}
	return nil
}
