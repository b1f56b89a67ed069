package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/audit"
)

var _ audit.Store = (*DB)(nil)

// auditBatchRows keeps one multi-row INSERT under 30,000 bound values (8 per row).
const auditBatchRows = 1000

// AppendAudit implements audit.Store: the records and their hashes in one transaction.
func (db *DB) AppendAudit(ctx context.Context, recs []audit.Record) error {
	if len(recs) == 0 {
		return nil
	}
	return db.InTx(ctx, func(tx *Tx) error {
		var next int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq)+1, 0) FROM audit_records`).Scan(&next); err != nil {
			return fmt.Errorf("audit append: %w", err)
		}
		if recs[0].Seq != next {
			return citybrain.Errorf(citybrain.ECONFLICT, "audit append: seq %d, want %d", recs[0].Seq, next)
		}
		for start := 0; start < len(recs); start += auditBatchRows {
			part := recs[start:min(start+auditBatchRows, len(recs))]
			args := make([]any, 0, len(part)*8)
			for i, r := range part {
				if r.Seq != recs[0].Seq+int64(start+i) {
					return citybrain.Errorf(citybrain.ECONFLICT, "audit append: seq %d out of order", r.Seq)
				}
				hs := make([]byte, 0, len(r.Hashes)*tlog.HashSize)
				for _, h := range r.Hashes {
					hs = append(hs, h[:]...)
				}
				e := &r.Entry
				args = append(args, r.Seq, Millis(e.Time), e.Actor.UserID, e.Actor.Username, e.Action, e.Object.Dataset, string(r.Data), hs)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO audit_records (seq, at, actor_id, username, action, dataset, data, hashes) VALUES `+
				Placeholders(len(part), 8), args...); err != nil {
				if IsUniqueViolation(err) {
					return citybrain.Errorf(citybrain.ECONFLICT, "audit append: seq already taken: %v", err)
				}
				return fmt.Errorf("audit append: %w", err)
			}
		}
		return nil
	})
}

// AuditSize implements audit.Store.
func (db *DB) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(seq)+1, 0) FROM audit_records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit size: %w", err)
	}
	return n, nil
}

func splitHashes(b []byte) []tlog.Hash {
	hs := make([]tlog.Hash, len(b)/tlog.HashSize)
	for i := range hs {
		copy(hs[i][:], b[i*tlog.HashSize:])
	}
	return hs
}

// ReadAuditRecords implements audit.Store.
func (db *DB) ReadAuditRecords(ctx context.Context, from int64, limit int) ([]audit.Record, error) {
	rows, err := db.Query(ctx, `SELECT seq, data, hashes, at, actor_id, username, action, dataset FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("audit read: %w", err)
	}
	defer rows.Close()
	out := make([]audit.Record, 0, limit)
	for rows.Next() {
		var r audit.Record
		var data string
		var hs []byte
		var at int64
		// The search columns come back too (Indexed), so that Verify catches one edited alone.
		if err := rows.Scan(&r.Seq, &data, &hs, &at, &r.Entry.Actor.UserID, &r.Entry.Actor.Username, &r.Entry.Action, &r.Entry.Object.Dataset); err != nil {
			return nil, fmt.Errorf("audit read: %w", err)
		}
		r.Data, r.Hashes = []byte(data), splitHashes(hs)
		r.Entry.Time, r.Indexed = Time(at), true
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit read: %w", err)
	}
	return out, nil
}

// ReadAuditHashes implements audit.Store: each stored hash lives with the record that
// completed it (audit.HashLocation).
func (db *DB) ReadAuditHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	type loc struct {
		seq int64
		k   int
	}
	locs := make([]loc, len(indexes))
	seen := map[int64]bool{}
	args := make([]any, 0, len(indexes))
	for i, idx := range indexes {
		seq, k := audit.HashLocation(idx)
		locs[i] = loc{seq, k}
		if !seen[seq] {
			seen[seq] = true
			args = append(args, seq)
		}
	}
	rows, err := db.Query(ctx, `SELECT seq, hashes FROM audit_records WHERE seq IN (`+strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit hashes: %w", err)
	}
	defer rows.Close()
	bySeq := make(map[int64][]byte, len(args))
	for rows.Next() {
		var seq int64
		var hs []byte
		if err := rows.Scan(&seq, &hs); err != nil {
			return nil, fmt.Errorf("audit hashes: %w", err)
		}
		bySeq[seq] = hs
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, l := range locs {
		hs := bySeq[l.seq]
		if (l.k+1)*tlog.HashSize > len(hs) {
			return nil, citybrain.Errorf(citybrain.ENOTFOUND, "audit: stored hash %d (entry %d) missing", indexes[i], l.seq)
		}
		copy(out[i][:], hs[l.k*tlog.HashSize:])
	}
	return out, nil
}

// AddAuditCheckpoint implements audit.Store.
func (db *DB) AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	if _, err := db.Exec(ctx, `INSERT INTO audit_checkpoints (size, root, at, note) VALUES (?, ?, ?, ?)`,
		c.Size, c.Root.String(), Millis(c.Time), string(c.Note)); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

const auditCheckpointCols = `size, root, at, note`

func scanAuditCheckpoint(sc interface{ Scan(...any) error }) (audit.Checkpoint, error) {
	var c audit.Checkpoint
	var root, note string
	var at int64
	if err := sc.Scan(&c.Size, &root, &at, &note); err != nil {
		return c, err
	}
	c.Root, _ = tlog.ParseHash(root) // an unauthenticated copy; Verify reads the note
	c.Time, c.Note = Time(at), []byte(note)
	return c, nil
}

// AuditCheckpoints implements audit.Store.
func (db *DB) AuditCheckpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := db.Query(ctx, `SELECT `+auditCheckpointCols+` FROM audit_checkpoints ORDER BY size, id`)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		c, err := scanAuditCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("audit checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return out, nil
}

// LatestAuditCheckpoint implements audit.Store.
func (db *DB) LatestAuditCheckpoint(ctx context.Context) (audit.Checkpoint, error) {
	c, err := scanAuditCheckpoint(db.QueryRow(ctx, `SELECT `+auditCheckpointCols+` FROM audit_checkpoints ORDER BY size DESC, id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return c, citybrain.Errorf(citybrain.ENOTFOUND, "audit: no checkpoint yet")
	}
	if err != nil {
		return c, fmt.Errorf("audit latest checkpoint: %w", err)
	}
	return c, nil
}

// SearchAudit implements audit.Store.
func (db *DB) SearchAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.ActorID != 0 {
		add("actor_id = ?", q.ActorID)
	}
	if q.Username != "" {
		add("username = ?", q.Username)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Dataset != "" {
		add("dataset = ?", q.Dataset)
	}
	if !q.From.IsZero() {
		add("at >= ?", Millis(q.From))
	}
	if !q.To.IsZero() {
		// Millisecond columns: keep the whole last millisecond; the Log re-checks exactly.
		add("at <= ?", Millis(q.To))
	}
	if q.Before > 0 {
		add("seq < ?", q.Before)
	}
	s := `SELECT seq, data, hashes FROM audit_records`
	if len(where) > 0 {
		s += ` WHERE ` + strings.Join(where, " AND ")
	}
	s += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := db.Query(ctx, s, args...)
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var data string
		var hs []byte
		if err := rows.Scan(&r.Seq, &data, &hs); err != nil {
			return nil, fmt.Errorf("audit search: %w", err)
		}
		r.Data, r.Hashes = []byte(data), splitHashes(hs)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	return out, nil
}
