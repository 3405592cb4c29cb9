package httpapi

import (
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// login checks a password and sets the session cookie: HttpOnly so scripts
// cannot read it, SameSite=Lax so other sites cannot send it on a POST, Secure
// outside development.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.Accounts == nil {
		return so.Errorf(so.ENOTFOUND, "sign-in is not available on this server")
	}
	var in api.LoginRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.throttleLogin(w, r, in.Email); err != nil {
		return err
	}
	a, sess, token, err := s.Accounts.Login(r.Context(), in.Email, in.Password)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: !s.Development, SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt})
	return s.writeMe(w, r, &so.Principal{Kind: so.PrincipalSession, Account: a, Session: sess})
}

// logout revokes the session and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	who := principalFrom(r.Context())
	if err := s.Accounts.Logout(r.Context(), who.Session); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: !s.Development, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	return s.writeMe(w, r, principalFrom(r.Context()))
}

func (s *Server) writeMe(w http.ResponseWriter, r *http.Request, who *so.Principal) error {
	projects, err := s.memberships(r.Context(), who)
	if err != nil {
		return err
	}
	a := who.Account
	writeJSON(w, http.StatusOK, api.Me{
		Account:   api.AccountView{ID: a.ID, Email: a.Email, CreatedAt: so.FormatTime(a.CreatedAt)},
		CSRFToken: who.Session.CSRFToken, ExpiresAt: so.FormatTime(who.Session.ExpiresAt), Projects: projects})
	return nil
}
