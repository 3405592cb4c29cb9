package httpapi

import (
	"context"
	"errors"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/stream"
)

// userStream serves GET /v1/stream: the journey, next_step and intervention
// events of one end user, resumable with Last-Event-ID.
func (s *Server) userStream(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "user_id")
	if err != nil {
		return err
	}
	userID := q.Get("user_id")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	if err := s.checkUser(r, userID); err != nil {
		return err
	}
	return s.serveTopic(w, r, stream.UserTopic(projectID(r), userID))
}

// analyticsStream serves GET /v1/analytics/stream: live project counters.
func (s *Server) analyticsStream(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	return s.serveTopic(w, r, stream.ProjectTopic(projectID(r)))
}

func (s *Server) serveTopic(w http.ResponseWriter, r *http.Request, topic string) error {
	sub, err := s.Bus.Subscribe(topic, r.Header.Get("Last-Event-ID"), stream.Admission{Trusted: true})
	switch {
	case errors.Is(err, stream.ErrClosed):
		return so.Errorf(so.EUNAVAILABLE, "the server is shutting down; reconnect")
	case errors.Is(err, stream.ErrFull):
		return so.Errorf(so.EUNAVAILABLE, "this instance holds as many open streams as it may (SMARTONBOARD_MAX_STREAMS); reconnect, perhaps to another instance")
	case err != nil:
		return err
	}
	defer sub.Close()
	// Once Serve has begun, the response is an event stream: a write failure means
	// the client went away, which is worth a debug line, not an error body.
	if err := stream.Serve(w, r, sub, stream.ServeOptions{}); err != nil {
		s.Logger.DebugContext(r.Context(), "stream ended", "topic", topic, "err", err)
	}
	return nil
}

// publishJourney pushes a journey's state and next step to its user's stream.
func (s *Server) publishJourney(ctx context.Context, j *so.Journey) {
	PublishJourneys(ctx, s.Bus, s.Journeys, []*so.Journey{j})
}
