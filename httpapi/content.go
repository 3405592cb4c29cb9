package httpapi

import (
	"context"
	"github.com/smartonboarding/smartonboard/render"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

func newList[T any](items []T, next string) api.ListResponse[T] {
	if items == nil {
		items = []T{} // an empty page is [], never null
	}
	resp := api.ListResponse[T]{Items: items}
	if next != "" {
		resp.NextCursor = &next
	}
	return resp
}

// writePage serves a list that takes only ?limit= and ?cursor=.
func writePage[T any](w http.ResponseWriter, r *http.Request,
	list func(ctx context.Context, projectID string, limit int, cursor string) ([]T, string, error)) error {
	q, err := queryParams(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	items, next, err := list(r.Context(), projectID(r), limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

func (s *Server) createContent(w http.ResponseWriter, r *http.Request) error {
	var in so.ContentInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	item, err := s.Content.Create(r.Context(), projectID(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/content-items/"+url.PathEscape(item.ID))
	writeJSON(w, http.StatusCreated, item)
	return nil
}

func (s *Server) getContent(w http.ResponseWriter, r *http.Request) error {
	item, err := s.Content.Find(r.Context(), projectID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, item)
	return nil
}

var contentListParams = []string{"status", "kind", "category", "tag", "locale", "q", "limit", "cursor"}

func (s *Server) listContent(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, contentListParams...)
	if err != nil {
		return err
	}
	f := so.ContentFilter{
		Status: so.ContentStatus(q.Get("status")), Kind: so.ContentKind(q.Get("kind")),
		Category: q.Get("category"), Tag: q.Get("tag"), Locale: q.Get("locale"), Q: q.Get("q"),
	}
	if f.Limit, err = limitParam(q); err != nil {
		return err
	}
	items, next, err := s.Content.List(r.Context(), projectID(r), f, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

func (s *Server) updateContent(w http.ResponseWriter, r *http.Request) error {
	var p so.ContentPatch
	if err := decodeJSON(w, r, &p, "application/json", "application/merge-patch+json"); err != nil {
		return err
	}
	item, err := s.Content.Update(r.Context(), projectID(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, item)
	return nil
}

func (s *Server) deleteContent(w http.ResponseWriter, r *http.Request) error {
	if err := s.Content.Delete(r.Context(), projectID(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryParams rejects query parameters the route does not know and repeated ones,
// so a typo is an error rather than a silently ignored filter.
func queryParams(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, so.Errorf(so.EINVALID, "malformed query string")
	}
	for name, vals := range q {
		if !slices.Contains(known, name) {
			return nil, so.FieldErrorf(so.EINVALID, name, "unknown query parameter %q; known: %v", name, known)
		}
		if len(vals) > 1 {
			return nil, so.FieldErrorf(so.EINVALID, name, "query parameter %q given %d times", name, len(vals))
		}
	}
	return q, nil
}

// limitParam parses ?limit=, leaving range checks to the domain.
func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 {
		return 0, so.FieldErrorf(so.EINVALID, "limit", "must be a whole number between 1 and %d", so.MaxListLimit)
	}
	return n, nil
}

// previewContent renders markdown as the SDK will receive it (goldmark,
// then bluemonday), for the dashboard's editor; nothing is stored.
func (s *Server) previewContent(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if len(in.Body) > so.MaxBodyBytes {
		return so.FieldErrorf(so.ETOOLARGE, "body", "is longer than %d bytes", so.MaxBodyBytes)
	}
	html, err := render.Markdown(in.Body)
	if err != nil {
		return so.FieldErrorf(so.EINVALID, "body", "cannot be rendered: %v", err)
	}
	writeJSON(w, http.StatusOK, struct {
		HTML string `json:"html"`
	}{html})
	return nil
}
