package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one forward-only schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// migrations lists the embedded migrations for the dialect, sorted by version.
// Files are NNNN_name.sql (both backends) or NNNN_name.sqlite.sql / NNNN_name.postgres.sql.
// Macros: {{ID}} an auto-increment primary key, {{BLOB}} a byte column.
func migrations(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	seen := map[int]string{}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(name, ".sql")
		switch {
		case strings.HasSuffix(base, ".sqlite"):
			if d != SQLite {
				continue
			}
			base = strings.TrimSuffix(base, ".sqlite")
		case strings.HasSuffix(base, ".postgres"):
			if d != Postgres {
				continue
			}
			base = strings.TrimSuffix(base, ".postgres")
		}
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: expandMacros(d, string(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func expandMacros(d Dialect, s string) string {
	if d == Postgres {
		return strings.NewReplacer("{{ID}}", "BIGSERIAL PRIMARY KEY", "{{BLOB}}", "BYTEA").Replace(s)
	}
	return strings.NewReplacer("{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{BLOB}}", "BLOB").Replace(s)
}

// Migrate applies every embedded migration that is not yet applied, each in its own
// transaction, and returns the versions it applied. On PostgreSQL an advisory lock keeps
// several nodes starting at once from racing.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	ms, err := migrations(db.Dialect)
	if err != nil {
		return nil, err
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7426372)"); err != nil {
			return nil, fmt.Errorf("migrate lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7426372)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		applied[v] = true
	}
	rows.Close()
	var done []int
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return done, err
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.Version, m.Name, nowMillis()); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migration %04d record: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("migration %04d commit: %w", m.Version, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// SchemaVersion returns the highest applied migration version.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
