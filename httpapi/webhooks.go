package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/webhook"
)

// maxWebhooks bounds a project's webhooks: each one multiplies every event.
const maxWebhooks = 20

// webhookInput is the body of POST /v1/webhooks.
type webhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// withSecret is a new webhook's JSON with its signing secret, shown this once.
func withSecret(h *so.Webhook) ([]byte, error) {
	view, err := h.MarshalJSON()
	if err != nil {
		return nil, err
	}
	secret, err := json.Marshal(h.Secret)
	if err != nil {
		return nil, err
	}
	return append(append(append(view[:len(view)-1:len(view)-1], `,"secret":`...), secret...), '}'), nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	hooks, err := s.Webhooks.ListWebhooks(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(hooks, ""))
	return nil
}

// createWebhook subscribes an endpoint; in production only public https
// endpoints are accepted (and the sender checks the address again when it
// connects).
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := webhook.CheckURL(in.URL, s.WebhookProduction); err != nil {
		return err
	}
	if err := webhook.CheckTypes("events", in.Events); err != nil {
		return err
	}
	hooks, err := s.Webhooks.ListWebhooks(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	if len(hooks) >= maxWebhooks {
		return so.Errorf(so.ECONFLICT, "a project has at most %d webhooks; delete one first", maxWebhooks)
	}
	hook := &so.Webhook{ID: so.NewID(), ProjectID: projectID(r), URL: in.URL, Events: in.Events, Secret: webhook.NewSecret(),
		CreatedAt: so.Now(), CreatedBy: principalFrom(r.Context()).Actor()}
	if err := s.Webhooks.CreateWebhook(r.Context(), hook); err != nil {
		return err
	}
	noteTarget(r, "", r.URL.Path+"/"+hook.ID)
	body, err := withSecret(hook)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, json.RawMessage(body))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.DeleteWebhook(r.Context(), projectID(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// disableWebhook stops deliveries to a webhook until it is enabled again;
// pending deliveries end as failed when they come due.
func (s *Server) disableWebhook(w http.ResponseWriter, r *http.Request) error {
	at := so.Now()
	return s.switchWebhook(w, r, &at, "disabled by "+principalFrom(r.Context()).Actor())
}

// enableWebhook resumes deliveries to a webhook, its failure count reset.
func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.switchWebhook(w, r, nil, "")
}

func (s *Server) switchWebhook(w http.ResponseWriter, r *http.Request, at *time.Time, reason string) error {
	if r.ContentLength > 0 {
		return so.Errorf(so.EINVALID, "this action takes no body")
	}
	id := r.PathValue("id")
	if err := s.Webhooks.DisableWebhook(r.Context(), projectID(r), id, at, reason); err != nil {
		return err
	}
	hooks, err := s.Webhooks.ListWebhooks(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.ID == id {
			writeJSON(w, http.StatusOK, h)
			return nil
		}
	}
	return so.WebhookNotFound(id)
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = so.DefaultListLimit
	}
	after, err := so.DecodeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	ds, err := s.Webhooks.ListDeliveries(r.Context(), projectID(r), r.PathValue("id"), after, limit+1)
	if err != nil {
		return err
	}
	next := ""
	if len(ds) > limit {
		ds = ds[:limit]
		next = so.EncodeCursor(ds[len(ds)-1].ID)
	}
	writeJSON(w, http.StatusOK, newList(ds, next))
	return nil
}
