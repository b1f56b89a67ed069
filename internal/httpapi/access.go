package httpapi

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User      *access.User `json:"user"`
	CSRFToken string       `json:"csrf_token"`
	ExpiresAt time.Time    `json:"expires_at"`
}

type tokenRequest struct {
	Name string `json:"name"`
	// TTL like "720h"; empty means no expiry.
	TTL string `json:"ttl"`
}

type tokenResponse struct {
	Token *access.Token `json:"token"`
	// Secret is shown only once.
	Secret string `json:"secret"`
}

type userPatch struct {
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) accessRoutes() []Route {
	admin := []string{citybrain.RoleAdmin}
	return []Route{
		{Method: "POST", Path: "/api/v1/auth/login", Tag: "access", Auth: AuthPublic, Summary: "Sign in with username and password; sets the session cookie and returns the CSRF token",
			Request: loginRequest{}, Response: loginResponse{}, MaxBody: 16 << 10, Handle: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Tag: "access", Summary: "Sign out (ends the session)", Handle: s.logout},
		{Method: "GET", Path: "/api/v1/me", Tag: "access", Summary: "The signed-in user", Response: citybrain.Actor{}, Handle: s.me},
		{Method: "GET", Path: "/api/v1/users", Tag: "access", Roles: admin, Dataset: "users", Summary: "List users (cursor pagination)", Response: Page[*access.User]{}, Handle: s.listUsers},
		{Method: "POST", Path: "/api/v1/users", Tag: "access", Roles: admin, Dataset: "users", Summary: "Create a user", Request: access.NewUser{}, Response: access.User{}, MaxBody: 16 << 10, Handle: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", Tag: "access", Roles: admin, Dataset: "users", Summary: "Get a user", Response: access.User{}, Handle: s.getUser},
		{Method: "PATCH", Path: "/api/v1/users/{id}", Tag: "access", Roles: admin, Dataset: "users", Summary: "Disable, enable or set the password of a user", Request: userPatch{}, Response: access.User{}, Handle: s.patchUser},
		{Method: "POST", Path: "/api/v1/users/{id}/tokens", Tag: "access", Roles: admin, Summary: "Create an API token for a user (secret shown once)", Request: tokenRequest{}, Response: tokenResponse{}, Handle: s.createUserToken},
		{Method: "GET", Path: "/api/v1/tokens", Tag: "access", Summary: "List my API tokens", Response: []access.Token{}, Handle: s.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Tag: "access", Summary: "Create an API token for myself (secret shown once)", Request: tokenRequest{}, Response: tokenResponse{}, Handle: s.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Tag: "access", Summary: "Revoke one of my API tokens", Handle: s.revokeToken},
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Username == "" || in.Password == "" {
		return citybrain.Errorf(citybrain.EINVALID, "username and password are required")
	}
	u, err := s.access.Login(r.Context(), in.Username, in.Password, clientKey(r))
	if err != nil {
		return err
	}
	id, csrf, exp, err := s.access.NewSession(r.Context(), u.ID)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Expires: exp, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies || r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
	return JSON(w, http.StatusOK, loginResponse{User: u, CSRFToken: csrf, ExpiresAt: exp})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.access.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return JSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return JSON(w, http.StatusOK, citybrain.ActorFrom(r.Context()))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	after, err := CursorInt64(cursor)
	if err != nil {
		return err
	}
	us, err := s.access.Users(r.Context(), after, limit+1)
	if err != nil {
		return err
	}
	p := Page[*access.User]{Items: us}
	if len(us) > limit {
		p.Items = us[:limit]
		p.NextCursor = EncodeCursor(strconv.FormatInt(us[limit-1].ID, 10))
	}
	if p.Items == nil {
		p.Items = []*access.User{}
	}
	return s.Reply(w, r, http.StatusOK, p)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in access.NewUser
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.access.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	return s.Reply(w, r, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	u, err := s.access.User(r.Context(), id)
	if err != nil {
		return err
	}
	return s.Reply(w, r, http.StatusOK, u)
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	var in userPatch
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Password != nil {
		if err := s.access.SetPassword(r.Context(), id, *in.Password); err != nil {
			return err
		}
	}
	var u *access.User
	if in.Disabled != nil {
		if u, err = s.access.SetDisabled(r.Context(), id, *in.Disabled); err != nil {
			return err
		}
	} else if u, err = s.access.User(r.Context(), id); err != nil {
		return err
	}
	return s.Reply(w, r, http.StatusOK, u)
}

func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, citybrain.FieldError("ttl", "ttl must be a duration such as \"720h\", got %q", s)
	}
	return d, nil
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, userID int64) error {
	var in tokenRequest
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	ttl, err := parseTTL(in.TTL)
	if err != nil {
		return err
	}
	t, secret, err := s.access.CreateToken(r.Context(), userID, in.Name, ttl)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusCreated, tokenResponse{Token: t, Secret: secret})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	return s.issueToken(w, r, citybrain.ActorFrom(r.Context()).UserID)
}

func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	return s.issueToken(w, r, id)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.access.Tokens(r.Context(), citybrain.ActorFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, ts)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := PathInt64(r, "id")
	if err != nil {
		return err
	}
	if err := s.access.RevokeToken(r.Context(), citybrain.ActorFrom(r.Context()).UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
