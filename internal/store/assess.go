package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/assess"
	"github.com/citybrain/citybrain/internal/workorder"
)

var _ assess.Repository = (*DB)(nil)

// ---- Systems -------------------------------------------------------------------------

func systemHash(s *assess.System) (string, []byte, error) {
	c := *s
	c.Version = 0
	b, err := json.Marshal(&c)
	if err != nil {
		return "", nil, err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), b, nil
}

// SaveSystem implements assess.Repository: a system equal to the latest stored version (same
// content ignoring the version number) is not stored again.
func (db *DB) SaveSystem(ctx context.Context, s *assess.System, by string) (bool, error) {
	hash, _, err := systemHash(s)
	if err != nil {
		return false, fmt.Errorf("encode system: %w", err)
	}
	created := false
	err = db.InTx(ctx, func(tx *Tx) error {
		var latest int
		var latestHash string
		err := tx.QueryRow(ctx, `SELECT version, hash FROM assess_systems WHERE id=? ORDER BY version DESC LIMIT 1`, s.ID).Scan(&latest, &latestHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if latestHash == hash {
			s.Version = latest
			return nil
		}
		s.Version = latest + 1
		doc, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO assess_systems (id, version, name_zh, name_en, unit_kind, hash, doc, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, s.Version, s.NameZH, s.NameEN, s.UnitKind, hash, string(doc), by, Millis(time.Now()))
		if IsUniqueViolation(err) {
			return citybrain.Errorf(citybrain.ECONFLICT, "指标体系 %s 正在被同时修改 / system %s was changed concurrently", s.ID, s.ID)
		}
		created = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save system: %w", err)
	}
	return created, nil
}

// GetSystem implements assess.Repository.
func (db *DB) GetSystem(ctx context.Context, id string, version int) (*assess.System, error) {
	var doc string
	var v int
	var err error
	if version <= 0 {
		err = db.QueryRow(ctx, `SELECT version, doc FROM assess_systems WHERE id=? ORDER BY version DESC LIMIT 1`, id).Scan(&v, &doc)
	} else {
		err = db.QueryRow(ctx, `SELECT version, doc FROM assess_systems WHERE id=? AND version=?`, id, version).Scan(&v, &doc)
	}
	if err != nil {
		return nil, notFound(err, "指标体系 / indicator system", id)
	}
	var s assess.System
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return nil, fmt.Errorf("decode system %s@%d: %w", id, v, err)
	}
	s.Version = v
	return &s, nil
}

// ListSystems implements assess.Repository.
func (db *DB) ListSystems(ctx context.Context) ([]assess.SystemInfo, error) {
	rows, err := db.Query(ctx, `SELECT id, version, name_zh, name_en, unit_kind, created_by, created_at FROM assess_systems ORDER BY id, version DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assess.SystemInfo
	for rows.Next() {
		var si assess.SystemInfo
		var at int64
		if err := rows.Scan(&si.ID, &si.Version, &si.NameZH, &si.NameEN, &si.UnitKind, &si.CreatedBy, &at); err != nil {
			return nil, err
		}
		si.CreatedAt = Time(at)
		si.Latest = len(out) == 0 || out[len(out)-1].ID != si.ID
		out = append(out, si)
	}
	return out, rows.Err()
}

// ---- Manual inputs --------------------------------------------------------------------

// PutManual implements assess.Repository.
func (db *DB) PutManual(ctx context.Context, m assess.ManualInput) error {
	_, err := db.Exec(ctx, `INSERT INTO assess_manual (system_id, period, unit, indicator, value, evidence, evidence_url, entered_by, entered_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system_id, period, unit, indicator) DO UPDATE SET value=excluded.value,
		evidence=excluded.evidence, evidence_url=excluded.evidence_url, entered_by=excluded.entered_by, entered_at=excluded.entered_at`,
		m.System, m.Period, m.Unit, m.Indicator, m.Value, m.Evidence, m.EvidenceURL, m.EnteredBy, Millis(m.EnteredAt))
	if err != nil {
		return fmt.Errorf("put manual input: %w", err)
	}
	return nil
}

// ManualInputs implements assess.Repository.
func (db *DB) ManualInputs(ctx context.Context, system, period string) ([]assess.ManualInput, error) {
	rows, err := db.Query(ctx, `SELECT system_id, period, unit, indicator, value, evidence, evidence_url, entered_by, entered_at
		FROM assess_manual WHERE system_id=? AND period=? ORDER BY unit, indicator`, system, period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assess.ManualInput
	for rows.Next() {
		var m assess.ManualInput
		var at int64
		if err := rows.Scan(&m.System, &m.Period, &m.Unit, &m.Indicator, &m.Value, &m.Evidence, &m.EvidenceURL, &m.EnteredBy, &at); err != nil {
			return nil, err
		}
		m.EnteredAt = Time(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ---- Work-order facts ------------------------------------------------------------------

// syncMargin: orders updated up to this long before the watermark are read again, so an
// update committed late (its updated_at older than one already seen) is not missed.
const syncMargin = 5 * time.Minute

const factCols = 25

const factInsert = `INSERT INTO assess_wo_facts (order_id, tracking_no, source, street, community, grid, lead_dept, category, state,
	created_at, deadline, ack_at, handled_at, closed_at, base, duplicate, closed, rated, resolved, satisfied, reworks, extensions,
	ack_ontime, closed_ontime, handle_ms) VALUES `

const factUpsert = ` ON CONFLICT (order_id) DO UPDATE SET tracking_no=excluded.tracking_no, source=excluded.source,
	street=excluded.street, community=excluded.community, grid=excluded.grid, lead_dept=excluded.lead_dept,
	category=excluded.category, state=excluded.state, created_at=excluded.created_at, deadline=excluded.deadline,
	ack_at=excluded.ack_at, handled_at=excluded.handled_at, closed_at=excluded.closed_at, base=excluded.base,
	duplicate=excluded.duplicate, closed=excluded.closed, rated=excluded.rated, resolved=excluded.resolved,
	satisfied=excluded.satisfied, reworks=excluded.reworks, extensions=excluded.extensions, ack_ontime=excluded.ack_ontime,
	closed_ontime=excluded.closed_ontime, handle_ms=excluded.handle_ms`

// factDoc is the part of the order document the facts need beyond the columns.
type factDoc struct {
	ClosedAt  time.Time `json:"closed_at"`
	Rating    int       `json:"rating"`
	Satisfied *bool     `json:"satisfied"`
}

type fact struct {
	id                                          int64
	trackingNo, source, street, community, grid string
	dept, category, state, resolution           string
	created, updated, deadline, responded       int64
	dupOf                                       int64
	open                                        bool
	doc                                         factDoc
	ack, feedback, reworks, extensions          int64
}

// factVals are the stored values of a fact (see docs/assessment.md for the definitions).
type factVals struct {
	id, created, deadline, ack, handled, closedAt, reworks, extensions, handleMs int64
	street, community, dept                                                      string
	base, dup, closed, rated, resolved, sat, ackOK, closedOK                     bool
}

func (f *fact) vals() factVals {
	closedAt := Millis(f.doc.ClosedAt)
	closed := !f.open
	ack := f.responded
	for _, t := range []int64{f.ack, f.feedback} {
		if t > 0 && (ack == 0 || t < ack) {
			ack = t
		}
	}
	handled := f.responded
	if handled == 0 && closed {
		handled = closedAt
	}
	dup := f.dupOf != 0 || f.resolution == "duplicate"
	rated := f.doc.Rating > 0
	v := factVals{id: f.id, created: f.created, deadline: f.deadline, ack: ack, handled: handled, closedAt: closedAt,
		reworks: f.reworks, extensions: f.extensions, street: f.street, community: f.community, dept: f.dept,
		base: !dup && f.resolution != "cancelled", dup: dup, closed: closed, rated: rated, resolved: rated && f.doc.Rating >= 3,
		sat: rated && f.doc.Satisfied != nil && *f.doc.Satisfied}
	v.ackOK = f.deadline > 0 && ack > 0 && ack <= f.deadline
	v.closedOK = closed && (f.deadline == 0 || (handled > 0 && handled <= f.deadline))
	if closed && closedAt > f.created {
		v.handleMs = closedAt - f.created
	}
	return v
}

func (f *fact) row(v factVals) []any {
	return []any{f.id, f.trackingNo, f.source, v.street, v.community, f.grid, v.dept, f.category, f.state,
		v.created, v.deadline, v.ack, v.handled, v.closedAt, Bool(v.base), Bool(v.dup), Bool(v.closed), Bool(v.rated), Bool(v.resolved),
		Bool(v.sat), v.reworks, v.extensions, Bool(v.ackOK), Bool(v.closedOK), v.handleMs}
}

// rollupKey identifies a roll-up row.
type rollupKey struct {
	day                     int64
	street, community, dept string
}

const rollupCols = 16 // counters after the key

// rollupCounters returns an order's contribution to its roll-up row: n_all, n_dup, n_base,
// n_acked, n_ack_ok, n_closed, n_close_ok, handle_ms, n_rated, n_resolved, n_satisfied,
// n_handled, n_reworked, n_dispatched, n_extended, n_late.
func (v factVals) rollupCounters() [rollupCols]int64 {
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	var c [rollupCols]int64
	c[0], c[1] = 1, b(v.dup)
	if v.base {
		c[2] = 1
		c[3] = b(v.deadline > 0 && v.ack > 0)
		c[4] = b(v.ackOK)
		c[5] = b(v.closed)
		c[6] = b(v.closedOK)
		if v.closed {
			c[7] = v.handleMs
		}
		c[8] = b(v.rated)
		c[9] = b(v.rated && v.resolved)
		c[10] = b(v.rated && v.sat)
		c[11] = b(v.handled > 0)
		c[12] = b(v.handled > 0 && v.reworks > 0)
		c[13] = b(v.deadline > 0)
		c[14] = b(v.deadline > 0 && v.extensions > 0)
		c[15] = b(v.deadline > 0 && v.handled > 0 && v.handled > v.deadline)
	}
	return c
}

func dayStart(ms int64, loc *time.Location) int64 {
	t := time.UnixMilli(ms).In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc).UnixMilli()
}

// SyncWorkOrderFacts implements assess.Repository: it folds orders with an id above the
// stored max_id, and orders updated since the stored updated_at (minus a safety margin),
// into assess_wo_facts, in batches.
func (db *DB) SyncWorkOrderFacts(ctx context.Context, loc *time.Location, resolve func(code string) (string, string)) (int, error) {
	if loc == nil {
		loc = time.UTC
	}
	var maxID, wm int64
	err := db.QueryRow(ctx, `SELECT max_id, updated_at FROM assess_sync WHERE name='workorders'`).Scan(&maxID, &wm)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("assess sync: %w", err)
	}
	newMax, newWM := maxID, wm
	total := 0
	const sel = `SELECT id, tracking_no, source, street, community, grid, lead_dept, category, state, is_open, resolution,
		created_at, updated_at, deadline, responded_at, duplicate_of, doc FROM workorders WHERE `
	// Pass 1: new orders, by id.
	for after := maxID; ; {
		fs, err := db.readFacts(ctx, sel+`id > ? ORDER BY id LIMIT 2000`, after)
		if err != nil {
			return total, err
		}
		if len(fs) == 0 {
			break
		}
		if err := db.writeFacts(ctx, fs, loc, resolve); err != nil {
			return total, err
		}
		total += len(fs)
		after = fs[len(fs)-1].id
		for _, f := range fs {
			newMax = max(newMax, f.id)
			newWM = max(newWM, f.updated)
		}
	}
	// Pass 2: orders updated since the watermark (not needed on the first sync).
	if wm > 0 {
		from := wm - syncMargin.Milliseconds()
		var afterU, afterID int64 = from, -1
		for {
			fs, err := db.readFacts(ctx, sel+`(updated_at > ? OR (updated_at = ? AND id > ?)) ORDER BY updated_at, id LIMIT 2000`,
				afterU, afterU, afterID)
			if err != nil {
				return total, err
			}
			if len(fs) == 0 {
				break
			}
			if err := db.writeFacts(ctx, fs, loc, resolve); err != nil {
				return total, err
			}
			total += len(fs)
			last := fs[len(fs)-1]
			afterU, afterID = last.updated, last.id
			for _, f := range fs {
				newWM = max(newWM, f.updated)
			}
		}
	}
	if newMax != maxID || newWM != wm {
		if _, err := db.Exec(ctx, `INSERT INTO assess_sync (name, max_id, updated_at) VALUES ('workorders', ?, ?)
			ON CONFLICT (name) DO UPDATE SET max_id=excluded.max_id, updated_at=excluded.updated_at`, newMax, newWM); err != nil {
			return total, fmt.Errorf("assess sync watermark: %w", err)
		}
	}
	return total, nil
}

func (db *DB) readFacts(ctx context.Context, q string, args ...any) ([]*fact, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("assess sync: %w", err)
	}
	defer rows.Close()
	var out []*fact
	for rows.Next() {
		f := &fact{}
		var open int
		var doc []byte
		if err := rows.Scan(&f.id, &f.trackingNo, &f.source, &f.street, &f.community, &f.grid, &f.dept, &f.category, &f.state, &open,
			&f.resolution, &f.created, &f.updated, &f.deadline, &f.responded, &f.dupOf, &doc); err != nil {
			return nil, err
		}
		f.open = open != 0
		if err := json.Unmarshal(doc, &f.doc); err != nil {
			return nil, fmt.Errorf("assess sync: decode order %d: %w", f.id, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (db *DB) writeFacts(ctx context.Context, fs []*fact, loc *time.Location, resolve func(string) (string, string)) error {
	byID := make(map[int64]*fact, len(fs))
	ids := make([]any, 0, len(fs))
	for _, f := range fs {
		byID[f.id] = f
		ids = append(ids, f.id)
		if resolve != nil && (f.street == "" || f.community == "") {
			code := f.grid
			if code == "" {
				code = f.community
			}
			if code == "" {
				code = f.street
			}
			if code != "" {
				st, cm := resolve(code)
				if f.street == "" {
					f.street = st
				}
				if f.community == "" {
					f.community = cm
				}
			}
		}
	}
	// Events that matter: first acknowledgement/feedback, reworks (返工, 重办) and approved extensions.
	rows, err := db.Query(ctx, `SELECT order_id, action, at FROM workorder_events WHERE order_id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`) AND action IN ('acknowledge','feedback','rework','reopen','approve_extension')`, ids...)
	if err != nil {
		return fmt.Errorf("assess sync events: %w", err)
	}
	for rows.Next() {
		var id, at int64
		var action string
		if err := rows.Scan(&id, &action, &at); err != nil {
			rows.Close()
			return err
		}
		f := byID[id]
		switch action {
		case "acknowledge":
			if f.ack == 0 || at < f.ack {
				f.ack = at
			}
		case "feedback":
			if f.feedback == 0 || at < f.feedback {
				f.feedback = at
			}
		case "rework", "reopen":
			f.reworks++
		case "approve_extension":
			f.extensions++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return db.InTx(ctx, func(tx *Tx) error {
		if db.Dialect == Postgres {
			// Syncs adjust the roll-up by differences: they must not interleave.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7305000901)`); err != nil {
				return err
			}
		}
		// The old contributions of these orders, to take out of the roll-up.
		deltas := map[rollupKey]*[rollupCols]int64{}
		addTo := func(k rollupKey, c [rollupCols]int64, sign int64) {
			d := deltas[k]
			if d == nil {
				d = &[rollupCols]int64{}
				deltas[k] = d
			}
			for i := range c {
				d[i] += sign * c[i]
			}
		}
		rows, err := tx.Query(ctx, `SELECT order_id, created_at, street, community, lead_dept, deadline, ack_at, handled_at, base, duplicate,
			closed, rated, resolved, satisfied, reworks, extensions, ack_ontime, closed_ontime, handle_ms FROM assess_wo_facts WHERE order_id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`, ids...)
		if err != nil {
			return fmt.Errorf("assess sync old facts: %w", err)
		}
		for rows.Next() {
			var v factVals
			var base, dup, closed, rated, resolved, sat, ackOK, closedOK int
			if err := rows.Scan(&v.id, &v.created, &v.street, &v.community, &v.dept, &v.deadline, &v.ack, &v.handled, &base, &dup, &closed,
				&rated, &resolved, &sat, &v.reworks, &v.extensions, &ackOK, &closedOK, &v.handleMs); err != nil {
				rows.Close()
				return err
			}
			v.base, v.dup, v.closed, v.rated, v.resolved, v.sat, v.ackOK, v.closedOK = base == 1, dup == 1, closed == 1, rated == 1, resolved == 1, sat == 1, ackOK == 1, closedOK == 1
			addTo(rollupKey{dayStart(v.created, loc), v.street, v.community, v.dept}, v.rollupCounters(), -1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		const batch = 1000
		for start := 0; start < len(fs); start += batch {
			chunk := fs[start:min(start+batch, len(fs))]
			args := make([]any, 0, len(chunk)*factCols)
			for _, f := range chunk {
				v := f.vals()
				args = append(args, f.row(v)...)
				addTo(rollupKey{dayStart(v.created, loc), v.street, v.community, v.dept}, v.rollupCounters(), 1)
			}
			if _, err := tx.Exec(ctx, factInsert+Placeholders(len(chunk), factCols)+factUpsert, args...); err != nil {
				return fmt.Errorf("assess sync write: %w", err)
			}
		}
		// Apply the differences to the roll-up.
		var rargs []any
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, rollupInsert+Placeholders(n, 4+rollupCols)+rollupUpsert, rargs...)
			rargs, n = rargs[:0], 0
			return err
		}
		for k, d := range deltas {
			zero := true
			for _, x := range d {
				if x != 0 {
					zero = false
				}
			}
			if zero {
				continue
			}
			rargs = append(rargs, k.day, k.street, k.community, k.dept)
			for _, x := range d {
				rargs = append(rargs, x)
			}
			if n++; n == 1000 {
				if err := flush(); err != nil {
					return fmt.Errorf("assess roll-up: %w", err)
				}
			}
		}
		if err := flush(); err != nil {
			return fmt.Errorf("assess roll-up: %w", err)
		}
		return nil
	})
}

const rollupNames = `n_all, n_dup, n_base, n_acked, n_ack_ok, n_closed, n_close_ok, handle_ms, n_rated, n_resolved, n_satisfied,
	n_handled, n_reworked, n_dispatched, n_extended, n_late`

const rollupInsert = `INSERT INTO assess_wo_rollup (day, street, community, lead_dept, ` + rollupNames + `) VALUES `

const rollupUpsert = ` ON CONFLICT (day, street, community, lead_dept) DO UPDATE SET
	n_all = assess_wo_rollup.n_all + excluded.n_all, n_dup = assess_wo_rollup.n_dup + excluded.n_dup,
	n_base = assess_wo_rollup.n_base + excluded.n_base, n_acked = assess_wo_rollup.n_acked + excluded.n_acked,
	n_ack_ok = assess_wo_rollup.n_ack_ok + excluded.n_ack_ok, n_closed = assess_wo_rollup.n_closed + excluded.n_closed,
	n_close_ok = assess_wo_rollup.n_close_ok + excluded.n_close_ok, handle_ms = assess_wo_rollup.handle_ms + excluded.handle_ms,
	n_rated = assess_wo_rollup.n_rated + excluded.n_rated, n_resolved = assess_wo_rollup.n_resolved + excluded.n_resolved,
	n_satisfied = assess_wo_rollup.n_satisfied + excluded.n_satisfied, n_handled = assess_wo_rollup.n_handled + excluded.n_handled,
	n_reworked = assess_wo_rollup.n_reworked + excluded.n_reworked, n_dispatched = assess_wo_rollup.n_dispatched + excluded.n_dispatched,
	n_extended = assess_wo_rollup.n_extended + excluded.n_extended, n_late = assess_wo_rollup.n_late + excluded.n_late`

func unitColumn(kind string) (string, error) {
	switch kind {
	case assess.UnitStreet:
		return "street", nil
	case assess.UnitCommunity:
		return "community", nil
	case assess.UnitDepartment:
		return "lead_dept", nil
	}
	return "", citybrain.FieldError("unit_kind", "unknown unit kind %q", kind)
}

// Conditions shared by the aggregate and the drill-down (placeholders are "now").
const (
	condDueAck   = `base=1 AND deadline>0 AND (ack_at>0 OR deadline<?)`
	condDueClose = `base=1 AND (closed=1 OR (deadline>0 AND deadline<?))`
	condOverdue  = `base=1 AND deadline>0 AND ((handled_at>0 AND handled_at>deadline) OR (handled_at=0 AND deadline<?))`
)

// WorkOrderMetrics implements assess.Repository: the clock-independent counts come from the
// daily roll-up; orders not yet acknowledged, handled or closed whose deadline has passed
// at now (the only counts that depend on the clock) come from the facts through a partial
// index. Both are plain GROUP BYs.
func (db *DB) WorkOrderMetrics(ctx context.Context, kind string, from, to, now time.Time) ([]assess.UnitMetrics, error) {
	col, err := unitColumn(kind)
	if err != nil {
		return nil, err
	}
	type agg struct {
		all, dups, base, acked, ackOK, closed, closeOK, handleMs, rated, resolved, sat, handled, reworked, dispatched, extended, late int64
		pendAck, pendClose, pendHandle                                                                                                int64
	}
	by := map[string]*agg{}
	var order []string
	get := func(u string) *agg {
		a := by[u]
		if a == nil {
			a = &agg{}
			by[u] = a
			order = append(order, u)
		}
		return a
	}
	rows, err := db.Query(ctx, `SELECT `+col+`, SUM(n_all), SUM(n_dup), SUM(n_base), SUM(n_acked), SUM(n_ack_ok), SUM(n_closed), SUM(n_close_ok),
		SUM(handle_ms), SUM(n_rated), SUM(n_resolved), SUM(n_satisfied), SUM(n_handled), SUM(n_reworked), SUM(n_dispatched), SUM(n_extended),
		SUM(n_late) FROM assess_wo_rollup WHERE day >= ? AND day < ? GROUP BY `+col, Millis(from), Millis(to))
	if err != nil {
		return nil, fmt.Errorf("work-order metrics: %w", err)
	}
	for rows.Next() {
		var u string
		var x agg
		if err := rows.Scan(&u, &x.all, &x.dups, &x.base, &x.acked, &x.ackOK, &x.closed, &x.closeOK, &x.handleMs, &x.rated, &x.resolved, &x.sat,
			&x.handled, &x.reworked, &x.dispatched, &x.extended, &x.late); err != nil {
			rows.Close()
			return nil, err
		}
		*get(u) = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.Query(ctx, `SELECT `+col+`, SUM(CASE WHEN ack_at = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN closed = 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN handled_at = 0 THEN 1 ELSE 0 END) FROM assess_wo_facts
		WHERE base = 1 AND deadline > 0 AND (ack_at = 0 OR handled_at = 0 OR closed = 0) AND created_at >= ? AND created_at < ? AND deadline < ?
		GROUP BY `+col, Millis(from), Millis(to), Millis(now))
	if err != nil {
		return nil, fmt.Errorf("work-order metrics: %w", err)
	}
	for rows.Next() {
		var u string
		var a, c, h int64
		if err := rows.Scan(&u, &a, &c, &h); err != nil {
			rows.Close()
			return nil, err
		}
		x := get(u)
		x.pendAck, x.pendClose, x.pendHandle = a, c, h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []assess.UnitMetrics
	for _, u := range order {
		x := by[u]
		if x.all == 0 {
			continue
		}
		dueAck, dueClose, overdue := x.acked+x.pendAck, x.closed+x.pendClose, x.late+x.pendHandle
		m := map[string]float64{"wo_count": float64(x.base)}
		put := func(name string, num, den int64) {
			if den > 0 {
				m[name] = round2(100 * float64(num) / float64(den))
			}
		}
		put("wo_response_rate", x.ackOK, dueAck)
		put("wo_closed_rate", x.closed, x.base)
		put("wo_ontime_close_rate", x.closeOK, dueClose)
		put("wo_resolve_rate", x.resolved, x.rated)
		put("wo_satisfaction_rate", x.sat, x.rated)
		put("wo_rework_rate", x.reworked, x.handled)
		put("wo_extension_rate", x.extended, x.dispatched)
		put("wo_overdue_rate", overdue, dueClose)
		put("wo_duplicate_rate", x.dups, x.all)
		if x.closed > 0 {
			m["wo_avg_handle_hours"] = round2(float64(x.handleMs) / float64(x.closed) / 3.6e6)
		}
		out = append(out, assess.UnitMetrics{Unit: u, Metrics: m})
	}
	return out, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// WorkOrderRecords implements assess.Repository: the orders that count against the unit for
// a metric (e.g. the overdue ones for 超期率), worst first.
func (db *DB) WorkOrderRecords(ctx context.Context, q assess.RecordQuery) ([]assess.Record, int, error) {
	col, err := unitColumn(q.Kind)
	if err != nil {
		return nil, 0, err
	}
	n := Millis(q.Now)
	cond, order := "base=1", "created_at DESC"
	var extra []any
	switch q.Metric {
	case "wo_response_rate":
		cond, extra, order = condDueAck+` AND ack_ontime=0`, []any{n}, "deadline"
	case "wo_ontime_close_rate":
		cond, extra, order = condDueClose+` AND closed_ontime=0`, []any{n}, "deadline"
	case "wo_overdue_rate":
		cond, extra, order = condOverdue, []any{n}, "deadline"
	case "wo_closed_rate":
		cond = "base=1 AND closed=0"
	case "wo_resolve_rate":
		cond = "base=1 AND rated=1 AND resolved=0"
	case "wo_satisfaction_rate":
		cond = "base=1 AND rated=1 AND satisfied=0"
	case "wo_rework_rate":
		cond, order = "base=1 AND handled_at>0 AND reworks>0", "reworks DESC, created_at DESC"
	case "wo_extension_rate":
		cond, order = "base=1 AND deadline>0 AND extensions>0", "extensions DESC, created_at DESC"
	case "wo_duplicate_rate":
		cond = "duplicate=1"
	case "wo_avg_handle_hours":
		cond, order = "base=1 AND closed=1", "handle_ms DESC"
	}
	where := col + `=? AND created_at >= ? AND created_at < ? AND ` + cond
	args := append([]any{q.Unit, Millis(q.From), Millis(q.To)}, extra...)
	var total int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM assess_wo_facts WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("work-order records: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := db.Query(ctx, `SELECT order_id, tracking_no, category, state, lead_dept, street, created_at, deadline, ack_at, handled_at,
		closed_at, reworks, extensions, rated, resolved, satisfied, handle_ms, duplicate FROM assess_wo_facts WHERE `+where+
		` ORDER BY `+order+`, order_id LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("work-order records: %w", err)
	}
	defer rows.Close()
	var out []assess.Record
	for rows.Next() {
		var r assess.Record
		var id, created, deadline, ack, handled, closedAt, reworks, ext, handleMs int64
		var rated, resolved, sat, dup int
		if err := rows.Scan(&id, &r.TrackingNo, &r.Category, &r.State, &r.LeadDept, &r.Street, &created, &deadline, &ack, &handled,
			&closedAt, &reworks, &ext, &rated, &resolved, &sat, &handleMs, &dup); err != nil {
			return nil, 0, err
		}
		r.Kind, r.ID = "workorder", fmt.Sprint(id)
		r.CreatedAt, r.Deadline, r.RespondedAt, r.ClosedAt = Time(created), Time(deadline), Time(handled), Time(closedAt)
		r.Why = woWhy(q.Metric, n, deadline, ack, handled, reworks, ext, rated, resolved, sat, handleMs)
		out = append(out, r)
	}
	return out, total, rows.Err()
}

func hours(ms int64) string { return fmt.Sprintf("%.1f", float64(ms)/3.6e6) }

func woWhy(metric string, now, deadline, ack, handled, reworks, ext int64, rated, resolved, sat int, handleMs int64) string {
	switch metric {
	case "wo_response_rate":
		if ack == 0 {
			return "超过期限仍未签收 / not acknowledged by the deadline"
		}
		return fmt.Sprintf("签收晚于期限 %s 小时 / acknowledged %s h late", hours(ack-deadline), hours(ack-deadline))
	case "wo_ontime_close_rate", "wo_overdue_rate":
		if handled == 0 {
			return fmt.Sprintf("超期未反馈 %s 小时 / overdue, no feedback for %s h past the deadline", hours(now-deadline), hours(now-deadline))
		}
		if handled > deadline && deadline > 0 {
			return fmt.Sprintf("超期 %s 小时办结 / handled %s h after the deadline", hours(handled-deadline), hours(handled-deadline))
		}
		return "尚未办结 / not closed yet"
	case "wo_closed_rate":
		return "尚未办结 / still open"
	case "wo_resolve_rate":
		return "回访：问题未解决 / follow-up: not resolved"
	case "wo_satisfaction_rate":
		return "回访：不满意 / follow-up: not satisfied"
	case "wo_rework_rate":
		return fmt.Sprintf("返工/重办 %d 次 / sent back %d time(s)", reworks, reworks)
	case "wo_extension_rate":
		return fmt.Sprintf("延期 %d 次 / extended %d time(s)", ext, ext)
	case "wo_duplicate_rate":
		return "重复件 / duplicate report"
	case "wo_avg_handle_hours":
		return fmt.Sprintf("处置用时 %s 小时 / took %s h", hours(handleMs), hours(handleMs))
	}
	return "计入工单量 / counted"
}

// ---- Alerts, devices, governance ------------------------------------------------------

// AlertAggregates implements assess.Repository.
func (db *DB) AlertAggregates(ctx context.Context, from, to, now time.Time, ackWithin time.Duration) ([]assess.AlertAgg, error) {
	w := ackWithin.Milliseconds()
	n := Millis(now)
	rows, err := db.Query(ctx, `SELECT area, CASE WHEN device_id <> '' THEN 1 ELSE 0 END AS dev, COUNT(*),
		SUM(CASE WHEN acked_at>0 OR resolved_at>0 OR fired_at+? < ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN (acked_at>0 AND acked_at<=fired_at+?) OR (acked_at=0 AND resolved_at>0 AND resolved_at<=fired_at+?) THEN 1 ELSE 0 END),
		SUM(CASE WHEN resolved_at>0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN resolved_at>0 THEN resolved_at-fired_at ELSE 0 END)
		FROM alerts WHERE fired_at >= ? AND fired_at < ? AND fired_at > 0 GROUP BY area, CASE WHEN device_id <> '' THEN 1 ELSE 0 END`,
		w, n, w, w, Millis(from), Millis(to))
	if err != nil {
		return nil, fmt.Errorf("alert metrics: %w", err)
	}
	defer rows.Close()
	var out []assess.AlertAgg
	for rows.Next() {
		var a assess.AlertAgg
		var dev int
		if err := rows.Scan(&a.Area, &dev, &a.Count, &a.AckDue, &a.AckOnTime, &a.Resolved, &a.ResolveMs); err != nil {
			return nil, err
		}
		a.Device = dev == 1
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertRecords implements assess.Repository: alerts in the unit's areas that were not
// acknowledged in time (alert_ack_ontime_rate) or took longest to resolve.
func (db *DB) AlertRecords(ctx context.Context, q assess.RecordQuery, ackWithin time.Duration) ([]assess.Record, int, error) {
	if len(q.Areas) == 0 {
		return nil, 0, nil
	}
	w := ackWithin.Milliseconds()
	cond, order := "1=1", "fired_at DESC"
	var extra []any
	switch q.Metric {
	case "alert_ack_ontime_rate":
		cond = `(acked_at>0 OR resolved_at>0 OR fired_at+? < ?) AND NOT ((acked_at>0 AND acked_at<=fired_at+?) OR (acked_at=0 AND resolved_at>0 AND resolved_at<=fired_at+?))`
		extra = []any{w, Millis(q.Now), w, w}
	case "alert_resolve_hours":
		cond, order = "resolved_at>0", "resolved_at-fired_at DESC"
	case "dev_mttr_hours":
		cond, order = "resolved_at>0 AND device_id <> ''", "resolved_at-fired_at DESC"
	}
	if len(q.Areas) > 5000 {
		q.Areas = q.Areas[:5000]
	}
	where := `area IN (` + strings.TrimSuffix(strings.Repeat("?,", len(q.Areas)), ",") + `) AND fired_at >= ? AND fired_at < ? AND fired_at > 0 AND ` + cond
	args := make([]any, 0, len(q.Areas)+6)
	for _, a := range q.Areas {
		args = append(args, a)
	}
	args = append(args, Millis(q.From), Millis(q.To))
	args = append(args, extra...)
	var total int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("alert records: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := db.Query(ctx, `SELECT id, rule_name, device_id, area, severity, status, fired_at, acked_at, resolved_at FROM alerts WHERE `+
		where+` ORDER BY `+order+`, id LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("alert records: %w", err)
	}
	defer rows.Close()
	var out []assess.Record
	for rows.Next() {
		var r assess.Record
		var id, fired, acked, resolved int64
		var rule, dev, sev string
		if err := rows.Scan(&id, &rule, &dev, &r.Area, &sev, &r.State, &fired, &acked, &resolved); err != nil {
			return nil, 0, err
		}
		r.Kind, r.ID, r.Name, r.Category = "alert", fmt.Sprint(id), rule, sev
		if dev != "" {
			r.Name = rule + " · " + dev
		}
		r.CreatedAt, r.RespondedAt, r.ClosedAt = Time(fired), Time(acked), Time(resolved)
		r.Deadline = Time(fired + w)
		switch {
		case q.Metric == "alert_ack_ontime_rate" && acked == 0 && resolved == 0:
			r.Why = "超过确认时限未确认 / not acknowledged within the window"
		case q.Metric == "alert_ack_ontime_rate":
			t := acked
			if t == 0 {
				t = resolved
			}
			r.Why = fmt.Sprintf("确认用时 %s 小时 / acknowledged after %s h", hours(t-fired), hours(t-fired))
		case resolved > 0:
			r.Why = fmt.Sprintf("解除用时 %s 小时 / resolved after %s h", hours(resolved-fired), hours(resolved-fired))
		default:
			r.Why = "告警 / alert raised"
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// DeviceRows implements assess.Repository.
func (db *DB) DeviceRows(ctx context.Context) ([]assess.DeviceRow, error) {
	rows, err := db.Query(ctx, `SELECT id, name, profile, area, disabled FROM devices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("device rows: %w", err)
	}
	defer rows.Close()
	var out []assess.DeviceRow
	for rows.Next() {
		var d assess.DeviceRow
		var dis int
		if err := rows.Scan(&d.ID, &d.Name, &d.Profile, &d.Area, &dis); err != nil {
			return nil, err
		}
		d.Disabled = dis != 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// Datasets implements assess.Repository: a dataset is graded when every catalogued column
// has a confirmed grade.
func (db *DB) Datasets(ctx context.Context) ([]assess.DatasetRow, error) {
	rows, err := db.Query(ctx, `SELECT name, title, owner, sharing, columns FROM gov_datasets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer rows.Close()
	var out []assess.DatasetRow
	for rows.Next() {
		var d assess.DatasetRow
		var cols string
		if err := rows.Scan(&d.Name, &d.Title, &d.Owner, &d.Sharing, &cols); err != nil {
			return nil, err
		}
		var cs []struct {
			Grade     string `json:"grade"`
			Confirmed bool   `json:"confirmed"`
		}
		_ = json.Unmarshal([]byte(cols), &cs)
		d.Graded = len(cs) > 0
		for _, c := range cs {
			if !c.Confirmed || c.Grade == "" {
				d.Graded = false
			}
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SharingRequests implements assess.Repository: requests filed in [from, to).
func (db *DB) SharingRequests(ctx context.Context, from, to time.Time) ([]assess.RequestRow, error) {
	rows, err := db.Query(ctx, `SELECT id, dataset, owner, requester, state, created_at, answer_due, decided_at FROM gov_requests
		WHERE created_at >= ? AND created_at < ? ORDER BY id`, Millis(from), Millis(to))
	if err != nil {
		return nil, fmt.Errorf("sharing requests: %w", err)
	}
	defer rows.Close()
	var out []assess.RequestRow
	for rows.Next() {
		var r assess.RequestRow
		var c, due, dec int64
		if err := rows.Scan(&r.ID, &r.Dataset, &r.Owner, &r.Requester, &r.State, &c, &due, &dec); err != nil {
			return nil, err
		}
		r.CreatedAt, r.AnswerDue, r.DecidedAt = Time(c), Time(due), Time(dec)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- Results --------------------------------------------------------------------------

// SaveResults implements assess.Repository: the period's previous results are replaced.
func (db *DB) SaveResults(ctx context.Context, run assess.Run, rs []assess.Result) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM assess_results WHERE system_id=? AND period=?`, run.System, run.Period); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO assess_runs (system_id, period, version, period_from, period_to, computed_at, computed_by)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system_id, period) DO UPDATE SET version=excluded.version,
			period_from=excluded.period_from, period_to=excluded.period_to, computed_at=excluded.computed_at, computed_by=excluded.computed_by`,
			run.System, run.Period, run.Version, Millis(run.From), Millis(run.To), Millis(run.ComputedAt), run.ComputedBy); err != nil {
			return fmt.Errorf("save run: %w", err)
		}
		for _, r := range rs {
			r.NameZH, r.NameEN = "", ""
			doc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO assess_results (system_id, period, unit, version, total, grade, unit_rank, ranked, cases, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, run.System, run.Period, r.Unit, run.Version, r.Total, r.Grade, r.Rank, Bool(r.Ranked),
				r.Cases, string(doc)); err != nil {
				return fmt.Errorf("save result: %w", err)
			}
		}
		return nil
	})
}

func scanRun(sc interface{ Scan(...any) error }) (assess.Run, error) {
	var r assess.Run
	var f, t, at int64
	err := sc.Scan(&r.System, &r.Period, &r.Version, &f, &t, &at, &r.ComputedBy)
	r.From, r.To, r.ComputedAt = Time(f), Time(t), Time(at)
	return r, err
}

// Results implements assess.Repository.
func (db *DB) Results(ctx context.Context, system, period string) (assess.Run, []assess.Result, error) {
	run, err := scanRun(db.QueryRow(ctx, `SELECT system_id, period, version, period_from, period_to, computed_at, computed_by
		FROM assess_runs WHERE system_id=? AND period=?`, system, period))
	if err != nil {
		return run, nil, notFound(err, "考核结果 / assessment results", system+" "+period)
	}
	rows, err := db.Query(ctx, `SELECT doc FROM assess_results WHERE system_id=? AND period=? ORDER BY total DESC, unit`, system, period)
	if err != nil {
		return run, nil, err
	}
	defer rows.Close()
	var out []assess.Result
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return run, nil, err
		}
		var r assess.Result
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return run, nil, fmt.Errorf("decode result: %w", err)
		}
		out = append(out, r)
	}
	return run, out, rows.Err()
}

// Periods implements assess.Repository.
func (db *DB) Periods(ctx context.Context, system string) ([]assess.Run, error) {
	rows, err := db.Query(ctx, `SELECT system_id, period, version, period_from, period_to, computed_at, computed_by
		FROM assess_runs WHERE system_id=? ORDER BY period_from, period_to`, system)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assess.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Trend implements assess.Repository.
func (db *DB) Trend(ctx context.Context, system, unit string) ([]assess.TrendPoint, error) {
	rows, err := db.Query(ctx, `SELECT r.period, u.period_from, u.period_to, r.version, r.total, r.grade, r.unit_rank, r.ranked
		FROM assess_results r JOIN assess_runs u ON u.system_id = r.system_id AND u.period = r.period
		WHERE r.system_id=? AND r.unit=? ORDER BY u.period_from, u.period_to`, system, unit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assess.TrendPoint
	for rows.Next() {
		var p assess.TrendPoint
		var f, t int64
		var ranked int
		if err := rows.Scan(&p.Period, &f, &t, &p.Version, &p.Total, &p.Grade, &p.Rank, &ranked); err != nil {
			return nil, err
		}
		p.From, p.To, p.Ranked = Time(f), Time(t), ranked != 0
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- Demo history ----------------------------------------------------------------------

// ImportWorkOrderHistory stores generated orders with their event histories (the demo
// district's months of history): the orders through BulkInsertOrders, then their events in
// multi-row inserts, and raises each day's tracking-number counter past the numbers used so
// orders created later do not collide. events[i] belongs to orders[i]; IDs are set.
func (db *DB) ImportWorkOrderHistory(ctx context.Context, orders []*workorder.Order, events [][]*workorder.Event) error {
	if err := db.BulkInsertOrders(ctx, orders); err != nil {
		return err
	}
	const batch = 500
	for start := 0; start < len(orders); start += batch {
		chunk := orders[start:min(start+batch, len(orders))]
		nos := make([]any, len(chunk))
		for i, o := range chunk {
			nos[i] = o.TrackingNo
		}
		rows, err := db.Query(ctx, `SELECT id, tracking_no FROM workorders WHERE tracking_no IN (`+strings.TrimSuffix(strings.Repeat("?,", len(nos)), ",")+`)`, nos...)
		if err != nil {
			return err
		}
		ids := map[string]int64{}
		for rows.Next() {
			var id int64
			var no string
			if err := rows.Scan(&id, &no); err != nil {
				rows.Close()
				return err
			}
			ids[no] = id
		}
		rows.Close()
		var args []any
		n := 0
		flush := func(tx *Tx) error {
			if n == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, `INSERT INTO workorder_events (order_id, at, action, public, doc) VALUES `+Placeholders(n, 5), args...)
			args, n = args[:0], 0
			return err
		}
		err = db.InTx(ctx, func(tx *Tx) error {
			for i, o := range chunk {
				o.ID = ids[o.TrackingNo]
				for _, ev := range events[start+i] {
					ev.OrderID = o.ID
					b, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					args = append(args, o.ID, Millis(ev.At), string(ev.Action), Bool(ev.Public), string(b))
					if n++; n == 1000 {
						if err := flush(tx); err != nil {
							return err
						}
					}
				}
			}
			return flush(tx)
		})
		if err != nil {
			return fmt.Errorf("import history events: %w", err)
		}
	}
	seqs := map[string]int64{}
	for _, o := range orders {
		if len(o.TrackingNo) > 8 {
			if v, err := strconv.ParseInt(o.TrackingNo[8:], 10, 64); err == nil {
				k := "tracking:" + o.TrackingNo[:8]
				seqs[k] = max(seqs[k], v)
			}
		}
	}
	return db.InTx(ctx, func(tx *Tx) error {
		for k, v := range seqs {
			if _, err := tx.Exec(ctx, `INSERT INTO workorder_sequences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET
				value = CASE WHEN workorder_sequences.value < excluded.value THEN excluded.value ELSE workorder_sequences.value END`, k, v); err != nil {
				return fmt.Errorf("import history sequences: %w", err)
			}
		}
		return nil
	})
}
