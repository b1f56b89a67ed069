package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/citybrain/citybrain/internal/telemetry"
)

// The telemetry tables (migration 0300): telemetry_raw, telemetry_chunks,
// telemetry_rollup_minute, telemetry_rollup_hour. The telemetry Service is the only writer.

var _ telemetry.Store = (*DB)(nil)

const (
	rawInsertRows    = 500 // rows per multi-row INSERT into telemetry_raw (4 values each)
	rollupInsertRows = 500 // rows per multi-row rollup block INSERT (4 values each)
	chunkInsertRows  = 200 // rows per multi-row chunk INSERT (6 values each)
	rawDeleteRows    = 500 // timestamps per DELETE of compacted raw points
	// aggFewDevices: up to this many devices an aggregate joins a VALUES list to the primary
	// key; beyond it, scanning the measurement is cheaper than binding thousands of values.
	aggFewDevices = 200
	hourMillis    = int64(3600_000)
)

// preparedSet prepares each statement (with ? placeholders) once per transaction.
type preparedSet struct {
	tx    *Tx
	stmts map[string]*sql.Stmt
}

func (p *preparedSet) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	st := p.stmts[q]
	if st == nil {
		var err error
		st, err = p.tx.Tx.PrepareContext(ctx, p.tx.db.Rebind(q))
		if err != nil {
			return nil, err
		}
		p.stmts[q] = st
	}
	return st, nil
}

func (p *preparedSet) exec(ctx context.Context, q string, args ...any) error {
	st, err := p.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

func (p *preparedSet) close() {
	for _, st := range p.stmts {
		st.Close()
	}
}

// insertRows runs "prefix VALUES (...),(...) suffix" for n rows of cols values, in batches of
// per rows; full batches reuse one prepared statement.
func insertRows(ctx context.Context, p *preparedSet, prefix, suffix string, cols, per, n int, row func(i int, args []any) []any) error {
	args := make([]any, 0, per*cols)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		q := prefix + " VALUES " + Placeholders(end-start, cols) + suffix
		if err := p.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// InsertRaw implements telemetry.Store: one transaction, multi-row VALUES, ON CONFLICT DO
// NOTHING for duplicates.
func (db *DB) InsertRaw(ctx context.Context, rs []telemetry.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		p := &preparedSet{tx: tx, stmts: map[string]*sql.Stmt{}}
		defer p.close()
		return insertRows(ctx, p, "INSERT INTO telemetry_raw (device_id, measurement, ts, value)", " ON CONFLICT DO NOTHING",
			4, rawInsertRows, len(rs), func(i int, a []any) []any {
				r := &rs[i]
				return append(a, r.DeviceID, r.Measurement, r.TS, r.Value)
			})
	})
	if err != nil {
		return fmt.Errorf("insert telemetry: %w", err)
	}
	return nil
}

