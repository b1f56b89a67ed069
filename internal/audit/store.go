package audit

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// Record is one stored entry: its canonical bytes, the tlog stored hashes it completed, and the
// decoded entry for stores that index columns for search.
type Record struct {
	Seq int64
	// Data is the canonical encoding of the entry (Entry.AppendCanonical); its leaf hash is
	// tlog.RecordHash(Data).
	Data []byte
	// Hashes are the tlog stored hashes written with this record, in stored-index order:
	// tlog.StoredHashes(Seq, Data, ...). Hashes[0] is the leaf hash.
	Hashes []tlog.Hash
	// Entry is the decoded entry. It is set on Append so a store can fill search columns; stores
	// need not return it from reads (the Log decodes Data, the only authenticated form).
	Entry Entry
	// Indexed, on a record read back, says Entry holds the store's search columns (Time to the
	// millisecond, Actor.UserID, Actor.Username, Action, Object.Dataset) as stored. Verify then
	// checks them against Data: a search column edited on its own would hide an entry from the
	// auditor's searches while Data still verifies.
	Indexed bool
}

// Checkpoint is a signed statement of the log's size and root hash.
type Checkpoint struct {
	Size int64
	Root tlog.Hash
	Time time.Time
	// Note is the signed note (golang.org/x/mod/sumdb/note) whose text is tlog.FormatTree plus a
	// time line. Only Note is authenticated: Size, Root and Time are copies for queries.
	Note []byte
}

// Query selects entries for the auditor's search. Zero fields do not filter.
type Query struct {
	ActorID  int64
	Username string
	Action   string
	Dataset  string
	From, To time.Time // From inclusive, To exclusive
	// Before is the pagination cursor: only entries with Seq < Before; 0 means from the newest.
	Before int64
	// Limit is the page size; the Log clamps it to 1..1000 (default 100).
	Limit int
}

// Store keeps the log's records, stored hashes and checkpoints. Implementations: MemStore here,
// the SQL store (SQLite and PostgreSQL) in internal/store.
//
// Contract: AppendAudit is atomic (all records of the batch or none); sequence numbers are
// consecutive and recs[0].Seq must equal the current size, else it fails with ECONFLICT and
// stores nothing (several processes may race to append; the loser renumbers and retries). Reads may run
// concurrently with Append and see a batch entirely or not at all. The store owns nothing it is
// given after the call returns (it must copy what it keeps); slices it returns belong to the
// caller. Errors are wrapped storage errors except where a method says otherwise. A store has no
// way to delete or update a record: tampering happens only outside this contract, which is what
// Verify detects.
type Store interface {
	// AppendAudit stores recs (with their hashes) atomically.
	AppendAudit(ctx context.Context, recs []Record) error
	// AuditSize returns the number of records: one more than the highest Seq, 0 when empty.
	AuditSize(ctx context.Context) (int64, error)
	// ReadAuditRecords returns up to limit records with Seq >= from in ascending Seq order, with
	// Data and Hashes (Entry may be left zero).
	ReadAuditRecords(ctx context.Context, from int64, limit int) ([]Record, error)
	// ReadAuditHashes returns the stored hashes with the given stored-hash indexes (see
	// HashLocation), exactly one per index, or an error (ENOTFOUND when one is missing).
	ReadAuditHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// AddAuditCheckpoint stores a signed checkpoint.
	AddAuditCheckpoint(ctx context.Context, c Checkpoint) error
	// AuditCheckpoints returns all checkpoints in ascending Size order (ties: insertion order).
	AuditCheckpoints(ctx context.Context) ([]Checkpoint, error)
	// LatestAuditCheckpoint returns the checkpoint with the largest Size; ENOTFOUND when none.
	LatestAuditCheckpoint(ctx context.Context) (Checkpoint, error)
	// SearchAudit returns up to q.Limit records matching q, newest (highest Seq) first, with Data.
	SearchAudit(ctx context.Context, q Query) ([]Record, error)
}

// HashLocation tells which record wrote the stored hash with the given index and at which
// position of its Hashes: the node at (level, n) is completed by record ((n+1)<<level)-1 and is
// its level-th hash. Stores that keep hashes with their record use it to serve ReadAuditHashes.
func HashLocation(index int64) (seq int64, k int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return (n+1)<<uint(level) - 1, level
}

// MemStore is an in-memory Store for tests and benchmarks. It is safe for concurrent use.
type MemStore struct {
	mu   sync.RWMutex
	recs []Record     // ascending Seq
	cps  []Checkpoint // ascending Size
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{} }

