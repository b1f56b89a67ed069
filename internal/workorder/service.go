package workorder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Config holds the tunable numbers of the service.
type Config struct {
	// TriageThreshold: below this confidence the order goes to the human triage queue (待分拨).
	TriageThreshold float64 `json:"triage_threshold"`
	// TriageTimeout bounds the assistant's answer; on timeout the order goes to the queue.
	TriageTimeout Duration `json:"triage_timeout"`
	// DuplicateRadiusM and DuplicateWindow define "the same problem": an open order of the
	// same category within this distance created within this period.
	DuplicateRadiusM float64  `json:"duplicate_radius_m"`
	DuplicateWindow  Duration `json:"duplicate_window"`
	// MergeDuplicates merges a new report into the existing order (并单) instead of only
	// suggesting it to staff.
	MergeDuplicates bool `json:"merge_duplicates"`
	// ReopenWindow is how long after closing the reporter may reopen the order.
	ReopenWindow Duration `json:"reopen_window"`
	// MaxDescription is the limit on the description in runes (Open311: 4000).
	MaxDescription int `json:"max_description"`
}

// DefaultConfig returns the defaults: threshold 0.6, 50 m, 7 days, suggest only, reopen
// within 30 days, 4000 runes.
func DefaultConfig() Config {
	return Config{TriageThreshold: 0.6, TriageTimeout: Duration(3 * time.Second), DuplicateRadiusM: 50,
		DuplicateWindow: Duration(7 * 24 * time.Hour), ReopenWindow: Duration(30 * 24 * time.Hour), MaxDescription: 4000}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.TriageThreshold < 0 || c.TriageThreshold > 1:
		return citybrain.FieldError("triage_threshold", "须在0到1之间 must be in [0,1]")
	case c.DuplicateRadiusM < 0 || c.DuplicateRadiusM > 10000:
		return citybrain.FieldError("duplicate_radius_m", "须在0到10000米之间 must be in [0,10000] m")
	case c.DuplicateWindow < 0 || c.ReopenWindow < 0 || c.TriageTimeout < 0:
		return citybrain.FieldError("duplicate_window", "时长不能为负 durations must not be negative")
	case c.MaxDescription <= 0 || c.MaxDescription > 100000:
		return citybrain.FieldError("max_description", "长度上限无效 invalid limit")
	}
	return nil
}

// Duration is a time.Duration that JSON writes as a duration string ("168h0m0s") and reads
// from a string ("72h", "30m") or a number of nanoseconds.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return citybrain.Errorf(citybrain.EINVALID, "时长格式无效 / %q is not a duration like \"72h\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "时长须为字符串如 \"72h\" / a duration must be a string like \"72h\"")
	}
	*d = Duration(n)
	return nil
}

// Options are the collaborators of a Service. Repo is required; the others default to the
// shipped taxonomy, the system clock, no assistant, no area map and no notifications.
type Options struct {
	Repo       Repository
	Dictionary *Dictionary
	Clock      citybrain.Clock
	Triager    Triager
	Locator    Locator
	Notify     Notifier
	Random     io.Reader
	Config     *Config
}

// Config keys under which the service stores its editable settings in the repository.
const (
	ConfigKeyCatalogue = "workorder.catalogue"
	ConfigKeySLA       = "workorder.sla"
	ConfigKeyCalendar  = "workorder.calendar"
	ConfigKeySettings  = "workorder.settings"
	ConfigKeyDictExt   = "workorder.dictionary_ext"
)

// Service runs intake, the lifecycle, deadlines, routing and duplicates. It is safe for
// concurrent use: settings are swapped whole under mu; order updates rely on the
// repository's optimistic Version check.
type Service struct {
	repo    Repository
	base    *Dictionary
	clock   citybrain.Clock
	triager Triager
	locate  Locator
	notify  Notifier
	random  io.Reader
	life    *Lifecycle

	mu        sync.RWMutex
	dict      *Dictionary
	cfg       Config
	catalogue Catalogue
	sla       SLAPolicy
	cal       *Calendar
}

