package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/workorder"
)

var _ workorder.Repository = (*DB)(nil)

const workorderCols = `id, token_hash, next_due, version, doc`

func scanWorkorder(sc interface{ Scan(...any) error }) (*workorder.Order, error) {
	var id, nextDue, version int64
	var tokenHash, doc string
	if err := sc.Scan(&id, &tokenHash, &nextDue, &version, &doc); err != nil {
		return nil, err
	}
	var o workorder.Order
	if err := json.Unmarshal([]byte(doc), &o); err != nil {
		return nil, fmt.Errorf("decode work order %d: %w", id, err)
	}
	o.ID, o.TokenHash, o.NextDue, o.Version = id, tokenHash, Time(nextDue), version
	return &o, nil
}

type execer interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

func insertWorkorderEvents(ctx context.Context, tx execer, orderID int64, evs []*workorder.Event) error {
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		ev.OrderID = orderID
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO workorder_events (order_id, at, action, public, doc) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			orderID, Millis(ev.At), string(ev.Action), Bool(ev.Public), string(b)).Scan(&ev.ID); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
	}
	return nil
}

func replaceWorkorderReporters(ctx context.Context, tx execer, o *workorder.Order, fresh bool) error {
	if !fresh {
		if _, err := tx.Exec(ctx, `DELETE FROM workorder_reporters WHERE order_id=?`, o.ID); err != nil {
			return fmt.Errorf("reporters: %w", err)
		}
	}
	seen := map[int64]bool{}
	for _, r := range o.Reporters {
		if r.UserID == 0 || seen[r.UserID] {
			continue
		}
		seen[r.UserID] = true
		if _, err := tx.Exec(ctx, `INSERT INTO workorder_reporters (order_id, user_id) VALUES (?, ?)`, o.ID, r.UserID); err != nil {
			return fmt.Errorf("reporters: %w", err)
		}
	}
	return nil
}

func firstMedia(o *workorder.Order) string {
	if len(o.Media) > 0 {
		return o.Media[0]
	}
	return ""
}

// workorderRow returns the values of an INSERT in column order (31 columns).
func workorderRow(o *workorder.Order, doc string) []any {
	return []any{o.TrackingNo, o.TokenHash, o.Source, o.Category, o.Subcategory, string(o.Priority), string(o.State), Bool(o.Open()),
		o.LeadDept, o.Street, o.Community, o.Grid, Bool(o.HasLocation), o.Lon, o.Lat, Millis(o.CreatedAt), Millis(o.UpdatedAt),
		Millis(o.Deadline), Millis(o.RespondedAt), Millis(o.NextDue), o.DuplicateOf, o.Resolution, o.Description, o.StatusNotes,
		o.Address, o.AddressID, o.Zipcode, firstMedia(o), Millis(o.ClosedAt), o.Version, doc}
}

// CreateOrder implements workorder.Repository.
func (db *DB) CreateOrder(ctx context.Context, o *workorder.Order, evs ...*workorder.Event) error {
	o.Version = 1
	doc, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode work order: %w", err)
	}
	return db.InTx(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO workorders (tracking_no, token_hash, source, category, subcategory, priority, state, is_open,
			lead_dept, street, community, grid, has_location, lon, lat, created_at, updated_at, deadline, responded_at, next_due,
			duplicate_of, resolution, description, status_notes, address, address_id, zipcode, media_url, closed_at, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			workorderRow(o, string(doc))...).Scan(&o.ID)
		if IsUniqueViolation(err) {
			return citybrain.Errorf(citybrain.ECONFLICT, "工单号 %s 已存在 / tracking number %s exists", o.TrackingNo, o.TrackingNo)
		}
		if err != nil {
			return fmt.Errorf("insert work order: %w", err)
		}
		if err := replaceWorkorderReporters(ctx, tx, o, true); err != nil {
			return err
		}
		return insertWorkorderEvents(ctx, tx, o.ID, evs)
	})
}

