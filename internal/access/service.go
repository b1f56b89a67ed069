package access

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
)

// Config tunes the service.
type Config struct {
	// BootstrapToken, when set, is accepted as the first administrator's API token.
	BootstrapToken string
	// SessionTTL is how long a web session lives (default 12 h).
	SessionTTL time.Duration
	// MaxFailures is how many failed logins per username or client are allowed within
	// FailureWindow before further attempts are refused (defaults 5 and 15 min).
	MaxFailures   int
	FailureWindow time.Duration
}

// Service manages users, tokens and sessions.
type Service struct {
	repo     Repository
	clock    citybrain.Clock
	cfg      Config
	throttle *throttle
	// bootstrap admin id, resolved on Bootstrap.
	mu          sync.RWMutex
	bootstrapID int64
}

// NewService returns a service over the repository.
func NewService(repo Repository, clock citybrain.Clock, cfg Config) *Service {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	return &Service{repo: repo, clock: clock, cfg: cfg, throttle: newThrottle(cfg.MaxFailures, cfg.FailureWindow, 100000)}
}

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	Created  bool
	Username string
	// Password is set when it was generated (to be printed once).
	Password string
}

// Bootstrap creates the administrator "admin" on an empty store. password may be empty,
// in which case one is generated and returned once.
func (s *Service) Bootstrap(ctx context.Context, password string) (BootstrapResult, error) {
	n, err := s.repo.CountUsers(ctx)
	if err != nil {
		return BootstrapResult{}, err
	}
	res := BootstrapResult{Username: "admin"}
	if n == 0 {
		generated := ""
		if password == "" {
			generated = NewSecret(12)
			password = generated
		}
		if err := ValidatePassword(password); err != nil {
			return res, err
		}
		now := s.clock.Now()
		u := &User{Username: "admin", DisplayName: "系统管理员 Administrator", PasswordHash: HashPassword(password), Role: citybrain.RoleAdmin, Department: "", Clearance: 5, CreatedAt: now, UpdatedAt: now}
		if err := s.repo.CreateUser(ctx, u); err != nil && citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			return res, err
		}
		res.Created = true
		res.Password = generated
	}
	if s.cfg.BootstrapToken != "" {
		u, err := s.repo.UserByUsername(ctx, "admin")
		if err != nil {
			return res, err
		}
		s.mu.Lock()
		s.bootstrapID = u.ID
		s.mu.Unlock()
	}
	return res, nil
}

// NewUser is the input to CreateUser.
type NewUser struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
	Role        string `json:"role"`
	Department  string `json:"department"`
	Area        string `json:"area"`
	Clearance   int    `json:"clearance"`
}

// DefaultClearance is the data clearance a new user gets when none is given: what the role's
// work needs, the same table governance.DefaultClearance applies to readers without one —
// admin 4, operator and dept 3, worker and auditor 2, citizen 1. (A default of 1 for everyone
// left department staff unable to read the grade-2 fields of their own work orders.)
func DefaultClearance(role string) int {
	switch role {
	case citybrain.RoleAdmin:
		return 4
	case citybrain.RoleOperator, citybrain.RoleDept:
		return 3
	case citybrain.RoleWorker, citybrain.RoleAuditor:
		return 2
	}
	return 1
}

// CreateUser validates and stores a new user. A zero Clearance takes the role's default.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	in.Username = normUsername(in.Username)
	if err := ValidateUsername(in.Username); err != nil {
		return nil, err
	}
	if err := ValidatePassword(in.Password); err != nil {
		return nil, err
	}
	if !citybrain.ValidRole(in.Role) {
		return nil, citybrain.FieldError("role", "unknown role %q: use one of admin, operator, dept, worker, auditor, citizen", in.Role)
	}
	if in.Clearance == 0 {
		in.Clearance = DefaultClearance(in.Role)
	}
	if in.Clearance < 1 || in.Clearance > 5 {
		return nil, citybrain.FieldError("clearance", "clearance must be 1–5")
	}
	if (in.Role == citybrain.RoleDept) && in.Department == "" {
		return nil, citybrain.FieldError("department", "department staff must belong to a department")
	}
	if in.Role == citybrain.RoleWorker && in.Area == "" {
		return nil, citybrain.FieldError("area", "street and community workers must belong to an area")
	}
	now := s.clock.Now()
	u := &User{Username: in.Username, DisplayName: in.DisplayName, PasswordHash: HashPassword(in.Password), Role: in.Role,
		Department: in.Department, Area: in.Area, Clearance: in.Clearance, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Users lists users after the given id (cursor pagination).
func (s *Service) Users(ctx context.Context, after int64, limit int) ([]*User, error) {
	return s.repo.ListUsers(ctx, after, limit)
}

// User returns one user.
func (s *Service) User(ctx context.Context, id int64) (*User, error) { return s.repo.UserByID(ctx, id) }

// SetDisabled enables or disables a user.
func (s *Service) SetDisabled(ctx context.Context, id int64, disabled bool) (*User, error) {
	u, err := s.repo.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	u.Disabled = disabled
	u.UpdatedAt = s.clock.Now()
	return u, s.repo.UpdateUser(ctx, u)
}

// SetPassword changes a user's password.
func (s *Service) SetPassword(ctx context.Context, id int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	u, err := s.repo.UserByID(ctx, id)
	if err != nil {
		return err
	}
	u.PasswordHash = HashPassword(password)
	u.UpdatedAt = s.clock.Now()
	return s.repo.UpdateUser(ctx, u)
}

var errBadLogin = citybrain.Errorf(citybrain.EUNAUTHORIZED, "用户名或密码错误 / wrong username or password")

// Login checks a username and password, throttled per username and per client key (an IP).
func (s *Service) Login(ctx context.Context, username, password, client string) (*User, error) {
	username = normUsername(username)
	now := s.clock.Now()
	if !s.throttle.allow(now, "u:"+username) || !s.throttle.allow(now, "c:"+client) {
		return nil, citybrain.Errorf(citybrain.ETOOMANY, "登录失败次数过多，请稍后再试 / too many failed logins, try again later")
	}
	u, err := s.repo.UserByUsername(ctx, username)
	if err != nil {
		if citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			return nil, err
		}
		// Spend the same time as a real check so timing does not reveal which usernames exist.
		CheckPassword(dummyHash, password)
		s.throttle.fail(now, "u:"+username)
		s.throttle.fail(now, "c:"+client)
		return nil, errBadLogin
	}
	if !CheckPassword(u.PasswordHash, password) || u.Disabled {
		s.throttle.fail(now, "u:"+username)
		s.throttle.fail(now, "c:"+client)
		return nil, errBadLogin
	}
	s.throttle.reset("u:" + username)
	return u, nil
}

