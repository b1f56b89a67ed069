package governance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// DataRow is one imported row: its number in the upload (from 1) and its values by
// column name.
type DataRow struct {
	Row    int64             `json:"row"`
	Values map[string]string `json:"values"`
}

// RequestFilter selects sharing requests; empty fields match all.
type RequestFilter struct {
	Owner     string
	Requester string
	Dataset   string
	State     RequestState
	OpenOnly  bool
	Limit     int
}

// GrantFilter selects grants; empty fields match all, a zero ActiveAt returns grants
// in any state.
type GrantFilter struct {
	Grantee  string
	Owner    string
	Dataset  string
	ActiveAt time.Time
}

// Repository is the storage the governance service needs; internal/store implements it
// for SQLite and PostgreSQL. Unknown names and ids are ENOTFOUND, duplicates ECONFLICT.
// Implementations are safe for concurrent use.
type Repository interface {
	CreateDataset(ctx context.Context, d *Dataset, now time.Time) error
	GetDataset(ctx context.Context, name string) (*Dataset, error)
	ListDatasets(ctx context.Context) ([]Dataset, error)
	UpdateDataset(ctx context.Context, d *Dataset, now time.Time) error
	// InsertRows stores rows (values aligned with the dataset's columns) numbered from first.
	InsertRows(ctx context.Context, dataset string, first int64, rows [][]string) error
	ListRows(ctx context.Context, dataset string, after int64, limit int) ([]DataRow, error)

	CreateRequest(ctx context.Context, r *ShareRequest) error
	GetRequest(ctx context.Context, id int64) (*ShareRequest, error)
	UpdateRequest(ctx context.Context, r *ShareRequest) error
	// ApproveRequest stores the approved request and its new grant in one transaction,
	// setting g.ID and r.GrantID.
	ApproveRequest(ctx context.Context, r *ShareRequest, g *Grant) error
	ListRequests(ctx context.Context, f RequestFilter) ([]ShareRequest, error)
	GetGrant(ctx context.Context, id int64) (*Grant, error)
	UpdateGrant(ctx context.Context, g *Grant) error
	ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error)

	AddConsent(ctx context.Context, c *ConsentRecord) error
	ConsentHistory(ctx context.Context, household string) ([]ConsentRecord, error)
	// CurrentConsent returns the consent in force for each household and the purpose;
	// households without a record are absent.
	CurrentConsent(ctx context.Context, households []string, purpose string) (map[string]ConsentStatus, error)

	// SavePolicy stores a new policy version (JSON); LatestPolicy returns the one in
	// force, ENOTFOUND when none was saved.
	SavePolicy(ctx context.Context, doc string, by int64, at time.Time) (int64, error)
	LatestPolicy(ctx context.Context) (doc string, version int64, err error)
}

// AuditEvent is what the service asks the audit log to record. The wiring converts it
// to the audit package's entry; the service does not import it.
type AuditEvent struct {
	Actor    *citybrain.Actor
	Action   string // read, mask, deny, change, export
	Dataset  string
	Table    string
	Rows     []string
	RowCount int64
	Columns  []string
	Decision string
	Purpose  string
	Detail   map[string]string
}

// The audit actions the service emits (the same verbs as internal/audit).
const (
	AuditRead   = "read"
	AuditMask   = "mask"
	AuditDeny   = "deny"
	AuditChange = "change"
	AuditExport = "export"
)

// AuditFunc records an event; an error makes the read that caused it fail (an access
// that cannot be recorded is not served).
type AuditFunc func(ctx context.Context, e AuditEvent) error

// Config configures a Service.
type Config struct {
	Repo      Repository
	Policy    Policy
	Masker    *Masker
	Audit     AuditFunc // nil: nothing is recorded (tests, CLI dry runs)
	Now       func() time.Time
	Deadlines Deadlines
	// DeviceLookup returns a device's profile and household. With it, a "telemetry"
	// response about one device of a home profile (door and motion sensors, smoke
	// detectors, household meters) is filtered as that profile's home-device dataset
	// under the household's consent. Nil: telemetry is filtered as generic readings.
	DeviceLookup func(ctx context.Context, id string) (profile, household string, err error)
}