// New builds a Service and loads the stored settings (catalogue, SLA policy, calendar,
// dictionary extension), falling back to the defaults.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Repo == nil {
		return nil, fmt.Errorf("workorder: repository required")
	}
	s := &Service{repo: o.Repo, base: o.Dictionary, clock: o.Clock, triager: o.Triager, locate: o.Locator,
		notify: o.Notify, random: o.Random, life: NewLifecycle()}
	if s.base == nil {
		d, err := DefaultDictionary()
		if err != nil {
			return nil, err
		}
		s.base = d
	}
	if s.clock == nil {
		s.clock = citybrain.SystemClock{}
	}
	s.dict = s.base
	s.cfg = DefaultConfig()
	if o.Config != nil {
		s.cfg = *o.Config
	}
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	var ext dictExt
	if ok, err := s.loadJSON(ctx, ConfigKeyDictExt, &ext); err != nil {
		return nil, err
	} else if ok {
		d, err := s.base.Extend(ext.Categories, ext.Departments)
		if err != nil {
			return nil, fmt.Errorf("stored dictionary extension: %w", err)
		}
		s.dict = d
	}
	s.catalogue = DefaultCatalogue(s.dict)
	var cat Catalogue
	if ok, err := s.loadJSON(ctx, ConfigKeyCatalogue, &cat); err != nil {
		return nil, err
	} else if ok {
		for k, v := range cat {
			s.catalogue[k] = v
		}
	}
	// Stored documents are decoded into zero values: decoding into the defaults would merge
	// slice elements field by field.
	s.sla = DefaultSLAPolicy()
	var sla SLAPolicy
	if ok, err := s.loadJSON(ctx, ConfigKeySLA, &sla); err != nil {
		return nil, err
	} else if ok {
		s.sla = sla
	}
	cc, err := DefaultCalendarConfig()
	if err != nil {
		return nil, err
	}
	var stored CalendarConfig
	if ok, err := s.loadJSON(ctx, ConfigKeyCalendar, &stored); err != nil {
		return nil, err
	} else if ok {
		cc = stored
	}
	if s.cal, err = NewCalendar(cc); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if _, err := s.loadJSON(ctx, ConfigKeySettings, &s.cfg); err != nil {
		return nil, err
	}
	return s, nil
}

type dictExt struct {
	Categories  []Category   `json:"categories"`
	Departments []Department `json:"departments"`
}

func (s *Service) loadJSON(ctx context.Context, key string, v any) (bool, error) {
	b, err := s.repo.GetConfig(ctx, key)
	if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// Dictionary returns the current category dictionary.
func (s *Service) Dictionary() *Dictionary {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.dict
}

// Calendar returns the working calendar.
func (s *Service) Calendar() *Calendar {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cal
}

// Settings returns the service configuration.
func (s *Service) Settings() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Catalogue returns a copy of the dispatch catalogue.
func (s *Service) Catalogue() Catalogue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := make(Catalogue, len(s.catalogue))
	for k, v := range s.catalogue {
		c[k] = v
	}
	return c
}

// SLAPolicy returns the SLA policy.
func (s *Service) SLAPolicy() SLAPolicy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.sla
	p.Rules = append([]SLARule(nil), s.sla.Rules...)
	return p
}

func requireAdmin(ctx context.Context) (*citybrain.Actor, error) {
	a := citybrain.ActorFrom(ctx)
	if a == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "请先登录 sign in first")
	}
	if !a.Is(citybrain.RoleAdmin) {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "仅管理员可修改 administrators only")
	}
	return a, nil
}