// dummyHash is a valid argon2id hash of a random password used to equalise login timing.
const dummyHash = "$argon2id$v=19$m=65536,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$0Cq3t1l0m5E0f3HqkR0q9cP3VkJm7b3mYw1aQ4s3n1U"

// CreateToken creates an API token for the user and returns the secret once.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, ttl time.Duration) (*Token, string, error) {
	if name == "" {
		name = "token"
	}
	if ttl < 0 {
		return nil, "", citybrain.FieldError("ttl", "ttl must not be negative")
	}
	if _, err := s.repo.UserByID(ctx, userID); err != nil {
		return nil, "", err
	}
	secret := TokenPrefix + NewSecret(32)
	now := s.clock.Now()
	t := &Token{UserID: userID, Name: name, Hash: HashSecret(secret), Prefix: secret[:len(TokenPrefix)+6], CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.repo.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens lists a user's tokens.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]*Token, error) {
	return s.repo.ListTokens(ctx, userID)
}

// RevokeToken revokes one of the user's tokens.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	return s.repo.RevokeToken(ctx, userID, tokenID, s.clock.Now())
}

var errBadToken = citybrain.Errorf(citybrain.EUNAUTHORIZED, "API 令牌无效、已过期或已吊销 / invalid, expired or revoked API token")

// AuthenticateToken resolves an API token (or the bootstrap token) to its enabled user.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*User, error) {
	if secret == "" {
		return nil, errBadToken
	}
	if bt := s.cfg.BootstrapToken; bt != "" && EqualHash(HashSecret(secret), HashSecret(bt)) {
		s.mu.RLock()
		id := s.bootstrapID
		s.mu.RUnlock()
		if id != 0 {
			u, err := s.repo.UserByID(ctx, id)
			if err == nil && !u.Disabled {
				return u, nil
			}
		}
	}
	t, err := s.repo.TokenByHash(ctx, HashSecret(secret))
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return nil, errBadToken
		}
		return nil, err
	}
	now := s.clock.Now()
	if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && now.After(t.ExpiresAt)) {
		return nil, errBadToken
	}
	u, err := s.repo.UserByID(ctx, t.UserID)
	if err != nil || u.Disabled {
		return nil, errBadToken
	}
	if now.Sub(t.LastUsed) > time.Minute {
		_ = s.repo.TouchToken(ctx, t.ID, now) // best effort: last-used is informational
	}
	return u, nil
}

// NewSession creates a web session for the user and returns its secret id and CSRF token.
func (s *Service) NewSession(ctx context.Context, userID int64) (id, csrf string, expires time.Time, err error) {
	id = NewSecret(32)
	csrf = NewSecret(24)
	now := s.clock.Now()
	expires = now.Add(s.cfg.SessionTTL)
	err = s.repo.CreateSession(ctx, &Session{Hash: HashSecret(id), UserID: userID, CSRF: csrf, CreatedAt: now, ExpiresAt: expires})
	return id, csrf, expires, err
}

// Session resolves a session id to its user and CSRF token.
func (s *Service) Session(ctx context.Context, id string) (*User, string, error) {
	if id == "" {
		return nil, "", errBadSession
	}
	ss, err := s.repo.SessionByHash(ctx, HashSecret(id))
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return nil, "", errBadSession
		}
		return nil, "", err
	}
	if s.clock.Now().After(ss.ExpiresAt) {
		_ = s.repo.DeleteSession(ctx, ss.Hash)
		return nil, "", errBadSession
	}
	u, err := s.repo.UserByID(ctx, ss.UserID)
	if err != nil || u.Disabled {
		return nil, "", errBadSession
	}
	return u, ss.CSRF, nil
}

var errBadSession = citybrain.Errorf(citybrain.EUNAUTHORIZED, "会话已失效，请重新登录 / session expired, sign in again")

// EndSession deletes a session.
func (s *Service) EndSession(ctx context.Context, id string) error {
	return s.repo.DeleteSession(ctx, HashSecret(id))
}

// Sweep deletes expired sessions; call it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	return s.repo.DeleteExpiredSessions(ctx, s.clock.Now())
}

// IsUnauthorized reports whether err means the credentials were wrong.
func IsUnauthorized(err error) bool {
	var e *citybrain.Error
	return errors.As(err, &e) && e.Code == citybrain.EUNAUTHORIZED
}