// Service is the governance application service: catalog, imports, classification,
// sharing workflow, consent and the response Guard. It is safe for concurrent use.
type Service struct {
	repo     Repository
	enf      atomic.Pointer[Enforcer]
	version  atomic.Int64
	masker   *Masker
	det      *Detector
	audit    AuditFunc
	now      func() time.Time
	dl       Deadlines
	platform map[string]*Dataset
	devices  func(ctx context.Context, id string) (string, string, error)
}

// NewService builds the service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Repo == nil || cfg.Masker == nil {
		return nil, errors.New("governance: Repo and Masker are required")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("governance: policy: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Deadlines.ReviewDays == 0 && cfg.Deadlines.AnswerDays == 0 {
		cfg.Deadlines = DefaultDeadlines()
	}
	p := cfg.Policy
	s := &Service{repo: cfg.Repo, masker: cfg.Masker, det: cfg.Masker.Detector(), audit: cfg.Audit,
		now: cfg.Now, dl: cfg.Deadlines, platform: map[string]*Dataset{}, devices: cfg.DeviceLookup}
	s.enf.Store(NewEnforcer(&p, cfg.Masker))
	for _, d := range PlatformCatalog() {
		d := d
		s.platform[d.Name] = &d
	}
	return s, nil
}

// Enforcer returns the enforcer (policy and masker) in use.
func (s *Service) Enforcer() *Enforcer { return s.enf.Load() }

// LoadPolicy puts the latest stored policy in force, if one was saved; otherwise the
// policy given to NewService stays. Call it once at start.
func (s *Service) LoadPolicy(ctx context.Context) error {
	doc, v, err := s.repo.LatestPolicy(ctx)
	if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	var p Policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return fmt.Errorf("stored policy %d: %w", v, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("stored policy %d: %w", v, err)
	}
	s.enf.Store(NewEnforcer(&p, s.masker))
	s.version.Store(v)
	return nil
}

// PolicyVersion is the policy in force with its stored version (0 = the built-in default).
type PolicyVersion struct {
	Version int64  `json:"version"`
	Policy  Policy `json:"policy"`
}

// Policy returns the policy in force.
func (s *Service) Policy() PolicyVersion {
	return PolicyVersion{Version: s.version.Load(), Policy: *s.enf.Load().Policy()}
}

// SetPolicy validates, stores and puts a new policy in force (admins only), and
// records the change in the audit log. Decisions already made are not revisited.
func (s *Service) SetPolicy(ctx context.Context, actor *citybrain.Actor, p Policy) (PolicyVersion, error) {
	if actor != nil && !actor.Is(citybrain.RoleAdmin) {
		return PolicyVersion{}, citybrain.Errorf(citybrain.EFORBIDDEN, "只有管理员可以修改策略 only admins change the policy")
	}
	if err := p.Validate(); err != nil {
		return PolicyVersion{}, err
	}
	if len(p.Permits) == 0 {
		// Default deny: a policy without permits locks every reader out of every dataset, which
		// is what a PUT of {} or of a truncated document did. Replacing the policy needs it whole.
		return PolicyVersion{}, citybrain.FieldError("permits", "策略没有任何许可规则，将拒绝所有读取；请提交完整策略（先 GET 再修改） a policy without permits denies every read: send the whole policy (GET it, edit, PUT it)")
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return PolicyVersion{}, fmt.Errorf("set policy: %w", err)
	}
	var by int64
	if actor != nil {
		by = actor.UserID
	}
	v, err := s.repo.SavePolicy(ctx, string(doc), by, s.now())
	if err != nil {
		return PolicyVersion{}, err
	}
	old := s.enf.Load().Policy()
	s.enf.Store(NewEnforcer(&p, s.masker))
	s.version.Store(v)
	detail := map[string]string{"version": strconv.FormatInt(v, 10),
		"permits": fmt.Sprintf("%d→%d", len(old.Permits), len(p.Permits)), "rules": fmt.Sprintf("%d→%d", len(old.Rules), len(p.Rules)),
		"consent_unknown_cap": p.ConsentUnknownCap.String()}
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Table: "policy", Rows: []string{strconv.FormatInt(v, 10)}, Detail: detail}); err != nil {
		return PolicyVersion{}, err
	}
	return PolicyVersion{Version: v, Policy: p}, nil
}

// Detector returns the PI detector.
func (s *Service) Detector() *Detector { return s.det }