// UpdateOrder implements workorder.Repository with an optimistic version check.
func (db *DB) UpdateOrder(ctx context.Context, o *workorder.Order, evs ...*workorder.Event) error {
	next := *o
	next.Version = o.Version + 1
	doc, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("encode work order: %w", err)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE workorders SET category=?, subcategory=?, priority=?, state=?, is_open=?, lead_dept=?, street=?,
			community=?, grid=?, has_location=?, lon=?, lat=?, updated_at=?, deadline=?, responded_at=?, next_due=?, duplicate_of=?,
			resolution=?, description=?, status_notes=?, address=?, address_id=?, zipcode=?, media_url=?, closed_at=?,
			version=?, doc=? WHERE id=? AND version=?`,
			o.Category, o.Subcategory, string(o.Priority), string(o.State), Bool(o.Open()), o.LeadDept, o.Street, o.Community, o.Grid,
			Bool(o.HasLocation), o.Lon, o.Lat, Millis(o.UpdatedAt), Millis(o.Deadline), Millis(o.RespondedAt), Millis(o.NextDue),
			o.DuplicateOf, o.Resolution, o.Description, o.StatusNotes, o.Address, o.AddressID, o.Zipcode, firstMedia(o),
			Millis(o.ClosedAt), next.Version, string(doc), o.ID, o.Version)
		if err != nil {
			return fmt.Errorf("update work order: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var v int64
			err := tx.QueryRow(ctx, `SELECT version FROM workorders WHERE id=?`, o.ID).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 / work order %d not found", o.ID)
			}
			if err != nil {
				return err
			}
			return citybrain.Errorf(citybrain.ECONFLICT, "工单已被他人修改 / work order %d was changed concurrently", o.ID)
		}
		if err := replaceWorkorderReporters(ctx, tx, o, false); err != nil {
			return err
		}
		return insertWorkorderEvents(ctx, tx, o.ID, evs)
	})
	if err != nil {
		return err
	}
	o.Version = next.Version
	return nil
}

// GetOrder implements workorder.Repository.
func (db *DB) GetOrder(ctx context.Context, id int64) (*workorder.Order, error) {
	o, err := scanWorkorder(db.QueryRow(ctx, `SELECT `+workorderCols+` FROM workorders WHERE id=?`, id))
	return o, notFoundWO(err, id)
}

func notFoundWO(err error, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return citybrain.Errorf(citybrain.ENOTFOUND, "工单不存在 / work order %v not found", id)
	}
	return err
}

// GetOrderByTrackingNo implements workorder.Repository.
func (db *DB) GetOrderByTrackingNo(ctx context.Context, no string) (*workorder.Order, error) {
	o, err := scanWorkorder(db.QueryRow(ctx, `SELECT `+workorderCols+` FROM workorders WHERE tracking_no=?`, no))
	return o, notFoundWO(err, no)
}

// GetOrderByTokenHash implements workorder.Repository.
func (db *DB) GetOrderByTokenHash(ctx context.Context, hash string) (*workorder.Order, error) {
	o, err := scanWorkorder(db.QueryRow(ctx, `SELECT `+workorderCols+` FROM workorders WHERE token_hash=?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "令牌无效 / token not found")
	}
	return o, err
}

