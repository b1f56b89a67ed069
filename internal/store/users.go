package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
)

var _ access.Repository = (*DB)(nil)

const userCols = `id, username, display_name, password_hash, role, department, area, clearance, disabled, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (*access.User, error) {
	var u access.User
	var disabled int
	var created, updated int64
	if err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &u.Role, &u.Department, &u.Area, &u.Clearance, &disabled, &created, &updated); err != nil {
		return nil, err
	}
	u.Disabled = disabled != 0
	u.CreatedAt, u.UpdatedAt = Time(created), Time(updated)
	return &u, nil
}

// CreateUser inserts a user and sets its ID; a taken username is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *access.User) error {
	err := db.QueryRow(ctx, `INSERT INTO users (username, display_name, password_hash, role, department, area, clearance, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.DisplayName, u.PasswordHash, u.Role, u.Department, u.Area, u.Clearance, Bool(u.Disabled), Millis(u.CreatedAt), Millis(u.UpdatedAt)).Scan(&u.ID)
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "用户名 %s 已存在 / username %s is taken", u.Username, u.Username)
	}
	return err
}

// UpdateUser saves a user's mutable fields.
func (db *DB) UpdateUser(ctx context.Context, u *access.User) error {
	res, err := db.Exec(ctx, `UPDATE users SET display_name=?, password_hash=?, role=?, department=?, area=?, clearance=?, disabled=?, updated_at=? WHERE id=?`,
		u.DisplayName, u.PasswordHash, u.Role, u.Department, u.Area, u.Clearance, Bool(u.Disabled), Millis(u.UpdatedAt), u.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "user %d not found", u.ID)
	}
	return nil
}

// UserByID returns one user.
func (db *DB) UserByID(ctx context.Context, id int64) (*access.User, error) {
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id=?`, id))
	return u, notFound(err, "user", id)
}

// UserByUsername returns one user by username.
func (db *DB) UserByUsername(ctx context.Context, username string) (*access.User, error) {
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username=?`, username))
	return u, notFound(err, "user", username)
}

// ListUsers lists users with id > after, in id order.
func (db *DB) ListUsers(ctx context.Context, after int64, limit int) ([]*access.User, error) {
	rows, err := db.Query(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*access.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers counts all users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CreateToken stores an API token's hash.
func (db *DB) CreateToken(ctx context.Context, t *access.Token) error {
	return db.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, t.Hash, t.Prefix, Millis(t.CreatedAt), Millis(t.ExpiresAt)).Scan(&t.ID)
}

const tokenCols = `id, user_id, name, hash, prefix, created_at, expires_at, revoked_at, last_used`

func scanToken(sc interface{ Scan(...any) error }) (*access.Token, error) {
	var t access.Token
	var c, e, r, l int64
	if err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, &c, &e, &r, &l); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsed = Time(c), Time(e), Time(r), Time(l)
	return &t, nil
}

// TokenByHash finds a token by the hash of its secret.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*access.Token, error) {
	t, err := scanToken(db.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash=?`, hash))
	return t, notFound(err, "token", "")
}

// ListTokens lists a user's tokens, newest first.
func (db *DB) ListTokens(ctx context.Context, userID int64) ([]*access.Token, error) {
	rows, err := db.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id=? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*access.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a user's token revoked.
func (db *DB) RevokeToken(ctx context.Context, userID, tokenID int64, at time.Time) error {
	res, err := db.Exec(ctx, `UPDATE api_tokens SET revoked_at=? WHERE id=? AND user_id=? AND revoked_at=0`, Millis(at), tokenID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "token %d not found or already revoked", tokenID)
	}
	return nil
}

// TouchToken records a token's last use.
func (db *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE api_tokens SET last_used=? WHERE id=?`, Millis(at), id)
	return err
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s *access.Session) error {
	_, err := db.Exec(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		s.Hash, s.UserID, s.CSRF, Millis(s.CreatedAt), Millis(s.ExpiresAt))
	return err
}

// SessionByHash finds a session.
func (db *DB) SessionByHash(ctx context.Context, hash string) (*access.Session, error) {
	var s access.Session
	var c, e int64
	err := db.QueryRow(ctx, `SELECT hash, user_id, csrf, created_at, expires_at FROM sessions WHERE hash=?`, hash).Scan(&s.Hash, &s.UserID, &s.CSRF, &c, &e)
	if err != nil {
		return nil, notFound(err, "session", "")
	}
	s.CreatedAt, s.ExpiresAt = Time(c), Time(e)
	return &s, nil
}

// DeleteSession deletes a session.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := db.Exec(ctx, `DELETE FROM sessions WHERE hash=?`, hash)
	return err
}

// DeleteExpiredSessions removes sessions past their expiry.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, Millis(now))
	return err
}

// Department is a 委办局 with a code.
type Department struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Duty   string `json:"duty"`
}

// UpsertDepartments inserts or updates departments.
func (db *DB) UpsertDepartments(ctx context.Context, ds []Department) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, d := range ds {
			if _, err := tx.Exec(ctx, `INSERT INTO departments (code, name_zh, name_en, duty) VALUES (?, ?, ?, ?)
				ON CONFLICT (code) DO UPDATE SET name_zh=excluded.name_zh, name_en=excluded.name_en, duty=excluded.duty`,
				d.Code, d.NameZH, d.NameEN, d.Duty); err != nil {
				return err
			}
		}
		return nil
	})
}

// Departments lists all departments by code.
func (db *DB) Departments(ctx context.Context) ([]Department, error) {
	rows, err := db.Query(ctx, `SELECT code, name_zh, name_en, duty FROM departments ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Department{}
	for rows.Next() {
		var d Department
		if err := rows.Scan(&d.Code, &d.NameZH, &d.NameEN, &d.Duty); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Setting reads a key from the settings table ("" and no error when absent).
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.QueryRow(ctx, `SELECT value FROM settings WHERE key=?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// SetSetting writes a key in the settings table.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value`, key, value)
	return err
}

func nowMillis() int64 { return time.Now().UnixMilli() }