func (s *Service) record(ctx context.Context, e AuditEvent) error {
	if s.audit == nil {
		return nil
	}
	if e.Actor == nil {
		e.Actor = citybrain.ActorFrom(ctx)
	}
	if e.Purpose == "" && e.Actor != nil {
		e.Purpose = e.Actor.Purpose
	}
	return s.audit(ctx, e)
}

// Dataset returns a catalog entry: a platform table or an imported dataset.
func (s *Service) Dataset(ctx context.Context, name string) (*Dataset, error) {
	d, ok := s.platform[name]
	if ok && d.Platform {
		c := *d
		c.Columns = append([]Column(nil), d.Columns...)
		return &c, nil
	}
	got, err := s.repo.GetDataset(ctx, name)
	if ok && citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		c := *d // a template not imported yet
		c.Columns = append([]Column(nil), d.Columns...)
		return &c, nil
	}
	return got, err
}

// Catalog lists the platform tables and the imported datasets, by name.
func (s *Service) Catalog(ctx context.Context) ([]Dataset, error) {
	ds, err := s.repo.ListDatasets(ctx)
	if err != nil {
		return nil, err
	}
	imported := make(map[string]bool, len(ds))
	for _, d := range ds {
		imported[d.Name] = true
	}
	for _, d := range s.platform {
		if !imported[d.Name] {
			ds = append(ds, *d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	return ds, nil
}

// CatalogEntry is a dataset as the catalog page shows it: with its table grade and the
// decision for the caller per column.
type CatalogEntry struct {
	Dataset
	Grade     Grade               `json:"grade"`
	GradeZH   string              `json:"grade_zh"`
	SharingZH string              `json:"sharing_zh"`
	Decisions map[string]Decision `json:"decisions,omitempty"`
}

// CatalogFor returns the catalog with the caller's decision for every column.
func (s *Service) CatalogFor(ctx context.Context, actor *citybrain.Actor) ([]CatalogEntry, error) {
	ds, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	r := ReaderFromActor(actor)
	grants, err := s.repo.ListGrants(ctx, GrantFilter{Grantee: r.Department, ActiveAt: s.now()})
	if err != nil {
		return nil, err
	}
	in := Inputs{Now: s.now(), Grants: grants}
	out := make([]CatalogEntry, len(ds))
	for i := range ds {
		d := &ds[i]
		out[i] = CatalogEntry{Dataset: *d, Grade: d.Grade(), GradeZH: d.Grade().ZH(), SharingZH: d.Sharing.ZH(), Decisions: s.Enforcer().DecideColumns(r, d, in)}
	}
	return out, nil
}

// ImportInput describes a dataset a department brings in.
type ImportInput struct {
	Name          string `json:"name"`
	Title         string `json:"title"`
	Owner         string `json:"owner"`
	Sharing       string `json:"sharing"`
	SharingReason string `json:"sharing_reason"`
}

// ImportResult reports an import: the stored dataset (columns carry the suggested,
// unconfirmed classification), the rows stored, the encoding detected, the suggestions.
type ImportResult struct {
	Dataset     *Dataset     `json:"dataset"`
	Rows        int64        `json:"rows"`
	Encoding    string       `json:"encoding"`
	Suggestions []Suggestion `json:"suggestions"`
}

// validName: dataset names are ASCII-safe identifiers or Chinese, 1..64 runes, no
// slashes or dots (dots are reserved for platform sub-datasets).
func validName(n string) bool {
	if n == "" || utf8.RuneCountInString(n) > 64 {
		return false
	}
	for _, r := range n {
		if r == '/' || r == '.' || r == '?' || r == '#' || r == '%' || r < ' ' || r == ' ' {
			return false
		}
	}
	return true
}

// Import reads a CSV upload (UTF-8 or GB18030), stores it as a dataset owned by the
// department with the detector's suggested classification (unconfirmed), and calls
// progress with the number of rows stored so far. Only the owner department's staff
// and admins may import; a nil actor is the command line (system).
func (s *Service) Import(ctx context.Context, actor *citybrain.Actor, in ImportInput, r io.Reader, progress func(rows int64)) (*ImportResult, error) {
	in.Name = strings.TrimSpace(in.Name)
	if !validName(in.Name) {
		return nil, citybrain.FieldError("name", "数据集名称须为1-64个字符，不含空格、/ 和 . (1-64 characters without spaces, / or .)")
	}
	if d, ok := s.platform[in.Name]; ok && d.Platform {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "名称与平台数据表重复 %q is a platform table", in.Name)
	}
	if in.Owner == "" && actor != nil {
		in.Owner = ReaderFromActor(actor).Department
	}
	if actor != nil && !actor.Is(citybrain.RoleAdmin) && ReaderFromActor(actor).Department != in.Owner {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "只能导入本部门的数据 you can import only your own department's data")
	}
	sharing := ShareConditional
	if in.Sharing != "" {
		sh, err := ParseSharing(in.Sharing)
		if err != nil {
			return nil, err
		}
		sharing = sh
	}
	if sharing != ShareUnconditional && strings.TrimSpace(in.SharingReason) == "" {
		in.SharingReason = "导入时默认有条件共享，待数据所有部门确认 conditional by default at import; to be confirmed by the owner"
	}
	cr, err := NewCSVReader(r)
	if err != nil {
		return nil, err
	}
	var sample [][]string
	for len(sample) < SampleRows {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		sample = append(sample, row)
	}
	sugg := s.det.SuggestDataset(cr.Header, sample)
	ds := &Dataset{Name: in.Name, Title: strings.TrimSpace(in.Title), Owner: in.Owner, Sharing: sharing, SharingReason: strings.TrimSpace(in.SharingReason)}
	for i, h := range cr.Header {
		sg := sugg[i]
		ds.Columns = append(ds.Columns, Column{Name: ColumnName(h), Label: h, Category: sg.Category, Grade: sg.Grade, PIKind: sg.PIKind})
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.repo.CreateDataset(ctx, ds, now); err != nil {
		return nil, err
	}
	const batch = 500
	var n int64
	flush := func(rows [][]string) error {
		if len(rows) == 0 {
			return nil
		}
		if err := s.repo.InsertRows(ctx, ds.Name, n+1, rows); err != nil {
			return err
		}
		n += int64(len(rows))
		if progress != nil {
			progress(n)
		}
		return nil
	}
	for i := 0; i < len(sample); i += batch {
		if err := flush(sample[i:min(i+batch, len(sample))]); err != nil {
			return nil, err
		}
	}
	buf := make([][]string, 0, batch)
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("导入在第%d行中止，已存%d行 import stopped at line %d after %d rows: %w", cr.Line(), n, cr.Line(), n, err)
		}
		buf = append(buf, row)
		if len(buf) == batch {
			if err := flush(buf); err != nil {
				return nil, err
			}
			buf = buf[:0]
		}
	}
	if err := flush(buf); err != nil {
		return nil, err
	}
	ds.Rows = n
	cols := make([]string, len(ds.Columns))
	detail := map[string]string{"encoding": cr.Encoding, "rows": strconv.FormatInt(n, 10), "grade": ds.Grade().String(), "sharing": string(ds.Sharing)}
	for i, c := range ds.Columns {
		cols[i] = c.Name
		if len(detail) < 60 {
			detail["col:"+c.Name] = c.Grade.String() + "/" + string(c.Category) + "/" + string(c.PIKind)
		}
	}
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "import", RowCount: n, Columns: cols, Detail: detail}); err != nil {
		return nil, err
	}
	return &ImportResult{Dataset: ds, Rows: n, Encoding: cr.Encoding, Suggestions: sugg}, nil
}