// Events implements workorder.Repository.
func (db *DB) Events(ctx context.Context, orderID int64) ([]workorder.Event, error) {
	var one int
	if err := db.QueryRow(ctx, `SELECT 1 FROM workorders WHERE id=?`, orderID).Scan(&one); err != nil {
		return nil, notFoundWO(err, orderID)
	}
	rows, err := db.Query(ctx, `SELECT id, doc FROM workorder_events WHERE order_id=? ORDER BY id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []workorder.Event
	for rows.Next() {
		var id int64
		var doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		var ev workorder.Event
		if err := json.Unmarshal([]byte(doc), &ev); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", id, err)
		}
		ev.ID, ev.OrderID = id, orderID
		out = append(out, ev)
	}
	return out, rows.Err()
}

// workorderWhere builds the WHERE clause of a filter (without pagination).
func workorderWhere(f workorder.Filter) (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		conds = append(conds, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(f.IDs) > 0 || len(f.TrackingNos) > 0 {
		var parts []string
		if len(f.IDs) > 0 {
			parts = append(parts, "id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.IDs)), ",")+")")
			for _, v := range f.IDs {
				args = append(args, v)
			}
		}
		if len(f.TrackingNos) > 0 {
			parts = append(parts, "tracking_no IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.TrackingNos)), ",")+")")
			for _, v := range f.TrackingNos {
				args = append(args, v)
			}
		}
		return " WHERE (" + strings.Join(parts, " OR ") + ")", args
	}
	switch {
	case len(f.Categories) > 0 && len(f.Subcategories) > 0:
		c := "(category IN (" + strings.TrimSuffix(strings.Repeat("?,", len(f.Categories)), ",") + ") OR subcategory IN (" +
			strings.TrimSuffix(strings.Repeat("?,", len(f.Subcategories)), ",") + "))"
		conds = append(conds, c)
		for _, v := range f.Categories {
			args = append(args, v)
		}
		for _, v := range f.Subcategories {
			args = append(args, v)
		}
	case len(f.Categories) > 0:
		in("category", f.Categories)
	case len(f.Subcategories) > 0:
		in("subcategory", f.Subcategories)
	}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		in("state", s)
	}
	if f.Open != nil {
		conds = append(conds, "is_open=?")
		args = append(args, Bool(*f.Open))
	}
	if !f.From.IsZero() {
		conds = append(conds, "created_at>=?")
		args = append(args, Millis(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "created_at<?")
		args = append(args, Millis(f.To))
	}
	if f.Area != "" {
		conds = append(conds, "(grid=? OR community=? OR street=?)")
		args = append(args, f.Area, f.Area, f.Area)
	}
	if !f.ClosedFrom.IsZero() {
		conds = append(conds, "closed_at>=?")
		args = append(args, Millis(f.ClosedFrom))
	}
	if !f.ClosedTo.IsZero() {
		conds = append(conds, "closed_at>0 AND closed_at<?")
		args = append(args, Millis(f.ClosedTo))
	}
	if len(f.Priorities) > 0 {
		p := make([]string, len(f.Priorities))
		for i, x := range f.Priorities {
			p[i] = string(x)
		}
		in("priority", p)
	}
	for _, c := range []struct{ col, v string }{{"lead_dept", f.LeadDept}, {"street", f.Street}, {"community", f.Community}, {"grid", f.Grid}, {"source", f.Source}} {
		if c.v != "" {
			conds = append(conds, c.col+"=?")
			args = append(args, c.v)
		}
	}
	if f.Overdue {
		conds = append(conds, "is_open=1 AND responded_at=0 AND deadline>0 AND deadline<?")
		args = append(args, Millis(f.Now))
	}
	if f.ReporterID != 0 {
		conds = append(conds, "id IN (SELECT order_id FROM workorder_reporters WHERE user_id=?)")
		args = append(args, f.ReporterID)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// andWhere adds a condition to a WHERE clause built by workorderWhere.
func andWhere(where, cond string) string {
	if where == "" {
		return " WHERE " + cond
	}
	return where + " AND " + cond
}

// pageQuery returns the query selecting the ids of one page of f, newest first. The page
// is chosen on the indexes alone (ids only, usually a covering index) so the documents of
// skipped or filtered rows are never read. Several service codes become one ordered,
// limited branch per code merged with UNION: each branch walks its own category index in
// order, where a single IN over the codes would make the planner walk the date index and
// test every row's category.
func (db *DB) pageQuery(f workorder.Filter) (string, []any) {
	type code struct{ col, v string }
	var codes []code
	seen := map[code]bool{}
	for _, c := range f.Categories {
		if k := (code{"category", c}); !seen[k] {
			seen[k] = true
			codes = append(codes, k)
		}
	}
	for _, c := range f.Subcategories {
		if k := (code{"subcategory", c}); !seen[k] {
			seen[k] = true
			codes = append(codes, k)
		}
	}
	cursor := func(where string, args []any) (string, []any) {
		if f.AfterCreated.IsZero() && f.AfterID == 0 {
			return where, args
		}
		return andWhere(where, "(created_at<? OR (created_at=? AND id<?))"), append(args, Millis(f.AfterCreated), Millis(f.AfterCreated), f.AfterID)
	}
	limitOffset := func(q string, args []any) (string, []any) {
		switch {
		case f.Limit > 0:
			q += ` LIMIT ?`
			args = append(args, f.Limit)
		case f.Offset > 0 && db.Dialect == Postgres:
			q += ` LIMIT ALL`
		case f.Offset > 0:
			q += ` LIMIT -1`
		}
		if f.Offset > 0 {
			q += ` OFFSET ?`
			args = append(args, f.Offset)
		}
		return q, args
	}
	if len(codes) > 1 && f.Limit > 0 && len(f.IDs) == 0 && len(f.TrackingNos) == 0 {
		rest := f
		rest.Categories, rest.Subcategories = nil, nil
		where, wargs := cursor(workorderWhere(rest))
		var branches []string
		var args []any
		for i, c := range codes {
			branches = append(branches, fmt.Sprintf(`SELECT id, created_at FROM (SELECT id, created_at FROM workorders%s ORDER BY created_at DESC, id DESC LIMIT ?) AS b%d`,
				andWhere(where, c.col+"=?"), i))
			args = append(append(args, wargs...), c.v, f.Limit+f.Offset)
		}
		return limitOffset(`SELECT id FROM (`+strings.Join(branches, ` UNION `)+`) AS u ORDER BY created_at DESC, id DESC`, args)
	}
	where, args := cursor(workorderWhere(f))
	return limitOffset(`SELECT id FROM workorders`+where+` ORDER BY created_at DESC, id DESC`, args)
}

// ListOrders implements workorder.Repository: newest first, keyset (AfterCreated, AfterID)
// or Offset pagination.
func (db *DB) ListOrders(ctx context.Context, f workorder.Filter) ([]*workorder.Order, error) {
	inner, args := db.pageQuery(f)
	q := `SELECT ` + workorderCols + ` FROM workorders WHERE id IN (` + inner + `) ORDER BY created_at DESC, id DESC`
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list work orders: %w", err)
	}
	defer rows.Close()
	var out []*workorder.Order
	for rows.Next() {
		o, err := scanWorkorder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

const workorderPublicCols = `id, tracking_no, category, subcategory, state, resolution, duplicate_of, description, status_notes,
	address, address_id, zipcode, media_url, has_location, lon, lat, lead_dept, street, created_at, updated_at, deadline, responded_at`

// ListPublic implements workorder.Repository from columns, without reading documents.
func (db *DB) ListPublic(ctx context.Context, f workorder.Filter) ([]*workorder.Order, error) {
	inner, args := db.pageQuery(f)
	rows, err := db.Query(ctx, `SELECT `+workorderPublicCols+` FROM workorders WHERE id IN (`+inner+`) ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list work orders: %w", err)
	}
	defer rows.Close()
	var out []*workorder.Order
	for rows.Next() {
		var o workorder.Order
		var state, media string
		var hasLoc int
		var created, updated, deadline, responded int64
		if err := rows.Scan(&o.ID, &o.TrackingNo, &o.Category, &o.Subcategory, &state, &o.Resolution, &o.DuplicateOf, &o.Description,
			&o.StatusNotes, &o.Address, &o.AddressID, &o.Zipcode, &media, &hasLoc, &o.Lon, &o.Lat, &o.LeadDept, &o.Street,
			&created, &updated, &deadline, &responded); err != nil {
			return nil, err
		}
		o.State, o.HasLocation = workorder.State(state), hasLoc != 0
		o.CreatedAt, o.UpdatedAt, o.Deadline, o.RespondedAt = Time(created), Time(updated), Time(deadline), Time(responded)
		if media != "" {
			o.Media = []string{media}
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// CountOrders implements workorder.Repository.
func (db *DB) CountOrders(ctx context.Context, f workorder.Filter) (int, error) {
	where, args := workorderWhere(f)
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM workorders`+where, args...).Scan(&n)
	return n, err
}

// PublicUpdates implements workorder.Repository.
func (db *DB) PublicUpdates(ctx context.Context, from, to time.Time, limit int) ([]workorder.Update, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.Query(ctx, `SELECT e.id, e.order_id, w.tracking_no, e.doc FROM workorder_events e JOIN workorders w ON w.id=e.order_id
		WHERE e.public=1 AND e.at>=? AND e.at<? ORDER BY e.at, e.id LIMIT ?`, Millis(from), Millis(to), limit)
	if err != nil {
		return nil, fmt.Errorf("public updates: %w", err)
	}
	defer rows.Close()
	var out []workorder.Update
	for rows.Next() {
		var u workorder.Update
		var doc string
		var id, orderID int64
		if err := rows.Scan(&id, &orderID, &u.TrackingNo, &doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &u.Event); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", id, err)
		}
		u.ID, u.OrderID = id, orderID
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountBy implements workorder.Repository.
func (db *DB) CountBy(ctx context.Context, f workorder.Filter, by workorder.GroupBy) (map[string]int, error) {
	if !by.Valid() {
		return nil, citybrain.FieldError("by", "cannot count by %q", by)
	}
	where, args := workorderWhere(f)
	col := string(by) // a whitelisted column name
	rows, err := db.Query(ctx, `SELECT `+col+`, COUNT(*) FROM workorders`+where+` GROUP BY `+col, args...)
	if err != nil {
		return nil, fmt.Errorf("count work orders: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// DueOrders implements workorder.Repository.
func (db *DB) DueOrders(ctx context.Context, t time.Time, limit int) ([]*workorder.Order, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.Query(ctx, `SELECT `+workorderCols+` FROM workorders WHERE is_open=1 AND next_due>0 AND next_due<=? ORDER BY next_due, id LIMIT ?`, Millis(t), limit)
	if err != nil {
		return nil, fmt.Errorf("due work orders: %w", err)
	}
	defer rows.Close()
	var out []*workorder.Order
	for rows.Next() {
		o, err := scanWorkorder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// NearbyOpen implements workorder.Repository.
func (db *DB) NearbyOpen(ctx context.Context, category string, minLon, minLat, maxLon, maxLat float64, since time.Time) ([]*workorder.Order, error) {
	rows, err := db.Query(ctx, `SELECT `+workorderCols+` FROM workorders WHERE category=? AND is_open=1 AND has_location=1
		AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND created_at>=? ORDER BY id LIMIT 200`,
		category, minLat, maxLat, minLon, maxLon, Millis(since))
	if err != nil {
		return nil, fmt.Errorf("nearby work orders: %w", err)
	}
	defer rows.Close()
	var out []*workorder.Order
	for rows.Next() {
		o, err := scanWorkorder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// NextSequence implements workorder.Repository.
func (db *DB) NextSequence(ctx context.Context, name string) (int64, error) {
	var v int64
	err := db.QueryRow(ctx, `INSERT INTO workorder_sequences (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = workorder_sequences.value + 1 RETURNING value`, name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sequence %s: %w", name, err)
	}
	return v, nil
}

// GetConfig implements workorder.Repository.
func (db *DB) GetConfig(ctx context.Context, key string) ([]byte, error) {
	var doc string
	err := db.QueryRow(ctx, `SELECT doc FROM workorder_config WHERE key=?`, key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "config %s not set", key)
	}
	return []byte(doc), err
}

// PutConfig implements workorder.Repository.
func (db *DB) PutConfig(ctx context.Context, key string, doc []byte) error {
	_, err := db.Exec(ctx, `INSERT INTO workorder_config (key, doc, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET doc=excluded.doc, updated_at=excluded.updated_at`, key, string(doc), time.Now().UnixMilli())
	return err
}

// AddTrainingExample implements workorder.Repository.
func (db *DB) AddTrainingExample(ctx context.Context, ex *workorder.TrainingExample) error {
	b, err := json.Marshal(ex)
	if err != nil {
		return err
	}
	return db.QueryRow(ctx, `INSERT INTO workorder_training (order_id, at, doc) VALUES (?, ?, ?) RETURNING id`,
		ex.OrderID, Millis(ex.At), string(b)).Scan(&ex.ID)
}

// TrainingExamples implements workorder.Repository: the latest limit examples, oldest first.
func (db *DB) TrainingExamples(ctx context.Context, limit int) ([]workorder.TrainingExample, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.Query(ctx, `SELECT id, doc FROM workorder_training ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []workorder.TrainingExample
	for rows.Next() {
		var id int64
		var doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		var ex workorder.TrainingExample
		if err := json.Unmarshal([]byte(doc), &ex); err != nil {
			return nil, fmt.Errorf("decode training example %d: %w", id, err)
		}
		ex.ID = id
		out = append([]workorder.TrainingExample{ex}, out...)
	}
	return out, rows.Err()
}

// BulkInsertOrders stores many orders in batches without events (benchmarks and imports).
// Each order needs TrackingNo and TokenHash set; IDs are assigned.
func (db *DB) BulkInsertOrders(ctx context.Context, orders []*workorder.Order) error {
	const cols = 31
	const batch = 1000
	for start := 0; start < len(orders); start += batch {
		end := min(start+batch, len(orders))
		chunk := orders[start:end]
		err := db.InTx(ctx, func(tx *Tx) error {
			args := make([]any, 0, len(chunk)*cols)
			for _, o := range chunk {
				o.Version = 1
				doc, err := json.Marshal(o)
				if err != nil {
					return err
				}
				args = append(args, workorderRow(o, string(doc))...)
			}
			_, err := tx.Exec(ctx, `INSERT INTO workorders (tracking_no, token_hash, source, category, subcategory, priority, state, is_open,
				lead_dept, street, community, grid, has_location, lon, lat, created_at, updated_at, deadline, responded_at, next_due,
				duplicate_of, resolution, description, status_notes, address, address_id, zipcode, media_url, closed_at, version, doc)
				VALUES `+Placeholders(len(chunk), cols), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("bulk insert work orders: %w", err)
		}
	}
	return nil
}

var _ workorder.MediaRepository = (*DB)(nil)

// PutMedia implements workorder.MediaRepository.
func (db *DB) PutMedia(ctx context.Context, m *workorder.Media) error {
	_, err := db.Exec(ctx, `INSERT INTO workorder_media (id, content_type, size, sha256, uploaded_by, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ContentType, m.Size, m.SHA256, m.UploadedBy, Millis(m.CreatedAt), m.Data)
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "media %s exists", m.ID)
	}
	return err
}

// GetMedia implements workorder.MediaRepository.
func (db *DB) GetMedia(ctx context.Context, id string) (*workorder.Media, error) {
	var m workorder.Media
	var created int64
	err := db.QueryRow(ctx, `SELECT id, content_type, size, sha256, uploaded_by, created_at, data FROM workorder_media WHERE id=?`, id).
		Scan(&m.ID, &m.ContentType, &m.Size, &m.SHA256, &m.UploadedBy, &created, &m.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "照片不存在 / photo %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = Time(created)
	return &m, nil
}
