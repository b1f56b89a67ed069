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
	"github.com/citybrain/citybrain/internal/governance"
)

var _ governance.Repository = (*DB)(nil)

// govRowBatch keeps a multi-row insert (3 columns) well under 30,000 bound values.
const govRowBatch = 2000

type govDatasetDoc struct {
	Columns []governance.Column `json:"columns"`
}

// CreateDataset stores a new imported dataset's catalog entry (ECONFLICT if the name exists).
func (db *DB) CreateDataset(ctx context.Context, d *governance.Dataset, now time.Time) error {
	cols, err := json.Marshal(govDatasetDoc{Columns: d.Columns})
	if err != nil {
		return fmt.Errorf("create dataset: %w", err)
	}
	_, err = db.Exec(ctx, `INSERT INTO gov_datasets (name, title, owner, sharing, sharing_reason, home_device, columns, row_count, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, d.Name, d.Title, d.Owner, string(d.Sharing), d.SharingReason, Bool(d.HomeDevice), string(cols), d.Rows, Millis(now), Millis(now))
	if IsUniqueViolation(err) {
		return citybrain.Errorf(citybrain.ECONFLICT, "数据集 %q 已存在 dataset already exists", d.Name)
	}
	if err != nil {
		return fmt.Errorf("create dataset: %w", err)
	}
	return nil
}

const govDatasetCols = `name, title, owner, sharing, sharing_reason, home_device, columns, row_count`

func scanDataset(sc interface{ Scan(...any) error }) (*governance.Dataset, error) {
	var d governance.Dataset
	var sharing, cols string
	var home int
	if err := sc.Scan(&d.Name, &d.Title, &d.Owner, &sharing, &d.SharingReason, &home, &cols, &d.Rows); err != nil {
		return nil, err
	}
	d.Sharing, d.HomeDevice = governance.Sharing(sharing), home != 0
	var doc govDatasetDoc
	if err := json.Unmarshal([]byte(cols), &doc); err != nil {
		return nil, fmt.Errorf("dataset %s: columns: %w", d.Name, err)
	}
	d.Columns = doc.Columns
	return &d, nil
}

// GetDataset returns an imported dataset's catalog entry.
func (db *DB) GetDataset(ctx context.Context, name string) (*governance.Dataset, error) {
	d, err := scanDataset(db.QueryRow(ctx, `SELECT `+govDatasetCols+` FROM gov_datasets WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "dataset", name)
	}
	return d, nil
}

// ListDatasets returns every imported dataset by name.
func (db *DB) ListDatasets(ctx context.Context) ([]governance.Dataset, error) {
	rows, err := db.Query(ctx, `SELECT `+govDatasetCols+` FROM gov_datasets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	defer rows.Close()
	out := []governance.Dataset{}
	for rows.Next() {
		d, err := scanDataset(rows)
		if err != nil {
			return nil, fmt.Errorf("list datasets: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// UpdateDataset replaces an imported dataset's metadata and column classification.
func (db *DB) UpdateDataset(ctx context.Context, d *governance.Dataset, now time.Time) error {
	cols, err := json.Marshal(govDatasetDoc{Columns: d.Columns})
	if err != nil {
		return fmt.Errorf("update dataset: %w", err)
	}
	res, err := db.Exec(ctx, `UPDATE gov_datasets SET title=?, owner=?, sharing=?, sharing_reason=?, home_device=?, columns=?, updated_at=? WHERE name=?`,
		d.Title, d.Owner, string(d.Sharing), d.SharingReason, Bool(d.HomeDevice), string(cols), Millis(now), d.Name)
	if err != nil {
		return fmt.Errorf("update dataset: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "dataset %s not found", d.Name)
	}
	return nil
}

// InsertRows stores imported rows numbered from first; values align with the dataset's columns.
func (db *DB) InsertRows(ctx context.Context, dataset string, first int64, rows [][]string) error {
	d, err := db.GetDataset(ctx, dataset)
	if err != nil {
		return err
	}
	return db.InTx(ctx, func(tx *Tx) error {
		for start := 0; start < len(rows); start += govRowBatch {
			end := min(start+govRowBatch, len(rows))
			args := make([]any, 0, (end-start)*3)
			for i, r := range rows[start:end] {
				m := make(map[string]string, len(d.Columns))
				for j, c := range d.Columns {
					if j < len(r) {
						m[c.Name] = r[j]
					}
				}
				b, err := json.Marshal(m)
				if err != nil {
					return fmt.Errorf("insert rows: %w", err)
				}
				args = append(args, dataset, first+int64(start+i), string(b))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO gov_rows (dataset, row_no, data) VALUES `+Placeholders(end-start, 3), args...); err != nil {
				if IsUniqueViolation(err) {
					return citybrain.Errorf(citybrain.ECONFLICT, "rows of %s already stored", dataset)
				}
				return fmt.Errorf("insert rows: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE gov_datasets SET row_count = (SELECT COUNT(*) FROM gov_rows WHERE dataset = ?) WHERE name = ?`, dataset, dataset); err != nil {
			return fmt.Errorf("insert rows: count: %w", err)
		}
		return nil
	})
}

