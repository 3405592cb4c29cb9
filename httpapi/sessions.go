package httpapi

import (
	"crypto/subtle"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
	"github.com/smartonboarding/smartonboard/web"
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
	if err := s.checkLoginCSRF(r); err != nil {
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

// checkLoginCSRF refuses a browser's sign-in from another site, or without the
// token the sign-in page put in its form and cookie (login CSRF would sign
// the visitor into the attacker's account). Clients that are not browsers
// send neither Origin nor Sec-Fetch-Site and sign in with the password alone.
func (s *Server) checkLoginCSRF(r *http.Request) error {
	if r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "" {
		return nil
	}
	if err := s.crossOrigin.Check(r); err != nil {
		return so.Errorf(so.EFORBIDDEN, "cross-origin sign-in refused: sign in on the dashboard's own sign-in page")
	}
	c, err := r.Cookie(web.LoginCookie)
	got := r.Header.Get("X-CSRF-Token")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		return so.FieldErrorf(so.EFORBIDDEN, "X-CSRF-Token", "missing or wrong sign-in token: reload the sign-in page (/admin/login) and try again")
	}
	return nil
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
