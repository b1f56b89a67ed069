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
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
)

var (
	_ rule.Repository              = (*DB)(nil)
	_ alert.Repository             = (*DB)(nil)
	_ alert.SubscriptionRepository = (*DB)(nil)
)

// ---- rules

// CreateRule implements rule.Repository.
func (db *DB) CreateRule(ctx context.Context, r rule.Rule) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("create rule: %w", err)
	}
	_, err = db.Exec(ctx, `INSERT INTO rules (id, name, profile, kind, severity, enabled, created_at, updated_at, doc) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.ID, r.Name, r.Profile, string(r.Kind), string(r.Severity), Bool(r.Enabled), Millis(r.CreatedAt), Millis(r.UpdatedAt), string(doc))
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "规则 %q 已存在 / rule %q exists", r.ID, r.ID)
	}
	if err != nil {
		return fmt.Errorf("create rule: %w", err)
	}
	return nil
}

// UpdateRule implements rule.Repository.
func (db *DB) UpdateRule(ctx context.Context, r rule.Rule) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("update rule: %w", err)
	}
	res, err := db.Exec(ctx, `UPDATE rules SET name = ?, profile = ?, kind = ?, severity = ?, enabled = ?, updated_at = ?, doc = ? WHERE id = ?`,
		r.Name, r.Profile, string(r.Kind), string(r.Severity), Bool(r.Enabled), Millis(r.UpdatedAt), string(doc), r.ID)
	if err != nil {
		return fmt.Errorf("update rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ruleNotFound(r.ID)
	}
	return nil
}

func ruleNotFound(id string) error {
	return citybrain.Errorf(citybrain.ENOTFOUND, "规则 %q 不存在 / rule %q not found", id, id)
}

// DeleteRule implements rule.Repository.
func (db *DB) DeleteRule(ctx context.Context, id string) error {
	res, err := db.Exec(ctx, `DELETE FROM rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ruleNotFound(id)
	}
	return nil
}

// GetRule implements rule.Repository.
func (db *DB) GetRule(ctx context.Context, id string) (rule.Rule, error) {
	var doc string
	if err := db.QueryRow(ctx, `SELECT doc FROM rules WHERE id = ?`, id).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return rule.Rule{}, ruleNotFound(id)
		}
		return rule.Rule{}, fmt.Errorf("get rule: %w", err)
	}
	var r rule.Rule
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return rule.Rule{}, fmt.Errorf("get rule %s: %w", id, err)
	}
	return r, nil
}

// ListRules implements rule.Repository.
func (db *DB) ListRules(ctx context.Context) ([]rule.Rule, error) {
	rows, err := db.Query(ctx, `SELECT doc FROM rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	var out []rule.Rule
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		var r rule.Rule
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveRuleState implements rule.Repository.
func (db *DB) SaveRuleState(ctx context.Context, state []byte, at time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO rule_state (id, saved_at, state) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state`, Millis(at), state)
	if err != nil {
		return fmt.Errorf("save rule state: %w", err)
	}
	return nil
}

