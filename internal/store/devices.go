package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
)

var (
	_ device.Repository      = (*DB)(nil)
	_ device.EventStore      = (*DB)(nil)
	_ device.QuarantineStore = (*DB)(nil)
)

const deviceCols = `id, name, profile, area, lon, lat, address, facility, household, disabled, created_at, updated_at`

func scanDevice(sc interface{ Scan(...any) error }) (device.Device, error) {
	var d device.Device
	var disabled int
	var created, updated int64
	err := sc.Scan(&d.ID, &d.Name, &d.Profile, &d.Area, &d.Lon, &d.Lat, &d.Address, &d.Facility, &d.Household, &disabled, &created, &updated)
	d.Disabled = disabled != 0
	d.CreatedAt, d.UpdatedAt = Time(created), Time(updated)
	return d, err
}

// CreateDevice implements device.Repository.
func (db *DB) CreateDevice(ctx context.Context, d device.Device, c device.Credential) error {
	_, err := db.Exec(ctx, `INSERT INTO devices (`+deviceCols+`, secret_hash, rotated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Name, d.Profile, d.Area, d.Lon, d.Lat, d.Address, d.Facility, d.Household, Bool(d.Disabled), Millis(d.CreatedAt), Millis(d.UpdatedAt),
		hex.EncodeToString(c.Hash[:]), Millis(c.RotatedAt))
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "设备 %q 已存在 / device %q exists", d.ID, d.ID)
	}
	if err != nil {
		return fmt.Errorf("create device: %w", err)
	}
	return nil
}

// GetDevice implements device.Repository.
func (db *DB) GetDevice(ctx context.Context, id string) (device.Device, error) {
	d, err := scanDevice(db.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return device.Device{}, notFound(err, "device", id)
	}
	return d, nil
}

// ListDevices implements device.Repository.
func (db *DB) ListDevices(ctx context.Context, f device.Filter) ([]device.Device, error) {
	var where []string
	var args []any
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	if f.Area != "" {
		where, args = append(where, "area = ?"), append(args, f.Area)
	}
	if f.Profile != "" {
		where, args = append(where, "profile = ?"), append(args, f.Profile)
	}
	if f.Facility != "" {
		where, args = append(where, "facility = ?"), append(args, f.Facility)
	}
	q := `SELECT ` + deviceCols + ` FROM devices`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []device.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func affectedOne(res sql.Result, err error, what, id string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "%s %v not found", what, id)
	}
	return nil
}

// UpdateDevice implements device.Repository.
func (db *DB) UpdateDevice(ctx context.Context, d device.Device) error {
	res, err := db.Exec(ctx, `UPDATE devices SET name=?, profile=?, area=?, lon=?, lat=?, address=?, facility=?, household=?, disabled=?, updated_at=? WHERE id=?`,
		d.Name, d.Profile, d.Area, d.Lon, d.Lat, d.Address, d.Facility, d.Household, Bool(d.Disabled), Millis(d.UpdatedAt), d.ID)
	return affectedOne(res, err, "device", d.ID)
}

// DeleteDevice implements device.Repository.
func (db *DB) DeleteDevice(ctx context.Context, id string) error {
	res, err := db.Exec(ctx, `DELETE FROM devices WHERE id = ?`, id)
	return affectedOne(res, err, "device", id)
}

// SetDeviceCredential implements device.Repository.
func (db *DB) SetDeviceCredential(ctx context.Context, c device.Credential) error {
	res, err := db.Exec(ctx, `UPDATE devices SET secret_hash=?, rotated_at=? WHERE id=?`, hex.EncodeToString(c.Hash[:]), Millis(c.RotatedAt), c.DeviceID)
	return affectedOne(res, err, "device", c.DeviceID)
}

// DeviceCredentials implements device.Repository.
func (db *DB) DeviceCredentials(ctx context.Context) ([]device.CachedCredential, error) {
	rows, err := db.Query(ctx, `SELECT id, profile, disabled, secret_hash FROM devices`)
	if err != nil {
		return nil, fmt.Errorf("device credentials: %w", err)
	}
	defer rows.Close()
	var out []device.CachedCredential
	for rows.Next() {
		var c device.CachedCredential
		var disabled int
		var h string
		if err := rows.Scan(&c.DeviceID, &c.Profile, &disabled, &h); err != nil {
			return nil, fmt.Errorf("device credentials: %w", err)
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != len(c.Hash) {
			return nil, fmt.Errorf("device %s: corrupt secret hash", c.DeviceID)
		}
		copy(c.Hash[:], b)
		c.Disabled = disabled != 0
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateFacility implements device.Repository.
func (db *DB) CreateFacility(ctx context.Context, f device.Facility) error {
	_, err := db.Exec(ctx, `INSERT INTO facilities (id, kind, name, area, lon, lat, address, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		f.ID, f.Kind, f.Name, f.Area, f.Lon, f.Lat, f.Address, Millis(f.CreatedAt))
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "设施 %q 已存在 / facility %q exists", f.ID, f.ID)
	}
	if err != nil {
		return fmt.Errorf("create facility: %w", err)
	}
	return nil
}