func (s *Service) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := s.repo.PutConfig(ctx, key, b); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// SetCatalogueEntry adds or replaces a dispatch catalogue line (administrators only).
// A line with an empty Lead deletes the override, restoring the taxonomy default.
func (s *Service) SetCatalogueEntry(ctx context.Context, e CatalogueEntry) (CatalogueEntry, error) {
	a, err := requireAdmin(ctx)
	if err != nil {
		return e, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dict.Category(e.Category); !ok {
		return e, citybrain.FieldError("category", "分类不存在 unknown category %q", e.Category)
	}
	next := make(Catalogue, len(s.catalogue))
	for k, v := range s.catalogue {
		next[k] = v
	}
	if e.Lead == "" {
		delete(next, e.Category)
		if def, ok := DefaultCatalogue(s.dict)[e.Category]; ok {
			next[e.Category] = def
			e = def
		}
	} else {
		if err := checkDept(s.dict, e.Lead); err != nil {
			return e, err
		}
		for _, x := range e.Assist {
			if err := checkDept(s.dict, x); err != nil {
				return e, err
			}
		}
		e.UpdatedBy = a.Username
		e.UpdatedAtTS = s.clock.Now().UTC().Format(time.RFC3339)
		next[e.Category] = e
	}
	if err := s.putJSON(ctx, ConfigKeyCatalogue, next); err != nil {
		return e, err
	}
	s.catalogue = next
	return e, nil
}

// SetSLAPolicy replaces the SLA policy (administrators only). It affects orders dispatched
// afterwards; stored deadlines are not recomputed.
func (s *Service) SetSLAPolicy(ctx context.Context, p SLAPolicy) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putJSON(ctx, ConfigKeySLA, p); err != nil {
		return err
	}
	s.sla = p
	return nil
}

// SetCalendar replaces the working calendar (administrators only).
func (s *Service) SetCalendar(ctx context.Context, cc CalendarConfig) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	cal, err := NewCalendar(cc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putJSON(ctx, ConfigKeyCalendar, cal.Config()); err != nil {
		return err
	}
	s.cal = cal
	return nil
}

// SetSettings replaces the tunable numbers (administrators only).
func (s *Service) SetSettings(ctx context.Context, c Config) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putJSON(ctx, ConfigKeySettings, c); err != nil {
		return err
	}
	s.cfg = c
	return nil
}

// ExtendDictionary adds a city's own categories (subcategories, 数字城管 部件/事件 classes)
// and departments to the shipped taxonomy (administrators only). The extension replaces the
// previous one; shipped codes cannot be redefined. New categories get catalogue lines for
// their default departments.
func (s *Service) ExtendDictionary(ctx context.Context, cats []Category, depts []Department) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	d, err := s.base.Extend(cats, depts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putJSON(ctx, ConfigKeyDictExt, dictExt{Categories: cats, Departments: depts}); err != nil {
		return err
	}
	s.dict = d
	for k, v := range DefaultCatalogue(d) {
		if _, ok := s.catalogue[k]; !ok {
			s.catalogue[k] = v
		}
	}
	return nil
}

// NewReport is the input of Create: a citizen's report, an Open311 request, an alert's
// request, a grid worker's patrol report or a staff entry.
type NewReport struct {
	Source      string
	SourceRef   string
	Category    string // optional: the assistant proposes one
	Subcategory string
	Priority    Priority
	Title       string
	Description string
	Attributes  map[string]string
	Media       []string
	HasLocation bool
	Lon, Lat    float64
	Address     string
	AddressID   string
	Zipcode     string
	Reporter    Reporter
	// Dept optionally names the lead unit (staff and alerts); otherwise the catalogue decides.
	Dept string
	// Grid, Community and Street place a report without coordinates (an alert's area); a
	// map pin, when given, wins through the Locator.
	Grid, Community, Street string
}

// Created is the result of Create.
type Created struct {
	Order *Order
	// Token is the secret the reporter needs, with the tracking number, to follow, rate or
	// reopen the order without an account. It is returned only here.
	Token string
	// Duplicates are open orders of the same category nearby (suggestions for staff).
	Duplicates []*Order
	// MergedInto is set when the report was merged (并单) into an existing order.
	MergedInto *Order
}