// LoadRuleState implements rule.Repository.
func (db *DB) LoadRuleState(ctx context.Context) ([]byte, error) {
	var b []byte
	err := db.QueryRow(ctx, `SELECT state FROM rule_state WHERE id = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load rule state: %w", err)
	}
	return b, nil
}

// ---- alerts

const alertCols = `id, rule_id, rule_name, kind, entity, device_id, profile, area, severity, level, status, summary, value, readings,
	count, starts_at, fired_at, acked_at, acked_by, resolved_at, resolved_by, escalated_at, updated_at,
	open_work_order, work_order_category, work_order_error`

func scanAlert(sc interface{ Scan(...any) error }) (*alert.Alert, error) {
	var a alert.Alert
	var readings, severity, status string
	var starts, fired, acked, resolved, escalated, updated int64
	var owo int
	err := sc.Scan(&a.ID, &a.RuleID, &a.RuleName, &a.Kind, &a.Entity, &a.DeviceID, &a.Profile, &a.Area, &severity, &a.Level, &status,
		&a.Summary, &a.Value, &readings, &a.Count, &starts, &fired, &acked, &a.AckedBy, &resolved, &a.ResolvedBy, &escalated, &updated,
		&owo, &a.WorkOrderCategory, &a.WorkOrderError)
	if err != nil {
		return nil, err
	}
	a.Severity, a.Status = rule.Severity(severity), alert.Status(status)
	a.StartsAt, a.FiredAt, a.AckedAt, a.ResolvedAt, a.EscalatedAt, a.UpdatedAt = Time(starts), Time(fired), Time(acked), Time(resolved), Time(escalated), Time(updated)
	a.OpenWorkOrder = owo != 0
	if readings != "" && readings != "[]" {
		if err := json.Unmarshal([]byte(readings), &a.Readings); err != nil {
			return nil, fmt.Errorf("alert %d readings: %w", a.ID, err)
		}
	}
	return &a, nil
}

func readingsJSON(rs []rule.Reading) string {
	if len(rs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(rs)
	return string(b)
}

func insertTransition(ctx context.Context, tx *Tx, id int64, t alert.Transition) error {
	_, err := tx.Exec(ctx, `INSERT INTO alert_history (alert_id, at, from_status, to_status, level, actor, note) VALUES (?,?,?,?,?,?,?)`,
		id, Millis(t.At), string(t.From), string(t.To), t.Level, t.Actor, t.Note)
	return err
}

// CreateAlert implements alert.Repository. A second open alert for the same (rule,
// entity) is refused with ECONFLICT by the database.
func (db *DB) CreateAlert(ctx context.Context, a *alert.Alert, t alert.Transition) error {
	err := db.InTx(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO alerts (rule_id, rule_name, kind, entity, device_id, profile, area, severity, level, status, summary, value, readings,
			count, starts_at, fired_at, acked_at, acked_by, resolved_at, resolved_by, escalated_at, updated_at, open_work_order, work_order_category, work_order_error)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			a.RuleID, a.RuleName, a.Kind, a.Entity, a.DeviceID, a.Profile, a.Area, string(a.Severity), a.Level, string(a.Status), a.Summary, a.Value, readingsJSON(a.Readings),
			a.Count, Millis(a.StartsAt), Millis(a.FiredAt), Millis(a.AckedAt), a.AckedBy, Millis(a.ResolvedAt), a.ResolvedBy, Millis(a.EscalatedAt), Millis(a.UpdatedAt),
			Bool(a.OpenWorkOrder), a.WorkOrderCategory, a.WorkOrderError).Scan(&a.ID)
		if err != nil {
			return err
		}
		return insertTransition(ctx, tx, a.ID, t)
	})
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "该规则和设备已有未解除的告警 / an open alert exists for this rule and entity")
	}
	if err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	return nil
}

// UpdateAlert implements alert.Repository.
func (db *DB) UpdateAlert(ctx context.Context, a *alert.Alert, ts ...alert.Transition) error {
	err := db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE alerts SET rule_name = ?, severity = ?, level = ?, status = ?, summary = ?, value = ?, readings = ?, count = ?,
			fired_at = ?, acked_at = ?, acked_by = ?, resolved_at = ?, resolved_by = ?, escalated_at = ?, updated_at = ?, work_order_error = ? WHERE id = ?`,
			a.RuleName, string(a.Severity), a.Level, string(a.Status), a.Summary, a.Value, readingsJSON(a.Readings), a.Count,
			Millis(a.FiredAt), Millis(a.AckedAt), a.AckedBy, Millis(a.ResolvedAt), a.ResolvedBy, Millis(a.EscalatedAt), Millis(a.UpdatedAt), a.WorkOrderError, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return alert.ErrNotFound()
		}
		for _, t := range ts {
			if err := insertTransition(ctx, tx, a.ID, t); err != nil {
				return err
			}
		}
		return nil
	})
	if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		return err
	}
	if err != nil {
		return fmt.Errorf("update alert: %w", err)
	}
	return nil
}

// GetAlert implements alert.Repository.
func (db *DB) GetAlert(ctx context.Context, id int64) (*alert.Alert, error) {
	a, err := scanAlert(db.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, alert.ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get alert: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT at, from_status, to_status, level, actor, note FROM alert_history WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t := alert.Transition{AlertID: id}
		var at int64
		var from, to string
		if err := rows.Scan(&at, &from, &to, &t.Level, &t.Actor, &t.Note); err != nil {
			return nil, fmt.Errorf("alert history: %w", err)
		}
		t.At, t.From, t.To = Time(at), alert.Status(from), alert.Status(to)
		a.History = append(a.History, t)
	}
	return a, rows.Err()
}

