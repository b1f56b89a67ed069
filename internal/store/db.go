// Package store is the only place that speaks SQL. It opens SQLite (embedded default, WAL mode)
// or PostgreSQL behind one *DB, applies the embedded versioned migrations, and implements the
// repository interfaces that the domain packages declare. Queries are written once with `?`
// placeholders and rebound for PostgreSQL. A *DB is safe for concurrent use.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"
)

// Dialect names the SQL backend.
type Dialect string

// The two backends.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the platform's database handle.
type DB struct {
	*sql.DB
	Dialect Dialect
	// path is the SQLite file, "" for PostgreSQL.
	path string
}

// Config says which backend to open.
type Config struct {
	// DataDir holds the SQLite file citybrain.db when PostgresURL is empty.
	DataDir string
	// PostgresURL selects PostgreSQL, e.g. postgres://user@127.0.0.1:5432/citybrain?sslmode=disable.
	PostgresURL string
	// MaxOpenConns caps PostgreSQL connections (default 16).
	MaxOpenConns int
}

// Open opens the configured backend. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.PostgresURL != "" {
		return openPostgres(ctx, cfg)
	}
	return OpenSQLite(ctx, cfg.DataDir)
}

// OpenSQLite opens (creating if needed) DIR/citybrain.db in WAL mode.
func OpenSQLite(ctx context.Context, dir string) (*DB, error) {
	if dir == "" {
		return nil, citybrain.FieldError("data", "the data directory is empty: set --data DIR")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, citybrain.FieldError("data", "cannot create the data directory %s: %v (change --data)", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, []byte("ok"), 0o600); err != nil {
		return nil, citybrain.FieldError("data", "the data directory %s is not writable: %v (change --data)", dir, err)
	}
	_ = os.Remove(probe)
	path := filepath.Join(dir, "citybrain.db")
	// _txlock=immediate makes write transactions take the lock at BEGIN, avoiding upgrade deadlocks.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)&_pragma=mmap_size(268435456)&_txlock=immediate"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// SQLite allows one writer; several readers work in WAL mode. Writers serialise on the lock.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(0)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, citybrain.FieldError("data", "cannot open %s: %v (change --data)", path, err)
	}
	return &DB{DB: sdb, Dialect: SQLite, path: path}, nil
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	sdb, err := sql.Open("pgx", cfg.PostgresURL)
	if err != nil {
		return nil, citybrain.FieldError("postgres", "bad PostgreSQL URL: %v", err)
	}
	n := cfg.MaxOpenConns
	if n <= 0 {
		n = 16
	}
	sdb.SetMaxOpenConns(n)
	sdb.SetMaxIdleConns(n)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		sdb.Close()
		return nil, citybrain.Errorf(citybrain.EUNAVAILABLE, "cannot reach PostgreSQL: %v (check --postgres / CITYBRAIN_POSTGRES_URL)", err)
	}
	return &DB{DB: sdb, Dialect: Postgres}, nil
}

// Path returns the SQLite file path, or "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

// Rebind turns `?` placeholders into `$1, $2...` for PostgreSQL. Question marks inside
// single-quoted literals are left alone.
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	return rebind(q)
}

func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Exec runs a statement written with `?` placeholders.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.Rebind(q), args...)
}

// Query runs a query written with `?` placeholders.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRow runs a single-row query written with `?` placeholders.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.Rebind(q), args...)
}

// Tx is a transaction with the same `?` helpers as DB.
type Tx struct {
	*sql.Tx
	db *DB
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.Rebind(q), args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.Rebind(q), args...)
}

// QueryRow runs a single-row query in the transaction.
func (tx *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.Rebind(q), args...)
}

// Dialect returns the transaction's backend.
func (tx *Tx) Dialect() Dialect { return tx.db.Dialect }

// InTx runs fn in a transaction, committing when fn returns nil and rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, db: db}
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Ping checks the database is reachable (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.DB.PingContext(ctx) }

// IsUniqueViolation reports whether err is a unique-constraint violation on either backend.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key value")
}

// notFound converts sql.ErrNoRows into a citybrain ENOTFOUND error naming what was looked up.
func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return citybrain.Errorf(citybrain.ENOTFOUND, "%s %v not found", what, id)
	}
	return err
}

// Placeholders returns "(?,?,...),(?,?,...)" for rows×cols multi-row VALUES.
func Placeholders(rows, cols int) string {
	var b strings.Builder
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// Bool converts a Go bool into the 0/1 integer both backends store.
func Bool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Millis converts a time into epoch milliseconds, the timestamp representation in every table.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Time converts epoch milliseconds back into a time (zero for 0).
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