// ColumnPatch changes one column's classification; nil fields stay.
type ColumnPatch struct {
	Name      string  `json:"name"`
	Category  *string `json:"category,omitempty"`
	Grade     *string `json:"grade,omitempty"`
	PIKind    *string `json:"pi_kind,omitempty"`
	Mask      *string `json:"mask,omitempty"`
	Household *bool   `json:"household_key,omitempty"`
	Confirmed *bool   `json:"confirmed,omitempty"`
}

// DatasetPatch changes a dataset's classification: columns, sharing attribute and
// reason, home-device flag, title. AcceptSuggestions confirms every column as it is.
type DatasetPatch struct {
	Title             *string       `json:"title,omitempty"`
	Sharing           *string       `json:"sharing,omitempty"`
	SharingReason     *string       `json:"sharing_reason,omitempty"`
	HomeDevice        *bool         `json:"home_device,omitempty"`
	Columns           []ColumnPatch `json:"columns,omitempty"`
	AcceptSuggestions bool          `json:"accept_suggestions,omitempty"`
}

func (s *Service) mayManage(actor *citybrain.Actor, ds *Dataset) error {
	if actor == nil || actor.Is(citybrain.RoleAdmin) {
		return nil
	}
	if ReaderFromActor(actor).Department == ds.Owner && actor.Is(citybrain.RoleDept, citybrain.RoleOperator) {
		return nil
	}
	return citybrain.Errorf(citybrain.EFORBIDDEN, "只有数据所有部门或管理员可以修改 only the owner department or an admin may change %q", ds.Name)
}