// AppendAudit implements Store.
func (m *MemStore) AppendAudit(ctx context.Context, recs []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := int64(0)
	if n := len(m.recs); n > 0 {
		next = m.recs[n-1].Seq + 1
	}
	for i, r := range recs {
		if r.Seq != next+int64(i) {
			return citybrain.Errorf(citybrain.ECONFLICT, "audit: append seq %d, want %d", r.Seq, next+int64(i))
		}
	}
	for _, r := range recs {
		m.recs = append(m.recs, Record{Seq: r.Seq, Data: append([]byte(nil), r.Data...),
			Hashes: append([]tlog.Hash(nil), r.Hashes...), Entry: r.Entry})
	}
	return nil
}

// AuditSize implements Store.
func (m *MemStore) AuditSize(ctx context.Context) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if n := len(m.recs); n > 0 {
		return m.recs[n-1].Seq + 1, nil
	}
	return 0, nil
}

func (m *MemStore) find(seq int64) int {
	return sort.Search(len(m.recs), func(i int) bool { return m.recs[i].Seq >= seq })
}

// ReadAuditRecords implements Store.
func (m *MemStore) ReadAuditRecords(ctx context.Context, from int64, limit int) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i := m.find(from)
	j := min(i+limit, len(m.recs))
	out := make([]Record, 0, j-i)
	for _, r := range m.recs[i:j] {
		out = append(out, Record{Seq: r.Seq, Data: r.Data, Hashes: r.Hashes})
	}
	return out, nil
}

// ReadAuditHashes implements Store.
func (m *MemStore) ReadAuditHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		seq, k := HashLocation(idx)
		j := m.find(seq)
		if j == len(m.recs) || m.recs[j].Seq != seq || k >= len(m.recs[j].Hashes) {
			return nil, citybrain.Errorf(citybrain.ENOTFOUND, "audit: stored hash %d missing", idx)
		}
		out[i] = m.recs[j].Hashes[k]
	}
	return out, nil
}

// AddAuditCheckpoint implements Store.
func (m *MemStore) AddAuditCheckpoint(ctx context.Context, c Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.Note = append([]byte(nil), c.Note...)
	i := sort.Search(len(m.cps), func(i int) bool { return m.cps[i].Size > c.Size })
	m.cps = append(m.cps, Checkpoint{})
	copy(m.cps[i+1:], m.cps[i:])
	m.cps[i] = c
	return nil
}

// AuditCheckpoints implements Store.
func (m *MemStore) AuditCheckpoints(ctx context.Context) ([]Checkpoint, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]Checkpoint(nil), m.cps...), nil
}

// LatestAuditCheckpoint implements Store.
func (m *MemStore) LatestAuditCheckpoint(ctx context.Context) (Checkpoint, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.cps) == 0 {
		return Checkpoint{}, citybrain.Errorf(citybrain.ENOTFOUND, "audit: no checkpoint yet")
	}
	return m.cps[len(m.cps)-1], nil
}

// SearchAudit implements Store by scanning from the newest entry.
func (m *MemStore) SearchAudit(ctx context.Context, q Query) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	end := len(m.recs)
	if q.Before > 0 {
		end = m.find(q.Before)
	}
	var out []Record
	for i := end - 1; i >= 0 && len(out) < q.Limit; i-- {
		r := m.recs[i]
		if q.matches(&r.Entry) {
			out = append(out, Record{Seq: r.Seq, Data: r.Data, Hashes: r.Hashes})
		}
	}
	return out, nil
}

// matches reports whether e satisfies the filters of q (not the cursor or limit).
func (q *Query) matches(e *Entry) bool {
	switch {
	case q.ActorID != 0 && e.Actor.UserID != q.ActorID,
		q.Username != "" && e.Actor.Username != q.Username,
		q.Action != "" && e.Action != q.Action,
		q.Dataset != "" && e.Object.Dataset != q.Dataset,
		!q.From.IsZero() && e.Time.Before(q.From),
		!q.To.IsZero() && !e.Time.Before(q.To):
		return false
	}
	return true
}

// String describes the query for the audit entry that records an export or search.
func (q *Query) String() string {
	return fmt.Sprintf("actor_id=%d username=%q action=%q dataset=%q from=%s to=%s", q.ActorID, q.Username, q.Action, q.Dataset,
		fmtTime(q.From), fmtTime(q.To))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