func scanFacility(sc interface{ Scan(...any) error }) (device.Facility, error) {
	var f device.Facility
	var created int64
	err := sc.Scan(&f.ID, &f.Kind, &f.Name, &f.Area, &f.Lon, &f.Lat, &f.Address, &created)
	f.CreatedAt = Time(created)
	return f, err
}

// GetFacility implements device.Repository.
func (db *DB) GetFacility(ctx context.Context, id string) (device.Facility, error) {
	f, err := scanFacility(db.QueryRow(ctx, `SELECT id, kind, name, area, lon, lat, address, created_at FROM facilities WHERE id = ?`, id))
	if err != nil {
		return device.Facility{}, notFound(err, "facility", id)
	}
	return f, nil
}

// ListFacilities implements device.Repository.
func (db *DB) ListFacilities(ctx context.Context, area string) ([]device.Facility, error) {
	q := `SELECT id, kind, name, area, lon, lat, address, created_at FROM facilities`
	var args []any
	if area != "" {
		q += ` WHERE area = ?`
		args = append(args, area)
	}
	rows, err := db.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list facilities: %w", err)
	}
	defer rows.Close()
	var out []device.Facility
	for rows.Next() {
		f, err := scanFacility(rows)
		if err != nil {
			return nil, fmt.Errorf("list facilities: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func jsonText(v map[string]any) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonMap(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

// AppendDeviceEvents implements device.EventStore: all events in one transaction.
func (db *DB) AppendDeviceEvents(ctx context.Context, es []device.Event) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, e := range es {
			data, err := jsonText(e.Data)
			if err != nil {
				return citybrain.FieldError("data", "event data cannot be encoded: %v", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO device_events (device_id, type, severity, ts, data, received) VALUES (?,?,?,?,?,?)`,
				e.DeviceID, e.Type, e.Severity, e.TS, data, Millis(e.Received)); err != nil {
				return fmt.Errorf("append device events: %w", err)
			}
		}
		return nil
	})
}

// ListDeviceEvents implements device.EventStore: newest first; deviceID "" lists every device.
func (db *DB) ListDeviceEvents(ctx context.Context, deviceID string, limit int) ([]device.Event, error) {
	q := `SELECT id, device_id, type, severity, ts, data, received FROM device_events`
	var args []any
	if deviceID != "" {
		q += ` WHERE device_id = ?`
		args = append(args, deviceID)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list device events: %w", err)
	}
	defer rows.Close()
	var out []device.Event
	for rows.Next() {
		var e device.Event
		var data string
		var received int64
		if err := rows.Scan(&e.ID, &e.DeviceID, &e.Type, &e.Severity, &e.TS, &data, &received); err != nil {
			return nil, fmt.Errorf("list device events: %w", err)
		}
		if e.Data, err = jsonMap(data); err != nil {
			return nil, fmt.Errorf("device event %d: %w", e.ID, err)
		}
		e.Received = Time(received)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateDeviceCommand implements device.EventStore.
func (db *DB) CreateDeviceCommand(ctx context.Context, c device.Command) error {
	params, err := jsonText(c.Params)
	if err != nil {
		return citybrain.FieldError("params", "command params cannot be encoded: %v", err)
	}
	result, err := jsonText(c.Result)
	if err != nil {
		return citybrain.FieldError("result", "command result cannot be encoded: %v", err)
	}
	_, err = db.Exec(ctx, `INSERT INTO device_commands (id, device_id, name, params, status, result, error, created_by, created_at, sent_at, acked_at, deadline) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.DeviceID, c.Name, params, c.Status, result, c.Error, c.CreatedBy, Millis(c.CreatedAt), Millis(c.SentAt), Millis(c.AckedAt), Millis(c.Deadline))
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "command %q exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("create device command: %w", err)
	}
	return nil
}

// UpdateDeviceCommand implements device.EventStore.
func (db *DB) UpdateDeviceCommand(ctx context.Context, c device.Command) error {
	result, err := jsonText(c.Result)
	if err != nil {
		return citybrain.FieldError("result", "command result cannot be encoded: %v", err)
	}
	res, err := db.Exec(ctx, `UPDATE device_commands SET status=?, result=?, error=?, sent_at=?, acked_at=? WHERE id=?`,
		c.Status, result, c.Error, Millis(c.SentAt), Millis(c.AckedAt), c.ID)
	return affectedOne(res, err, "command", c.ID)
}

const commandCols = `id, device_id, name, params, status, result, error, created_by, created_at, sent_at, acked_at, deadline`

func scanCommand(sc interface{ Scan(...any) error }) (device.Command, error) {
	var c device.Command
	var params, result string
	var created, sent, acked, deadline int64
	if err := sc.Scan(&c.ID, &c.DeviceID, &c.Name, &params, &c.Status, &result, &c.Error, &c.CreatedBy, &created, &sent, &acked, &deadline); err != nil {
		return c, err
	}
	var err error
	if c.Params, err = jsonMap(params); err != nil {
		return c, fmt.Errorf("command %s params: %w", c.ID, err)
	}
	if c.Result, err = jsonMap(result); err != nil {
		return c, fmt.Errorf("command %s result: %w", c.ID, err)
	}
	c.CreatedAt, c.SentAt, c.AckedAt, c.Deadline = Time(created), Time(sent), Time(acked), Time(deadline)
	return c, nil
}

// GetDeviceCommand implements device.EventStore.
func (db *DB) GetDeviceCommand(ctx context.Context, id string) (device.Command, error) {
	c, err := scanCommand(db.QueryRow(ctx, `SELECT `+commandCols+` FROM device_commands WHERE id = ?`, id))
	if err != nil {
		return device.Command{}, notFound(err, "command", id)
	}
	return c, nil
}

// ListDeviceCommands implements device.EventStore: newest first.
func (db *DB) ListDeviceCommands(ctx context.Context, deviceID string, limit int) ([]device.Command, error) {
	q := `SELECT ` + commandCols + ` FROM device_commands`
	var args []any
	if deviceID != "" {
		q += ` WHERE device_id = ?`
		args = append(args, deviceID)
	}
	q += ` ORDER BY created_at DESC, id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list device commands: %w", err)
	}
	defer rows.Close()
	var out []device.Command
	for rows.Next() {
		c, err := scanCommand(rows)
		if err != nil {
			return nil, fmt.Errorf("list device commands: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DueDeviceCommands implements device.EventStore.
func (db *DB) DueDeviceCommands(ctx context.Context, now time.Time, limit int) ([]device.Command, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.Query(ctx, `SELECT `+commandCols+` FROM device_commands WHERE status IN (?, ?) AND deadline < ? ORDER BY deadline, id LIMIT ?`,
		device.CommandPending, device.CommandSent, Millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due device commands: %w", err)
	}
	defer rows.Close()
	var out []device.Command
	for rows.Next() {
		c, err := scanCommand(rows)
		if err != nil {
			return nil, fmt.Errorf("due device commands: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// rejectionBatch keeps a multi-row insert (9 columns) well under 30,000 bound values.
const rejectionBatch = 500

// AddDeviceRejections implements device.QuarantineStore.
func (db *DB) AddDeviceRejections(ctx context.Context, rs []device.RejectionRecord) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for len(rs) > 0 {
			n := min(len(rs), rejectionBatch)
			args := make([]any, 0, n*9)
			for _, r := range rs[:n] {
				args = append(args, r.DeviceID, Millis(r.At), r.Transport, r.Topic, r.Reason, r.Measurement, r.Detail, r.Excerpt, r.Message)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO device_rejections (device_id, at, transport, topic, reason, measurement, detail, excerpt, message) VALUES `+Placeholders(n, 9), args...); err != nil {
				return fmt.Errorf("add device rejections: %w", err)
			}
			rs = rs[n:]
		}
		return nil
	})
}