// ListRows returns up to limit rows of a dataset after row number after, in order.
func (db *DB) ListRows(ctx context.Context, dataset string, after int64, limit int) ([]governance.DataRow, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.Query(ctx, `SELECT row_no, data FROM gov_rows WHERE dataset = ? AND row_no > ? ORDER BY row_no LIMIT ?`, dataset, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list rows: %w", err)
	}
	defer rows.Close()
	out := []governance.DataRow{}
	for rows.Next() {
		var r governance.DataRow
		var data string
		if err := rows.Scan(&r.Row, &data); err != nil {
			return nil, fmt.Errorf("list rows: %w", err)
		}
		if err := json.Unmarshal([]byte(data), &r.Values); err != nil {
			return nil, fmt.Errorf("row %d: %w", r.Row, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func jsonList(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

func parseList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if len(out) == 0 {
		return nil
	}
	return out
}

const govRequestCols = `id, dataset, owner, columns, level, purpose, days, requester, requester_user, state, created_at, review_due, answer_due,
	decided_at, decided_by, reason, grant_id, escalated_at, escalation_note`

func scanRequest(sc interface{ Scan(...any) error }) (*governance.ShareRequest, error) {
	var r governance.ShareRequest
	var cols, level, state string
	var created, review, answer, decided, escalated int64
	if err := sc.Scan(&r.ID, &r.Dataset, &r.Owner, &cols, &level, &r.Purpose, &r.Days, &r.Requester, &r.RequesterUser, &state,
		&created, &review, &answer, &decided, &r.DecidedBy, &r.Reason, &r.GrantID, &escalated, &r.EscalationNote); err != nil {
		return nil, err
	}
	r.Columns = parseList(cols)
	r.Level, _ = governance.ParseDecision(level)
	r.State = governance.RequestState(state)
	r.CreatedAt, r.ReviewDue, r.AnswerDue, r.DecidedAt, r.EscalatedAt = Time(created), Time(review), Time(answer), Time(decided), Time(escalated)
	return &r, nil
}

// CreateRequest stores a new sharing request and sets its id.
func (db *DB) CreateRequest(ctx context.Context, r *governance.ShareRequest) error {
	err := db.QueryRow(ctx, `INSERT INTO gov_requests (dataset, owner, columns, level, purpose, days, requester, requester_user, state, created_at, review_due, answer_due)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, r.Dataset, r.Owner, jsonList(r.Columns), r.Level.String(), r.Purpose, r.Days, r.Requester, r.RequesterUser,
		string(r.State), Millis(r.CreatedAt), Millis(r.ReviewDue), Millis(r.AnswerDue)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	return nil
}

// GetRequest returns one sharing request.
func (db *DB) GetRequest(ctx context.Context, id int64) (*governance.ShareRequest, error) {
	r, err := scanRequest(db.QueryRow(ctx, `SELECT `+govRequestCols+` FROM gov_requests WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "share request", id)
	}
	return r, nil
}

type govExecer interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

func updateRequest(ctx context.Context, ex govExecer, r *governance.ShareRequest) error {
	res, err := ex.Exec(ctx, `UPDATE gov_requests SET state=?, decided_at=?, decided_by=?, reason=?, grant_id=?, escalated_at=?, escalation_note=? WHERE id=?`,
		string(r.State), Millis(r.DecidedAt), r.DecidedBy, r.Reason, r.GrantID, Millis(r.EscalatedAt), r.EscalationNote, r.ID)
	if err != nil {
		return fmt.Errorf("update request: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "share request %d not found", r.ID)
	}
	return nil
}

// UpdateRequest stores a request's state change.
func (db *DB) UpdateRequest(ctx context.Context, r *governance.ShareRequest) error {
	return updateRequest(ctx, db, r)
}

// ApproveRequest stores the approved request and its grant in one transaction.
func (db *DB) ApproveRequest(ctx context.Context, r *governance.ShareRequest, g *governance.Grant) error {
	return db.InTx(ctx, func(tx *Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM gov_requests WHERE id = ?`, r.ID).Scan(&state); err != nil {
			return notFound(err, "share request", r.ID)
		}
		if state != string(governance.RequestPending) && state != string(governance.RequestEscalated) {
			return citybrain.Errorf(citybrain.ECONFLICT, "申请已处理 request is %s", state)
		}
		g.RequestID = r.ID
		if err := insertGrant(ctx, tx, g); err != nil {
			return err
		}
		r.GrantID = g.ID
		return updateRequest(ctx, tx, r)
	})
}

// ListRequests returns requests matching f, newest first.
func (db *DB) ListRequests(ctx context.Context, f governance.RequestFilter) ([]governance.ShareRequest, error) {
	var where []string
	var args []any
	if f.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, f.Owner)
	}
	if f.Requester != "" {
		where, args = append(where, "requester = ?"), append(args, f.Requester)
	}
	if f.Dataset != "" {
		where, args = append(where, "dataset = ?"), append(args, f.Dataset)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.OpenOnly {
		where = append(where, "state IN ('pending','escalated')")
	}
	q := `SELECT ` + govRequestCols + ` FROM gov_requests`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []governance.ShareRequest{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

const govGrantCols = `id, dataset, owner, columns, grantee, level, purpose, start_at, expires_at, revoked, revoked_at, revoked_by, revoke_reason, approver, request_id`

func scanGrant(sc interface{ Scan(...any) error }) (*governance.Grant, error) {
	var g governance.Grant
	var cols, level string
	var start, expires, revokedAt int64
	var revoked int
	if err := sc.Scan(&g.ID, &g.Dataset, &g.Owner, &cols, &g.Grantee, &level, &g.Purpose, &start, &expires, &revoked, &revokedAt, &g.RevokedBy,
		&g.RevokeReason, &g.Approver, &g.RequestID); err != nil {
		return nil, err
	}
	g.Columns = parseList(cols)
	g.Level, _ = governance.ParseDecision(level)
	g.Start, g.Expires, g.RevokedAt, g.Revoked = Time(start), Time(expires), Time(revokedAt), revoked != 0
	return &g, nil
}

func insertGrant(ctx context.Context, ex govExecer, g *governance.Grant) error {
	err := ex.QueryRow(ctx, `INSERT INTO gov_grants (dataset, owner, columns, grantee, level, purpose, start_at, expires_at, approver, request_id)
		VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`, g.Dataset, g.Owner, jsonList(g.Columns), g.Grantee, g.Level.String(), g.Purpose,
		Millis(g.Start), Millis(g.Expires), g.Approver, g.RequestID).Scan(&g.ID)
	if err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	return nil
}

// GetGrant returns one grant.
func (db *DB) GetGrant(ctx context.Context, id int64) (*governance.Grant, error) {
	g, err := scanGrant(db.QueryRow(ctx, `SELECT `+govGrantCols+` FROM gov_grants WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "grant", id)
	}
	return g, nil
}

// UpdateGrant stores a grant's revocation.
func (db *DB) UpdateGrant(ctx context.Context, g *governance.Grant) error {
	res, err := db.Exec(ctx, `UPDATE gov_grants SET revoked=?, revoked_at=?, revoked_by=?, revoke_reason=?, expires_at=? WHERE id=?`,
		Bool(g.Revoked), Millis(g.RevokedAt), g.RevokedBy, g.RevokeReason, Millis(g.Expires), g.ID)
	if err != nil {
		return fmt.Errorf("update grant: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return citybrain.Errorf(citybrain.ENOTFOUND, "grant %d not found", g.ID)
	}
	return nil
}

// ListGrants returns grants matching f, newest first.
func (db *DB) ListGrants(ctx context.Context, f governance.GrantFilter) ([]governance.Grant, error) {
	var where []string
	var args []any
	if f.Grantee != "" {
		where, args = append(where, "grantee = ?"), append(args, f.Grantee)
	}
	if f.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, f.Owner)
	}
	if f.Dataset != "" {
		where, args = append(where, "dataset = ?"), append(args, f.Dataset)
	}
	if !f.ActiveAt.IsZero() {
		ms := Millis(f.ActiveAt)
		where, args = append(where, "revoked = 0 AND start_at <= ? AND expires_at > ?"), append(args, ms, ms)
	}
	q := `SELECT ` + govGrantCols + ` FROM gov_grants`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT 10000"
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	out := []governance.Grant{}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

// AddConsent appends a consent record and sets its id.
func (db *DB) AddConsent(ctx context.Context, c *governance.ConsentRecord) error {
	err := db.QueryRow(ctx, `INSERT INTO gov_consent (household, purpose, status, note, by_user, at) VALUES (?,?,?,?,?,?) RETURNING id`,
		c.Household, c.Purpose, c.Status.String(), c.Note, c.By, Millis(c.At)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("add consent: %w", err)
	}
	return nil
}

// ConsentHistory returns a household's consent records, oldest first.
func (db *DB) ConsentHistory(ctx context.Context, household string) ([]governance.ConsentRecord, error) {
	rows, err := db.Query(ctx, `SELECT id, household, purpose, status, note, by_user, at FROM gov_consent WHERE household = ? ORDER BY id`, household)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	defer rows.Close()
	out := []governance.ConsentRecord{}
	for rows.Next() {
		var c governance.ConsentRecord
		var at int64
		if err := rows.Scan(&c.ID, &c.Household, &c.Purpose, &c.State, &c.Note, &c.By, &at); err != nil {
			return nil, fmt.Errorf("consent history: %w", err)
		}
		c.Status, _ = governance.ParseConsent(c.State)
		c.At = Time(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CurrentConsent returns the latest consent per household for the purpose.
func (db *DB) CurrentConsent(ctx context.Context, households []string, purpose string) (map[string]governance.ConsentStatus, error) {
	out := make(map[string]governance.ConsentStatus, len(households))
	for _, h := range households {
		var status string
		err := db.QueryRow(ctx, `SELECT status FROM gov_consent WHERE household = ? AND purpose = ? ORDER BY id DESC LIMIT 1`, h, purpose).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("current consent: %w", err)
		}
		out[h], _ = governance.ParseConsent(status)
	}
	return out, nil
}

// SavePolicy stores a new version of the decision policy and returns its version.
func (db *DB) SavePolicy(ctx context.Context, doc string, by int64, at time.Time) (int64, error) {
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO gov_policy (doc, created_by, created_at) VALUES (?,?,?) RETURNING id`, doc, by, Millis(at)).Scan(&id); err != nil {
		return 0, fmt.Errorf("save policy: %w", err)
	}
	return id, nil
}

// LatestPolicy returns the policy version in force (ENOTFOUND when none was saved).
func (db *DB) LatestPolicy(ctx context.Context) (string, int64, error) {
	var doc string
	var id int64
	err := db.QueryRow(ctx, `SELECT doc, id FROM gov_policy ORDER BY id DESC LIMIT 1`).Scan(&doc, &id)
	if err != nil {
		return "", 0, notFound(err, "policy", "latest")
	}
	return doc, id, nil
}