// RawRange implements telemetry.Store.
func (db *DB) RawRange(ctx context.Context, key telemetry.SeriesKey, from, to int64) ([]telemetry.Point, error) {
	rows, err := db.Query(ctx, `SELECT ts, value FROM telemetry_raw WHERE device_id = ? AND measurement = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		key.DeviceID, key.Measurement, from, to)
	if err != nil {
		return nil, fmt.Errorf("telemetry raw range: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Point
	for rows.Next() {
		var p telemetry.Point
		if err := rows.Scan(&p.TS, &p.Value); err != nil {
			return nil, fmt.Errorf("telemetry raw range: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ChunkRange implements telemetry.Store. A chunk spans less than an hour, which bounds the
// primary-key range scanned.
func (db *DB) ChunkRange(ctx context.Context, key telemetry.SeriesKey, from, to int64) ([]telemetry.Chunk, error) {
	lo := from - hourMillis
	if lo > from { // overflow near MinInt64
		lo = from
	}
	rows, err := db.Query(ctx, `SELECT start_ts, end_ts, n_points, data FROM telemetry_chunks
		WHERE device_id = ? AND measurement = ? AND start_ts > ? AND start_ts < ? AND end_ts >= ? ORDER BY start_ts`,
		key.DeviceID, key.Measurement, lo, to, from)
	if err != nil {
		return nil, fmt.Errorf("telemetry chunk range: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Chunk
	for rows.Next() {
		c := telemetry.Chunk{DeviceID: key.DeviceID, Measurement: key.Measurement}
		if err := rows.Scan(&c.StartTS, &c.EndTS, &c.Count, &c.Data); err != nil {
			return nil, fmt.Errorf("telemetry chunk range: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RawSeries implements telemetry.Store.
func (db *DB) RawSeries(ctx context.Context, before int64, after telemetry.SeriesKey, limit int) ([]telemetry.SeriesKey, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT device_id, measurement FROM telemetry_raw
		WHERE (device_id, measurement) > (?, ?) AND ts < ? ORDER BY device_id, measurement LIMIT ?`,
		after.DeviceID, after.Measurement, before, limit)
	if err != nil {
		return nil, fmt.Errorf("telemetry raw series: %w", err)
	}
	defer rows.Close()
	var out []telemetry.SeriesKey
	for rows.Next() {
		var k telemetry.SeriesKey
		if err := rows.Scan(&k.DeviceID, &k.Measurement); err != nil {
			return nil, fmt.Errorf("telemetry raw series: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ApplyCompactions implements telemetry.Store in one transaction. Minute rollups of an hour
// are one block, replaced whole; hour rollups live in day blocks, so each day block touched
// is read, updated and written back once.
func (db *DB) ApplyCompactions(ctx context.Context, cs []telemetry.Compaction) error {
	if len(cs) == 0 {
		return nil
	}
	type dayKey struct {
		key telemetry.SeriesKey
		day int64
	}
	var days []dayKey
	hours := map[dayKey][]telemetry.Rollup{}
	// The latest compacted point per series (one row per series in a statement: an upsert
	// may not touch the same row twice).
	latestOf := map[telemetry.SeriesKey]int{}
	var latest []telemetry.Reading
	minuteBlocks := make([][]byte, len(cs))
	for i := range cs {
		c := &cs[i]
		b, err := telemetry.EncodeRollupBlock(telemetry.ResMinute, c.HourStart, c.Minutes)
		if err != nil {
			return fmt.Errorf("telemetry compaction: %w", err)
		}
		minuteBlocks[i] = b
		dk := dayKey{c.Key, c.HourStart - c.HourStart%telemetry.ResHour.BlockMillis()}
		if _, ok := hours[dk]; !ok {
			days = append(days, dk)
		}
		hours[dk] = append(hours[dk], c.Hour)
		r := telemetry.Reading{DeviceID: c.Key.DeviceID, Measurement: c.Key.Measurement, TS: c.Hour.LastTS, Value: c.Hour.Last}
		if i, ok := latestOf[c.Key]; !ok {
			latestOf[c.Key] = len(latest)
			latest = append(latest, r)
		} else if r.TS > latest[i].TS {
			latest[i] = r
		}
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		p := &preparedSet{tx: tx, stmts: map[string]*sql.Stmt{}}
		defer p.close()
		for i := range cs {
			c := &cs[i]
			if err := p.exec(ctx, `DELETE FROM telemetry_chunks WHERE device_id = ? AND measurement = ? AND start_ts >= ? AND start_ts < ?`,
				c.Key.DeviceID, c.Key.Measurement, c.HourStart, c.HourStart+hourMillis); err != nil {
				return err
			}
			for start := 0; start < len(c.RawTS); start += rawDeleteRows {
				part := c.RawTS[start:min(start+rawDeleteRows, len(c.RawTS))]
				args := make([]any, 0, 2+len(part))
				args = append(args, c.Key.DeviceID, c.Key.Measurement)
				for _, ts := range part {
					args = append(args, ts)
				}
				q := `DELETE FROM telemetry_raw WHERE device_id = ? AND measurement = ? AND ts IN (` + strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `)`
				if err := p.exec(ctx, q, args...); err != nil {
					return err
				}
			}
		}
		if err := insertRows(ctx, p, "INSERT INTO telemetry_chunks (device_id, measurement, start_ts, end_ts, n_points, data)", "",
			6, chunkInsertRows, len(cs), func(i int, a []any) []any {
				ch := &cs[i].Chunk
				return append(a, ch.DeviceID, ch.Measurement, ch.StartTS, ch.EndTS, ch.Count, ch.Data)
			}); err != nil {
			return err
		}
		const upsert = " ON CONFLICT (device_id, measurement, block_start) DO UPDATE SET data = excluded.data"
		if err := insertRows(ctx, p, "INSERT INTO telemetry_rollup_minute (device_id, measurement, block_start, data)", upsert,
			4, rollupInsertRows, len(cs), func(i int, a []any) []any {
				return append(a, cs[i].Key.DeviceID, cs[i].Key.Measurement, cs[i].HourStart, minuteBlocks[i])
			}); err != nil {
			return err
		}
		if err := insertRows(ctx, p, "INSERT INTO telemetry_latest (device_id, measurement, ts, value)",
			` ON CONFLICT (device_id, measurement) DO UPDATE SET ts = excluded.ts, value = excluded.value WHERE excluded.ts > telemetry_latest.ts`,
			4, rollupInsertRows, len(latest), func(i int, a []any) []any {
				return append(a, latest[i].DeviceID, latest[i].Measurement, latest[i].TS, latest[i].Value)
			}); err != nil {
			return err
		}
		sel, err := p.stmt(ctx, `SELECT data FROM telemetry_rollup_hour WHERE device_id = ? AND measurement = ? AND block_start = ?`)
		if err != nil {
			return err
		}
		dayBlocks := make([][]byte, len(days))
		for i, dk := range days {
			var old []byte
			if err := sel.QueryRowContext(ctx, dk.key.DeviceID, dk.key.Measurement, dk.day).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			b, err := telemetry.MergeRollupBlock(telemetry.ResHour, dk.day, old, hours[dk])
			if err != nil {
				// An unreadable block cannot be merged; the hours being compacted replace it.
				b, err = telemetry.EncodeRollupBlock(telemetry.ResHour, dk.day, hours[dk])
				if err != nil {
					return err
				}
			}
			dayBlocks[i] = b
		}
		return insertRows(ctx, p, "INSERT INTO telemetry_rollup_hour (device_id, measurement, block_start, data)", upsert,
			4, rollupInsertRows, len(days), func(i int, a []any) []any {
				return append(a, days[i].key.DeviceID, days[i].key.Measurement, days[i].day, dayBlocks[i])
			})
	})
	if err != nil {
		return fmt.Errorf("telemetry compaction: %w", err)
	}
	return nil
}

// memberships maps each device of the request to its groups (a device may be in several)
// and lists the devices (sorted when few).
func memberships(req telemetry.AggRequest) (map[string][]string, []string) {
	m := map[string][]string{}
	for g, devs := range req.Groups {
		for _, d := range devs {
			m[d] = append(m[d], g)
		}
	}
	devs := make([]string, 0, len(m))
	for d := range m {
		devs = append(devs, d)
	}
	if len(devs) <= aggFewDevices {
		sort.Strings(devs) // the VALUES list walks the primary key in order
	}
	return m, devs
}

// bucketAcc folds buckets per group: in a dense array per group when the range holds few
// buckets (the usual dashboard query), in a map otherwise.
type bucketAcc struct {
	first, step int64
	n           int64
	dense       map[string][]telemetry.Bucket
	sparse      map[bucketKey]*telemetry.Bucket
}

type bucketKey struct {
	group string
	ts    int64
}

const denseBuckets = 4096

func newBucketAcc(req telemetry.AggRequest) *bucketAcc {
	a := &bucketAcc{first: req.From - req.From%req.Step, step: req.Step}
	a.n = (req.To - a.first + req.Step - 1) / req.Step
	if a.n > 0 && a.n <= denseBuckets {
		a.dense = map[string][]telemetry.Bucket{}
	} else {
		a.sparse = map[bucketKey]*telemetry.Bucket{}
	}
	return a
}

func (a *bucketAcc) fold(groups []string, ts int64, o telemetry.Bucket) {
	for _, g := range groups {
		var b *telemetry.Bucket
		if i := (ts - a.first) / a.step; a.dense != nil && i >= 0 && i < a.n {
			s := a.dense[g]
			if s == nil {
				s = make([]telemetry.Bucket, a.n)
				a.dense[g] = s
			}
			b = &s[i]
		} else {
			if a.sparse == nil {
				a.sparse = map[bucketKey]*telemetry.Bucket{}
			}
			k := bucketKey{g, ts}
			if b = a.sparse[k]; b == nil {
				b = &telemetry.Bucket{}
				a.sparse[k] = b
			}
		}
		if b.Count == 0 {
			b.Group, b.TS = g, ts
		}
		b.Fold(o)
	}
}

func (a *bucketAcc) list() []telemetry.Bucket {
	var out []telemetry.Bucket
	for _, s := range a.dense {
		for _, b := range s {
			if b.Count > 0 {
				out = append(out, b)
			}
		}
	}
	for _, b := range a.sparse {
		out = append(out, *b)
	}
	return out
}

// valuesList returns "WITH g(device_id) AS (VALUES (?),(?)...) " for the devices.
func valuesList(devs []string, args []any) (string, []any) {
	var q strings.Builder
	q.WriteString("WITH g(device_id) AS (VALUES ")
	for i, d := range devs {
		if i == 0 {
			q.WriteString("(CAST(? AS TEXT))")
		} else {
			q.WriteString(",(?)")
		}
		args = append(args, d)
	}
	q.WriteString(") ")
	return q.String(), args
}

// AggregateRollups implements telemetry.Store: it reads the blocks overlapping the range,
// through the primary key for a few devices or the measurement index for many, and folds
// the slots in Go.
func (db *DB) AggregateRollups(ctx context.Context, res telemetry.Resolution, req telemetry.AggRequest) ([]telemetry.Bucket, error) {
	table := "telemetry_rollup_minute"
	if res == telemetry.ResHour {
		table = "telemetry_rollup_hour"
	}
	groupsOf, devs := memberships(req)
	if len(devs) == 0 || req.From >= req.To {
		return nil, nil
	}
	lo := req.From - req.From%res.BlockMillis()
	acc := newBucketAcc(req)
	visit := func(rows *sql.Rows) error {
		defer rows.Close()
		var dev string
		var start int64
		var data []byte
		for rows.Next() {
			if err := rows.Scan(&dev, &start, &data); err != nil {
				return err
			}
			groups := groupsOf[dev]
			if len(groups) == 0 {
				continue
			}
			err := telemetry.DecodeRollupBlock(res, start, data, func(r telemetry.Rollup) {
				if r.Bucket < req.From || r.Bucket >= req.To {
					return
				}
				acc.fold(groups, r.Bucket-r.Bucket%req.Step, telemetry.Bucket{Count: r.Count, Min: r.Min, Max: r.Max, Sum: r.Sum, Last: r.Last, LastTS: r.LastTS})
			})
			if err != nil {
				return fmt.Errorf("%s block of %s at %d: %w", table, dev, start, err)
			}
		}
		return rows.Err()
	}
	var rows *sql.Rows
	var err error
	if len(devs) > aggFewDevices {
		rows, err = db.Query(ctx, `SELECT device_id, block_start, data FROM `+table+` WHERE measurement = ? AND block_start >= ? AND block_start < ?`,
			req.Measurement, lo, req.To)
	} else {
		with, args := valuesList(devs, nil)
		args = append(args, req.Measurement, lo, req.To)
		rows, err = db.Query(ctx, with+`SELECT r.device_id, r.block_start, r.data FROM g JOIN `+table+` r
			ON r.device_id = g.device_id AND r.measurement = ? AND r.block_start >= ? AND r.block_start < ?`, args...)
	}
	if err == nil {
		err = visit(rows)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry rollups: %w", err)
	}
	return acc.list(), nil
}

// AggregateRaw implements telemetry.Store: SQL folds each device's raw points per bucket
// (through the primary key for a few devices, by scanning the measurement's recent points
// for many); Go folds devices into groups. "last" uses a window function, only when asked.
func (db *DB) AggregateRaw(ctx context.Context, req telemetry.AggRequest) ([]telemetry.Bucket, error) {
	groupsOf, devs := memberships(req)
	if len(devs) == 0 || req.From >= req.To {
		return nil, nil
	}
	var with string
	var args []any
	from := `telemetry_raw r WHERE r.measurement = ? AND r.ts >= ? AND r.ts < ?`
	if len(devs) <= aggFewDevices {
		with, args = valuesList(devs, nil)
		from = `g JOIN telemetry_raw r ON r.device_id = g.device_id AND r.measurement = ? AND r.ts >= ? AND r.ts < ?`
	}
	last := "0.0"
	args = append(args, req.Step)
	if req.NeedLast {
		last = "FIRST_VALUE(r.value) OVER (PARTITION BY r.device_id, r.ts - r.ts % ? ORDER BY r.ts DESC)"
		args = append(args, req.Step)
	}
	args = append(args, req.Measurement, req.From, req.To)
	q := with + `SELECT d, b, COUNT(*), MIN(v), MAX(v), SUM(v), MAX(ts), MAX(lv) FROM (
		SELECT r.device_id AS d, r.ts - r.ts % ? AS b, r.value AS v, r.ts AS ts, ` + last + ` AS lv FROM ` + from + `
	) t GROUP BY d, b`
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry raw aggregate: %w", err)
	}
	defer rows.Close()
	acc := newBucketAcc(req)
	for rows.Next() {
		var dev string
		var b telemetry.Bucket
		if err := rows.Scan(&dev, &b.TS, &b.Count, &b.Min, &b.Max, &b.Sum, &b.LastTS, &b.Last); err != nil {
			return nil, fmt.Errorf("telemetry raw aggregate: %w", err)
		}
		acc.fold(groupsOf[dev], b.TS, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("telemetry raw aggregate: %w", err)
	}
	return acc.list(), nil
}

// DeleteBefore implements telemetry.Store.
func (db *DB) DeleteBefore(ctx context.Context, c telemetry.Cutoffs) error {
	err := db.InTx(ctx, func(tx *Tx) error {
		for _, s := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM telemetry_raw WHERE ts < ?`, []any{c.Raw}},
			// start_ts (indexed) bounds end_ts, a chunk lying within one hour.
			{`DELETE FROM telemetry_chunks WHERE start_ts < ? AND end_ts < ?`, []any{c.Raw, c.Raw}},
			// A block goes when all of it is older than the cutoff.
			{`DELETE FROM telemetry_rollup_minute WHERE block_start <= ?`, []any{c.Minute - telemetry.ResMinute.BlockMillis()}},
			{`DELETE FROM telemetry_rollup_hour WHERE block_start <= ?`, []any{c.Hour - telemetry.ResHour.BlockMillis()}},
		} {
			if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("telemetry retention: %w", err)
	}
	return nil
}

// LatestRaw implements telemetry.Store.
func (db *DB) LatestRaw(ctx context.Context) ([]telemetry.Reading, error) {
	// SQLite returns the bare column of the row holding the single MAX(); PostgreSQL has DISTINCT ON.
	q := `SELECT device_id, measurement, MAX(ts), value FROM telemetry_raw GROUP BY device_id, measurement`
	if db.Dialect == Postgres {
		q = `SELECT DISTINCT ON (device_id, measurement) device_id, measurement, ts, value FROM telemetry_raw ORDER BY device_id, measurement, ts DESC`
	}
	rows, err := db.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("telemetry latest: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Reading
	for rows.Next() {
		var r telemetry.Reading
		if err := rows.Scan(&r.DeviceID, &r.Measurement, &r.TS, &r.Value); err != nil {
			return nil, fmt.Errorf("telemetry latest: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LatestCompacted implements telemetry.Store from telemetry_latest, which
// ApplyCompactions keeps (one row per series).
func (db *DB) LatestCompacted(ctx context.Context) ([]telemetry.Reading, error) {
	rows, err := db.Query(ctx, `SELECT device_id, measurement, ts, value FROM telemetry_latest`)
	if err != nil {
		return nil, fmt.Errorf("telemetry latest compacted: %w", err)
	}
	defer rows.Close()
	var out []telemetry.Reading
	for rows.Next() {
		var r telemetry.Reading
		if err := rows.Scan(&r.DeviceID, &r.Measurement, &r.TS, &r.Value); err != nil {
			return nil, fmt.Errorf("telemetry latest compacted: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