// Create validates a report, locates it, triages it, checks duplicates, and then either
// dispatches it (the assistant is confident or staff chose), sends it to the triage queue,
// or merges it into an existing order. Anonymous citizens may report (rate limiting is the
// HTTP layer's job); other sources need an actor.
func (s *Service) Create(ctx context.Context, in NewReport) (*Created, error) {
	actor := citybrain.ActorFrom(ctx)
	s.mu.RLock()
	dict, cfg, cat, sla, cal := s.dict, s.cfg, s.catalogue, s.sla, s.cal
	s.mu.RUnlock()
	now := s.clock.Now()

	if in.Source == "" {
		in.Source = SourceCitizen
	}
	switch in.Source {
	case SourceCitizen, SourceOpen311:
	case SourceAlert, SourcePatrol, SourceStaff:
		if actor == nil || !actor.Is(citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleWorker, citybrain.RoleDept) && actor.Role != RoleSystem {
			return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "仅工作人员可以此渠道上报 staff only for source %s", in.Source)
		}
	default:
		return nil, citybrain.FieldError("source", "来源无效 unknown source %q", in.Source)
	}
	if in.Source == SourceOpen311 && actor == nil {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "需要 api_key api_key required")
	}
	in.Description = strings.TrimSpace(in.Description)
	if n := utf8.RuneCountInString(in.Description); n > cfg.MaxDescription {
		return nil, citybrain.FieldError("description", "描述过长(%d字,上限%d) description too long (%d > %d characters)", n, cfg.MaxDescription, n, cfg.MaxDescription)
	}
	if utf8.RuneCountInString(in.Title) > 200 {
		return nil, citybrain.FieldError("title", "标题过长 title too long (max 200)")
	}
	if in.Description == "" && in.Title == "" && in.Category == "" {
		return nil, citybrain.FieldError("description", "请描述问题 describe the problem")
	}
	if in.HasLocation {
		if math.IsNaN(in.Lon) || math.IsNaN(in.Lat) || in.Lon < -180 || in.Lon > 180 || in.Lat < -90 || in.Lat > 90 {
			return nil, citybrain.FieldError("lat", "坐标无效 invalid coordinates")
		}
	}
	if utf8.RuneCountInString(in.Address) > 500 {
		return nil, citybrain.FieldError("address_string", "地址过长 address too long")
	}
	if !in.HasLocation && strings.TrimSpace(in.Address) == "" && in.AddressID == "" && (in.Source == SourceCitizen || in.Source == SourceOpen311) {
		return nil, citybrain.FieldError("location", "请在地图上标记位置或填写地址 a map pin or an address is required")
	}
	if len(in.Media) > 20 {
		return nil, citybrain.FieldError("media", "照片过多 at most 20 photos")
	}
	if err := checkMediaRefs("media", in.Media); err != nil {
		return nil, err
	}
	if in.Category != "" {
		c, ok := dict.Category(in.Category)
		if !ok {
			return nil, citybrain.FieldError("category", "分类不存在 unknown category %q", in.Category)
		}
		if c.Parent != "" && in.Subcategory == "" { // a subcategory code given as the category
			in.Subcategory, in.Category = c.Code, dict.Root(c.Code)
		}
	}
	if in.Subcategory != "" {
		c, ok := dict.Category(in.Subcategory)
		if !ok || dict.Root(c.Code) != in.Category {
			return nil, citybrain.FieldError("subcategory", "小类不属于该分类 subcategory %q not in %q", in.Subcategory, in.Category)
		}
	}
	if in.Priority != "" && !ValidPriority(in.Priority) {
		return nil, citybrain.FieldError("priority", "优先级无效 unknown priority %q", in.Priority)
	}
	if in.Dept != "" {
		if err := checkDept(dict, in.Dept); err != nil {
			return nil, err
		}
	}

	o := &Order{Source: in.Source, SourceRef: in.SourceRef, Category: in.Category, Subcategory: in.Subcategory,
		Priority: in.Priority, Title: in.Title, Description: in.Description, Attributes: in.Attributes,
		Media: in.Media, HasLocation: in.HasLocation, Lon: in.Lon, Lat: in.Lat, Address: strings.TrimSpace(in.Address),
		AddressID: in.AddressID, Zipcode: in.Zipcode, State: StateAccepted, CreatedAt: now, UpdatedAt: now}
	rep := in.Reporter
	rep.Channel = in.Source
	rep.ReportedAt = now
	if actor != nil && actor.Role != RoleSystem {
		rep.UserID = actor.UserID
	}
	o.Reporters = []Reporter{rep}
	o.Grid, o.Community, o.Street = in.Grid, in.Community, in.Street
	if in.HasLocation && s.locate != nil {
		if g, c, st, ok := s.locate(in.Lon, in.Lat); ok {
			o.Grid, o.Community, o.Street = g, c, st
		}
	}

	// The assistant triages every report; a reporter's or staff's category choice stands.
	needTriage := false
	var prop Proposal
	var triageErr error
	if s.triager != nil {
		tctx := ctx
		if cfg.TriageTimeout > 0 {
			var cancel context.CancelFunc
			tctx, cancel = context.WithTimeout(ctx, time.Duration(cfg.TriageTimeout))
			defer cancel()
		}
		prop, triageErr = s.triager.Triage(tctx, strings.TrimSpace(in.Title+" "+in.Description))
		if triageErr == nil {
			o.TriageCategory, o.TriageConfidence, o.TriageDept, o.TriageReasons = prop.Category, prop.Confidence, prop.Department, prop.Reasons
		}
	}
	if o.Category == "" {
		if _, ok := dict.Category(prop.Category); triageErr == nil && ok && prop.Confidence >= cfg.TriageThreshold {
			o.Category = dict.Root(prop.Category)
			if prop.Subcategory != "" {
				if c, ok := dict.Category(prop.Subcategory); ok && dict.Root(c.Code) == o.Category {
					o.Subcategory = c.Code
				}
			} else if prop.Category != o.Category {
				o.Subcategory = prop.Category
			}
		} else {
			needTriage = true
			if _, ok := dict.Category(prop.Category); ok && triageErr == nil {
				o.Category = dict.Root(prop.Category)
			} else {
				o.Category = "OTHER"
			}
		}
	}
	if o.Priority == "" {
		if triageErr == nil && ValidPriority(prop.Urgency) {
			o.Priority = prop.Urgency
		} else {
			o.Priority = PriorityNormal
		}
	}

	day := now.In(cal.Location())
	seq, err := s.repo.NextSequence(ctx, "tracking:"+day.Format("20060102"))
	if err != nil {
		return nil, fmt.Errorf("tracking number: %w", err)
	}
	o.TrackingNo = TrackingNumber(day, seq)
	token, hash, err := NewToken(s.random)
	if err != nil {
		return nil, err
	}
	o.TokenHash = hash

	sysActor := &citybrain.Actor{Username: "system", Role: RoleSystem}
	evs := []*Event{s.event(actor, ActCreate, "", StateAccepted, "", nil, true, map[string]string{"source": in.Source})}

	// Duplicates: an open order of the same category nearby within the window.
	var dups []*Order
	if o.HasLocation && cfg.DuplicateRadiusM > 0 {
		dups, err = s.nearby(ctx, o.Category, o.Lon, o.Lat, cfg.DuplicateRadiusM, now.Add(-time.Duration(cfg.DuplicateWindow)), 0)
		if err != nil {
			return nil, err
		}
	}
	res := &Created{Token: token, Duplicates: dups}
	if len(dups) > 0 && cfg.MergeDuplicates {
		master := dups[0]
		o.State, o.Resolution, o.DuplicateOf, o.ClosedAt = StateClosed, ResolutionDuplicate, master.ID, now
		o.LeadDept = master.LeadDept
		o.StatusNotes = fmt.Sprintf("已并入工单%s处理 merged into %s", master.TrackingNo, master.TrackingNo)
		ev := s.event(sysActor, ActCloseDuplicate, StateAccepted, StateClosed, o.StatusNotes, nil, true,
			map[string]string{"duplicate_of": strconv.FormatInt(master.ID, 10), "tracking_no": master.TrackingNo})
		evs = append(evs, ev)
		if err := s.repo.CreateOrder(ctx, o, evs...); err != nil {
			return nil, fmt.Errorf("create order: %w", err)
		}
		merged, err := s.mergeReporters(ctx, master.ID, o)
		if err != nil {
			return nil, err
		}
		res.Order, res.MergedInto = o, merged
		s.tell(ctx, o, ActCloseDuplicate, o.StatusNotes)
		return res, nil
	}
	if len(dups) > 0 {
		ids := make([]string, len(dups))
		for i, d := range dups {
			ids[i] = d.TrackingNo
		}
		evs = append(evs, s.event(sysActor, ActNote, StateAccepted, StateAccepted, "疑似重复 possible duplicates: "+strings.Join(ids, ","), nil, false,
			map[string]string{"possible_duplicates": strings.Join(ids, ",")}))
	}

	if needTriage {
		reason := "智能分拨置信度不足 assistant unsure"
		if triageErr != nil {
			reason = "智能分拨不可用 assistant unavailable"
		}
		evs = append(evs, s.event(sysActor, ActNeedTriage, StateAccepted, StateTriage, reason, nil, false,
			map[string]string{"proposed": prop.Category, "confidence": strconv.FormatFloat(prop.Confidence, 'f', 3, 64)}))
		o.State = StateTriage
	} else {
		lead, assist := in.Dept, []string(nil)
		if lead == "" {
			lead, assist = cat.Route(dict, o.Category, o.Subcategory)
		}
		s.dispatchInto(o, lead, assist, now, sla, cal)
		ev := s.event(sysActor, ActDispatch, StateAccepted, StateDispatched, "", nil, true,
			map[string]string{"dept": lead, "assist": strings.Join(assist, ","), "deadline": o.Deadline.Format(time.RFC3339)})
		if actor != nil && in.Dept != "" {
			ev = s.event(actor, ActDispatch, StateAccepted, StateDispatched, "", nil, true, ev.Data)
		}
		evs = append(evs, ev)
	}
	if err := s.repo.CreateOrder(ctx, o, evs...); err != nil {
		return nil, fmt.Errorf("create order: %w", err)
	}
	res.Order = o
	if o.State == StateDispatched {
		s.tellDept(ctx, o, ActDispatch, fmt.Sprintf("新工单%s请签收，%s前反馈 new order %s, feedback due %s", o.TrackingNo, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04"), o.TrackingNo, o.Deadline.In(cal.Location()).Format("2006-01-02 15:04")))
	}
	return res, nil
}

// nearby returns open orders of category within r metres of the point created since.
func (s *Service) nearby(ctx context.Context, category string, lon, lat, r float64, since time.Time, exclude int64) ([]*Order, error) {
	minLon, minLat, maxLon, maxLat := boundingBox(lon, lat, r)
	cands, err := s.repo.NearbyOpen(ctx, category, minLon, minLat, maxLon, maxLat, since)
	if err != nil {
		return nil, fmt.Errorf("nearby orders: %w", err)
	}
	var out []*Order
	for _, c := range cands {
		if c.ID != exclude && c.DuplicateOf == 0 && Haversine(lon, lat, c.Lon, c.Lat) <= r {
			out = append(out, c)
		}
	}
	return out, nil
}

// Duplicates suggests open orders that look like the same problem as order id.
func (s *Service) Duplicates(ctx context.Context, id int64) ([]*Order, error) {
	o, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !o.HasLocation {
		return nil, nil
	}
	cfg := s.Settings()
	return s.nearby(ctx, o.Category, o.Lon, o.Lat, cfg.DuplicateRadiusM, o.CreatedAt.Add(-time.Duration(cfg.DuplicateWindow)), o.ID)
}

// mergeReporters appends dup's reporters to master (并单) and informs them all.
func (s *Service) mergeReporters(ctx context.Context, masterID int64, dup *Order) (*Order, error) {
	for attempt := 0; ; attempt++ {
		m, err := s.repo.GetOrder(ctx, masterID)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		for _, r := range dup.Reporters {
			r.OrderID = dup.ID
			m.Reporters = append(m.Reporters, r)
		}
		m.UpdatedAt = s.clock.Now()
		ev := s.event(&citybrain.Actor{Username: "system", Role: RoleSystem}, ActMergeReporter, m.State, m.State,
			fmt.Sprintf("并入重复上报%s merged report %s", dup.TrackingNo, dup.TrackingNo), nil, false,
			map[string]string{"order": strconv.FormatInt(dup.ID, 10), "tracking_no": dup.TrackingNo})
		err = s.repo.UpdateOrder(ctx, m, ev)
		if citybrain.ErrorCode(err) == citybrain.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		return m, nil
	}
}

// dispatchInto assigns the units and starts the SLA clock at now.
func (s *Service) dispatchInto(o *Order, lead string, assist []string, now time.Time, sla SLAPolicy, cal *Calendar) {
	o.State = StateDispatched
	o.LeadDept, o.AssistDepts = lead, assist
	o.DispatchedAt = now
	rule, _ := sla.Match(o.Category, o.Subcategory, o.Priority)
	o.SLAName = rule.Name
	o.Deadline, o.RemindAt = sla.Deadline(cal, now, rule)
	o.Reminded, o.Escalated = false, false
	o.ExtensionPending, o.ExtensionUntil = false, time.Time{}
	o.RespondedAt = time.Time{}
	o.NextDue = nextDue(o)
}

// nextDue is the earliest instant the deadline job must look at o again.
func nextDue(o *Order) time.Time {
	if !o.Open() || !o.RespondedAt.IsZero() || o.Deadline.IsZero() || o.State == StateTriage || o.State == StateAccepted {
		return time.Time{}
	}
	if !o.Reminded && !o.RemindAt.IsZero() && o.RemindAt.Before(o.Deadline) {
		return o.RemindAt
	}
	if !o.Escalated {
		return o.Deadline
	}
	return time.Time{}
}

func (s *Service) event(a *citybrain.Actor, act Action, from, to State, reason string, att []string, public bool, data map[string]string) *Event {
	ev := &Event{At: s.clock.Now(), Action: act, From: from, To: to, Reason: reason, Attachments: att, Public: public, Data: data}
	if a == nil {
		ev.ActorRole = RoleReporter
		return ev
	}
	ev.ActorID, ev.ActorName, ev.ActorRole, ev.ActorDept = a.UserID, a.Username, a.Role, a.Department
	return ev
}

// tell informs every reporter of the order.
func (s *Service) tell(ctx context.Context, o *Order, act Action, text string) {
	if s.notify == nil {
		return
	}
	for i := range o.Reporters {
		r := o.Reporters[i]
		s.notify(ctx, Notice{OrderID: o.ID, TrackingNo: o.TrackingNo, Kind: act, To: "reporter", Reporter: &r, Text: text, At: s.clock.Now()})
	}
}

func (s *Service) tellDept(ctx context.Context, o *Order, act Action, text string) {
	if s.notify == nil || o.LeadDept == "" {
		return
	}
	s.notify(ctx, Notice{OrderID: o.ID, TrackingNo: o.TrackingNo, Kind: act, To: "dept", Dept: o.LeadDept, Text: text, At: s.clock.Now()})
}

func (s *Service) tellOperator(ctx context.Context, o *Order, act Action, text string) {
	if s.notify == nil {
		return
	}
	s.notify(ctx, Notice{OrderID: o.ID, TrackingNo: o.TrackingNo, Kind: act, To: "operator", Dept: o.LeadDept, Text: text, At: s.clock.Now()})
}