// FindOpenAlert implements alert.Repository.
func (db *DB) FindOpenAlert(ctx context.Context, ruleID, entity string) (*alert.Alert, error) {
	a, err := scanAlert(db.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE rule_id = ? AND entity = ? AND status <> 'resolved'`, ruleID, entity))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find open alert: %w", err)
	}
	return a, nil
}

// ListAlerts implements alert.Repository.
func (db *DB) ListAlerts(ctx context.Context, f alert.Filter) ([]*alert.Alert, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Status)), ",")+")")
		for _, s := range f.Status {
			args = append(args, string(s))
		}
	}
	if f.Area != "" {
		where = append(where, "area LIKE ? ESCAPE '\\'")
		args = append(args, alertAreaPrefix(f.Area))
	}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Severity != "" {
		add("severity = ?", string(f.Severity))
	}
	if f.RuleID != "" {
		add("rule_id = ?", f.RuleID)
	}
	if f.DeviceID != "" {
		add("device_id = ?", f.DeviceID)
	}
	if f.Entity != "" {
		add("entity = ?", f.Entity)
	}
	if !f.From.IsZero() {
		add("starts_at >= ?", Millis(f.From))
	}
	if !f.To.IsZero() {
		add("starts_at <= ?", Millis(f.To))
	}
	if f.Cursor > 0 {
		add("id < ?", f.Cursor)
	}
	q := `SELECT ` + alertCols + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.PageSize())
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []*alert.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// alertAreaPrefix escapes s for a LIKE prefix match.
func alertAreaPrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// AlertCounts returns the number of alerts per status and severity among open alerts,
// for dashboards: map[status]map[severity]count.
func (db *DB) AlertCounts(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := db.Query(ctx, `SELECT status, severity, COUNT(*) FROM alerts WHERE status <> 'resolved' GROUP BY status, severity`)
	if err != nil {
		return nil, fmt.Errorf("alert counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var st, sev string
		var n int
		if err := rows.Scan(&st, &sev, &n); err != nil {
			return nil, fmt.Errorf("alert counts: %w", err)
		}
		if out[st] == nil {
			out[st] = map[string]int{}
		}
		out[st][sev] = n
	}
	return out, rows.Err()
}

// ---- webhook deliveries and subscriptions

// RecordDelivery implements alert.Repository.
func (db *DB) RecordDelivery(ctx context.Context, d *alert.Delivery) error {
	err := db.QueryRow(ctx, `INSERT INTO webhook_deliveries (subscription_id, delivery_id, event, alert_id, attempt, status_code, ok, final, error, at, duration_ms)
		VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		d.SubscriptionID, d.DeliveryID, d.Event, d.AlertID, d.Attempt, d.StatusCode, Bool(d.OK), Bool(d.Final), d.Error, Millis(d.At), d.DurationMS).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// ListDeliveries implements alert.Repository.
func (db *DB) ListDeliveries(ctx context.Context, sub int64, limit int) ([]alert.Delivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT id, subscription_id, delivery_id, event, alert_id, attempt, status_code, ok, final, error, at, duration_ms FROM webhook_deliveries`
	var args []any
	if sub != 0 {
		q += ` WHERE subscription_id = ?`
		args = append(args, sub)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []alert.Delivery
	for rows.Next() {
		var d alert.Delivery
		var ok, final int
		var at int64
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.DeliveryID, &d.Event, &d.AlertID, &d.Attempt, &d.StatusCode, &ok, &final, &d.Error, &at, &d.DurationMS); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.OK, d.Final, d.At = ok != 0, final != 0, Time(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

const subCols = `id, name, url, secret, events, min_severity, area, enabled, created_at`

func scanSub(sc interface{ Scan(...any) error }) (alert.Subscription, error) {
	var s alert.Subscription
	var events, minSev string
	var enabled int
	var created int64
	if err := sc.Scan(&s.ID, &s.Name, &s.URL, &s.Secret, &events, &minSev, &s.Area, &enabled, &created); err != nil {
		return s, err
	}
	s.MinSeverity, s.Enabled, s.CreatedAt = rule.Severity(minSev), enabled != 0, Time(created)
	if err := json.Unmarshal([]byte(events), &s.Events); err != nil {
		return s, fmt.Errorf("subscription %d events: %w", s.ID, err)
	}
	return s, nil
}

func subEventsJSON(es []string) string {
	if es == nil {
		es = []string{}
	}
	b, _ := json.Marshal(es)
	return string(b)
}

func subNotFound(id int64) error {
	return citybrain.Errorf(citybrain.ENOTFOUND, "订阅 %d 不存在 / subscription %d not found", id, id)
}

// CreateSubscription implements alert.SubscriptionRepository.
func (db *DB) CreateSubscription(ctx context.Context, s *alert.Subscription) error {
	err := db.QueryRow(ctx, `INSERT INTO webhook_subscriptions (name, url, secret, events, min_severity, area, enabled, created_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
		s.Name, s.URL, s.Secret, subEventsJSON(s.Events), string(s.MinSeverity), s.Area, Bool(s.Enabled), Millis(s.CreatedAt)).Scan(&s.ID)
	if err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	return nil
}

// UpdateSubscription implements alert.SubscriptionRepository.
func (db *DB) UpdateSubscription(ctx context.Context, s *alert.Subscription) error {
	res, err := db.Exec(ctx, `UPDATE webhook_subscriptions SET name = ?, url = ?, secret = ?, events = ?, min_severity = ?, area = ?, enabled = ? WHERE id = ?`,
		s.Name, s.URL, s.Secret, subEventsJSON(s.Events), string(s.MinSeverity), s.Area, Bool(s.Enabled), s.ID)
	if err != nil {
		return fmt.Errorf("update subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return subNotFound(s.ID)
	}
	return nil
}

// DeleteSubscription implements alert.SubscriptionRepository.
func (db *DB) DeleteSubscription(ctx context.Context, id int64) error {
	res, err := db.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return subNotFound(id)
	}
	return nil
}

// GetSubscription implements alert.SubscriptionRepository.
func (db *DB) GetSubscription(ctx context.Context, id int64) (*alert.Subscription, error) {
	s, err := scanSub(db.QueryRow(ctx, `SELECT `+subCols+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get subscription: %w", err)
	}
	return &s, nil
}

// ListSubscriptions implements alert.SubscriptionRepository.
func (db *DB) ListSubscriptions(ctx context.Context) ([]alert.Subscription, error) {
	rows, err := db.Query(ctx, `SELECT `+subCols+` FROM webhook_subscriptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []alert.Subscription
	for rows.Next() {
		s, err := scanSub(rows)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
