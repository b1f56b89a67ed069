package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/citybrain/citybrain/internal/cluster"
)

// Leader election (internal/cluster) over PostgreSQL: a session-level advisory lock on one
// dedicated connection. The lock's key hashes the schema with the lock's name, so deployments
// (and test runs) in different schemas of one database elect independently. PostgreSQL frees
// the lock when the session ends: a node that crashes or is killed loses it at once (its
// socket closes), and a node whose connection broke finds out on its next Check.

var _ cluster.Locker = (*DB)(nil)

// TryLock implements cluster.Locker. On SQLite there is one node: it always gets the lock.
func (db *DB) TryLock(ctx context.Context, name string) (cluster.Lease, bool, error) {
	if db.Dialect != Postgres {
		return sqliteLease{}, true, nil
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("leader lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/' || $1, 0))`, name).Scan(&ok); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // a broken session must not go back to the pool
		conn.Close()
		return nil, false, fmt.Errorf("leader lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return &pgLease{conn: conn, name: name}, true, nil
}

type sqliteLease struct{}

func (sqliteLease) Check(context.Context) error   { return nil }
func (sqliteLease) Release(context.Context) error { return nil }

// pgLease holds the connection whose session owns the advisory lock.
type pgLease struct {
	conn *sql.Conn
	name string
}

// Check implements cluster.Lease: the session is alive, so it still holds the lock.
func (l *pgLease) Check(ctx context.Context) error {
	var one int
	if err := l.conn.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("leader lock session: %w", err)
	}
	return nil
}

// Release implements cluster.Lease. When the unlock fails the connection is discarded, which
// ends the session and so frees the lock too.
func (l *pgLease) Release(ctx context.Context) error {
	_, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended(current_schema() || '/' || $1, 0))`, l.name)
	if err != nil {
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	l.conn.Close()
	if err != nil {
		return fmt.Errorf("leader unlock: %w", err)
	}
	return nil
}
