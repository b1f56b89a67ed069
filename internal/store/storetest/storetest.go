// Package storetest opens fresh, migrated databases for tests: always SQLite in a temporary
// directory, and PostgreSQL too when CITYBRAIN_TEST_POSTGRES holds a connection URL. Each
// PostgreSQL database is a new schema dropped when the test ends, so runs never see each
// other's data. It is used only by tests.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/citybrain/citybrain/internal/store"
)

// EnvPostgres names the variable that enables the PostgreSQL backend in tests.
const EnvPostgres = "CITYBRAIN_TEST_POSTGRES"

// Each runs fn once per available backend, as subtests named "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// SQLite returns a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// Postgres returns a migrated PostgreSQL database in a fresh schema; it skips the test when
// CITYBRAIN_TEST_POSTGRES is not set.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip("CITYBRAIN_TEST_POSTGRES not set")
	}
	schema := FreshSchema(t, base)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := store.Open(context.Background(), store.Config{PostgresURL: u.String(), MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// FreshSchema creates a uniquely named schema in the database at base and drops it when the
// test ends. It returns the schema name.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "cbtest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema (is PostgreSQL running? %s=%s): %v", EnvPostgres, base, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return schema
}

// URLWithSchema returns base with search_path set to schema (for starting a server process).
func URLWithSchema(t testing.TB, base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
