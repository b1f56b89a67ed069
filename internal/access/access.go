// Package access owns identity: users and their roles, password hashing (argon2id), API tokens
// and web sessions (both stored only as hashes), the bootstrap administrator, and login
// throttling. It decides who is acting; what they may do is checked once per operation by the
// HTTP layer from each route's allowed roles, and finer checks live in the domain packages.
// A *Service is safe for concurrent use.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// User is a person who signs in.
type User struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name"`
	PasswordHash string    `json:"-"`
	Role         string    `json:"role"`
	Department   string    `json:"department,omitempty"`
	Area         string    `json:"area,omitempty"`
	Clearance    int       `json:"clearance"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Actor returns the citybrain.Actor for the user.
func (u *User) Actor() *citybrain.Actor {
	return &citybrain.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, Department: u.Department, Area: u.Area, Clearance: u.Clearance}
}

// Token is an API token's stored form; the secret itself is shown once at creation.
type Token struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Hash      string    `json:"-"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

// Session is a web UI session's stored form.
type Session struct {
	Hash      string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Repository is the storage the access service needs. Get* methods return an ENOTFOUND
// citybrain error for unknown ids; CreateUser returns ECONFLICT for a taken username.
type Repository interface {
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context, after int64, limit int) ([]*User, error)
	CountUsers(ctx context.Context) (int, error)

	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	ListTokens(ctx context.Context, userID int64) ([]*Token, error)
	RevokeToken(ctx context.Context, userID, tokenID int64, at time.Time) error
	TouchToken(ctx context.Context, id int64, at time.Time) error

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	DeleteSession(ctx context.Context, hash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}

// TokenPrefix starts every API token so leaked tokens are recognisable by scanners.
const TokenPrefix = "cbt_"

// NewSecret returns a random URL-safe secret of n random bytes.
func NewSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the OS entropy source failing is unrecoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret hashes a high-entropy machine secret (token, session id). SHA-256 suffices because
// the secret has 256 bits of entropy; passwords use argon2id instead.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// EqualHash compares two hex hashes in constant time.
func EqualHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ValidateUsername checks a username: 2–64 characters, letters, digits, '.', '_', '-' or Han.
func ValidateUsername(s string) error {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 64 {
		return citybrain.FieldError("username", "用户名长度须为 2–64 个字符 / username must be 2–64 characters")
	}
	for _, r := range s {
		ok := r == '.' || r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= 0x4e00 && r <= 0x9fff)
		if !ok {
			return citybrain.FieldError("username", "用户名含有不允许的字符 %q / username contains a character that is not allowed", r)
		}
	}
	return nil
}

// ValidatePassword checks a password's length (8–256 characters).
func ValidatePassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < 8 {
		return citybrain.FieldError("password", "密码至少 8 个字符 / password must have at least 8 characters")
	}
	if n > 256 {
		return citybrain.FieldError("password", "密码过长 / password is longer than 256 characters")
	}
	return nil
}

// normUsername folds case so "Admin" and "admin" are one account.
func normUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