// DeviceRejections implements device.QuarantineStore.
func (db *DB) DeviceRejections(ctx context.Context, deviceID string, limit int) ([]device.Rejection, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.Query(ctx, `SELECT at, transport, topic, reason, measurement, detail, excerpt, message FROM device_rejections WHERE device_id = ? ORDER BY id DESC LIMIT ?`, deviceID, limit)
	if err != nil {
		return nil, fmt.Errorf("device rejections: %w", err)
	}
	defer rows.Close()
	out := []device.Rejection{}
	for rows.Next() {
		var r device.Rejection
		var at int64
		if err := rows.Scan(&at, &r.Transport, &r.Topic, &r.Reason, &r.Measurement, &r.Detail, &r.Excerpt, &r.Message); err != nil {
			return nil, fmt.Errorf("device rejections: %w", err)
		}
		r.At = Time(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneDeviceRejections implements device.QuarantineStore.
func (db *DB) PruneDeviceRejections(ctx context.Context, keep int) error {
	_, err := db.Exec(ctx, `DELETE FROM device_rejections WHERE id IN (
		SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS rn FROM device_rejections) ranked WHERE rn > ?)`, keep)
	if err != nil {
		return fmt.Errorf("prune device rejections: %w", err)
	}
	return nil
}

var _ device.BrokerStateStore = (*DB)(nil)

// ApplyBrokerState implements device.BrokerStateStore: the ops in order, in one transaction.
func (db *DB) ApplyBrokerState(ctx context.Context, ops []device.BrokerStateOp) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, op := range ops {
			var err error
			if op.Delete {
				_, err = tx.Exec(ctx, `DELETE FROM mqtt_state WHERE kind = ? AND key = ?`, op.Kind, op.Key)
			} else {
				_, err = tx.Exec(ctx, `INSERT INTO mqtt_state (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value`,
					op.Kind, op.Key, string(op.Value))
			}
			if err != nil {
				return fmt.Errorf("mqtt state: %w", err)
			}
		}
		return nil
	})
}

// BrokerStates implements device.BrokerStateStore.
func (db *DB) BrokerStates(ctx context.Context, kind string) ([][]byte, error) {
	rows, err := db.Query(ctx, `SELECT value FROM mqtt_state WHERE kind = ? ORDER BY key`, kind)
	if err != nil {
		return nil, fmt.Errorf("mqtt state: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("mqtt state: %w", err)
		}
		out = append(out, []byte(v))
	}
	return out, rows.Err()
}