// Classify applies a patch to an imported dataset's classification and records every
// change in the audit log.
func (s *Service) Classify(ctx context.Context, actor *citybrain.Actor, name string, p DatasetPatch) (*Dataset, error) {
	if d, ok := s.platform[name]; ok && d.Platform {
		return nil, citybrain.Errorf(citybrain.ECONFLICT, "平台数据表的分类分级在代码中维护 platform tables are classified in code")
	}
	ds, err := s.repo.GetDataset(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.mayManage(actor, ds); err != nil {
		return nil, err
	}
	detail := map[string]string{}
	if p.Title != nil {
		ds.Title = strings.TrimSpace(*p.Title)
	}
	if p.Sharing != nil {
		sh, err := ParseSharing(*p.Sharing)
		if err != nil {
			return nil, err
		}
		detail["sharing"] = string(ds.Sharing) + "→" + string(sh)
		ds.Sharing = sh
	}
	if p.SharingReason != nil {
		ds.SharingReason = strings.TrimSpace(*p.SharingReason)
	}
	if p.HomeDevice != nil {
		detail["home_device"] = strconv.FormatBool(*p.HomeDevice)
		ds.HomeDevice = *p.HomeDevice
	}
	var cols []string
	for _, cp := range p.Columns {
		c := ds.Column(cp.Name)
		if c == nil {
			return nil, citybrain.FieldError("columns", "数据集没有列 %q (no such column)", cp.Name)
		}
		old := c.Grade.String() + "/" + string(c.Category) + "/" + string(c.PIKind)
		if cp.Category != nil {
			cat := Category(strings.TrimSpace(*cp.Category))
			if pc, err := ParseCategory(*cp.Category); err == nil {
				cat = pc
			}
			if cat == "" {
				return nil, citybrain.FieldError("category", "分类不能为空 category is required")
			}
			c.Category = cat
		}
		if cp.Grade != nil {
			g, err := ParseGrade(*cp.Grade)
			if err != nil {
				return nil, err
			}
			if !g.Valid() {
				return nil, citybrain.FieldError("grade", "须指定级别 a grade is required")
			}
			c.Grade = g
		}
		if cp.PIKind != nil {
			k := PIKind(strings.TrimSpace(*cp.PIKind))
			if k != PINone && k != PIFreeText && !inList(kindStrings(), string(k)) {
				return nil, citybrain.FieldError("pi_kind", "未知的个人信息类型 unknown PI kind %q", k)
			}
			c.PIKind = k
		}
		if cp.Mask != nil {
			m, err := ParseMaskMethod(*cp.Mask)
			if err != nil {
				return nil, err
			}
			c.Mask = m
		}
		if cp.Household != nil {
			c.HouseholdKey = *cp.Household
		}
		c.Confirmed = true
		if cp.Confirmed != nil {
			c.Confirmed = *cp.Confirmed
		}
		cols = append(cols, c.Name)
		if len(detail) < 60 {
			detail["col:"+c.Name] = old + "→" + c.Grade.String() + "/" + string(c.Category) + "/" + string(c.PIKind)
		}
	}
	if p.AcceptSuggestions {
		detail["accept_suggestions"] = "true"
		for i := range ds.Columns {
			ds.Columns[i].Confirmed = true
		}
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	if err := s.repo.UpdateDataset(ctx, ds, s.now()); err != nil {
		return nil, err
	}
	detail["grade"] = ds.Grade().String()
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditChange, Dataset: ds.Name, Table: "classification", Columns: cols, Detail: detail}); err != nil {
		return nil, err
	}
	return ds, nil
}

func kindStrings() []string {
	var out []string
	for _, k := range PIKinds() {
		out = append(out, string(k))
	}
	return out
}

