package httpapi

import (
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

func viewMember(m *so.Member) api.MemberView {
	return api.MemberView{AccountID: m.AccountID, Email: m.Email, Role: m.Role, CreatedAt: so.FormatTime(m.CreatedAt)}
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	ms, err := s.Accounts.Store.ListMembers(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	views := make([]api.MemberView, len(ms))
	for i, m := range ms {
		views[i] = viewMember(m)
	}
	writeJSON(w, http.StatusOK, newList(views, ""))
	return nil
}

// putMember adds an account to the project or changes its role.
func (s *Server) putMember(w http.ResponseWriter, r *http.Request) error {
	var in so.MemberInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := s.Accounts.PutMember(r.Context(), projectID(r), in)
	if err != nil {
		return err
	}
	noteTarget(r, "", "/v1/members/"+m.AccountID)
	writeJSON(w, http.StatusOK, viewMember(m))
	return nil
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.RemoveMember(r.Context(), projectID(r), r.PathValue("account_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