// Rows returns a page of an imported dataset's rows as generic records (the values by
// column name plus "_row"), for the caller to pass through the Guard.
func (s *Service) Rows(ctx context.Context, name string, after int64, limit int) ([]map[string]any, int64, error) {
	if d, ok := s.platform[name]; ok && d.Platform {
		return nil, 0, citybrain.Errorf(citybrain.ENOTFOUND, "平台数据表请通过各自的接口读取 read platform tables through their own API")
	}
	if _, err := s.repo.GetDataset(ctx, name); err != nil {
		return nil, 0, err
	}
	rows, err := s.repo.ListRows(ctx, name, after, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]map[string]any, len(rows))
	var last int64
	for i, r := range rows {
		m := make(map[string]any, len(r.Values)+1)
		for k, v := range r.Values {
			m[k] = v
		}
		m["_row"] = float64(r.Row)
		out[i] = m
		last = r.Row
	}
	if len(rows) < limit {
		last = 0
	}
	return out, last, nil
}

// Aggregate answers counts, sums and averages over an imported dataset for the caller:
// every column used (group by, value, time) must be at least AGGREGATE_ONLY for the
// caller, and cells with fewer than DefaultK records are suppressed (K may be raised,
// never lowered).
func (s *Service) Aggregate(ctx context.Context, actor *citybrain.Actor, name string, q AggQuery) ([]AggCell, error) {
	ds, err := s.Dataset(ctx, name)
	if err != nil {
		return nil, err
	}
	if ds.Platform {
		return nil, citybrain.Errorf(citybrain.ENOTFOUND, "只能统计导入的数据集 only imported datasets can be aggregated here")
	}
	if q.K < DefaultK {
		q.K = DefaultK
	}
	r := ReaderFromActor(actor)
	grants, err := s.repo.ListGrants(ctx, GrantFilter{Grantee: r.Department, Dataset: name, ActiveAt: s.now()})
	if err != nil {
		return nil, err
	}
	dec := s.Enforcer().DecideColumns(r, ds, Inputs{Now: s.now(), Grants: grants})
	used := append([]string(nil), q.GroupBy...)
	if q.Value != "" {
		used = append(used, q.Value)
	}
	if q.TimeColumn != "" {
		used = append(used, q.TimeColumn)
	}
	for _, c := range used {
		d, ok := dec[c]
		if !ok {
			return nil, citybrain.FieldError("columns", "数据集没有列 %q (no such column)", c)
		}
		if d < AggregateOnly {
			_ = s.record(ctx, AuditEvent{Actor: actor, Action: AuditDeny, Dataset: name, Table: "aggregate", Columns: used, Decision: Deny.String()})
			return nil, citybrain.Errorf(citybrain.EDENIED, "无权统计列 %q (not allowed to aggregate this column)", c)
		}
	}
	// Group keys are shown to the reader, so they are what the reader may see of the column:
	// as stored when FULL, masked when MASKED, and masked too when AGGREGATE_ONLY on personal
	// information (grouping by an identity number must not list the numbers). Area-like
	// columns the reader may only aggregate keep their values: counts by area are the point.
	enf := s.Enforcer()
	maskKey := map[string]*Column{}
	for _, g := range q.GroupBy {
		col := ds.Column(g)
		if col == nil {
			continue
		}
		if d := dec[g]; d == Masked || (d == AggregateOnly && col.PIKind != "") {
			maskKey[g] = col
		}
	}
	var rows []map[string]any
	var after int64
	for {
		page, err := s.repo.ListRows(ctx, name, after, 5000)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			m := make(map[string]any, len(r.Values))
			for k, v := range r.Values {
				if col, ok := maskKey[k]; ok {
					m[k] = enf.maskAny(col, v)
					continue
				}
				m[k] = v
			}
			rows = append(rows, m)
			after = r.Row
		}
		if len(page) < 5000 {
			break
		}
	}
	cells, err := Aggregate(rows, q)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, AuditEvent{Actor: actor, Action: AuditRead, Dataset: name, Table: "aggregate", RowCount: int64(len(rows)), Columns: used,
		Decision: AggregateOnly.String(), Detail: map[string]string{"k": strconv.Itoa(q.K)}}); err != nil {
		return nil, err
	}
	return cells, nil
}
