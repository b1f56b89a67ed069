package rule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
)

// Repository stores rules and the engine's state snapshot. Implementations return
// ENOTFOUND for an unknown rule and ECONFLICT when creating an id that exists; other
// errors are failures of the store.
type Repository interface {
	CreateRule(ctx context.Context, r Rule) error
	UpdateRule(ctx context.Context, r Rule) error
	DeleteRule(ctx context.Context, id string) error
	GetRule(ctx context.Context, id string) (Rule, error)
	ListRules(ctx context.Context) ([]Rule, error)
	// SaveRuleState replaces the stored engine snapshot.
	SaveRuleState(ctx context.Context, state []byte, at time.Time) error
	// LoadRuleState returns the stored snapshot, or nil when there is none.
	LoadRuleState(ctx context.Context) ([]byte, error)
}

// History supplies recent history for dry runs (telemetry's query API and the device
// event log behind it).
type History interface {
	// Devices lists up to limit devices of profile whose area matches the scope (empty: all).
	Devices(ctx context.Context, profile string, scope []string, limit int) ([]DeviceInfo, error)
	// Readings returns one device's stored readings of one measurement in [from, to).
	Readings(ctx context.Context, deviceID, measurement string, from, to time.Time) ([]Reading, error)
	// Events returns one device's events in [from, to).
	Events(ctx context.Context, deviceID string, from, to time.Time) ([]Event, error)
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Repo    Repository // required
	Engine  *Engine    // required
	Catalog Catalog
	History History // nil: dry runs only over given readings
	Clock   citybrain.Clock
	// Signals receives the signals that rule changes produce (a removed rule's alerts
	// resolve); nil drops them.
	Signals func(ctx context.Context, sigs []Signal)
}

// Service manages rules: validation, storage and keeping the engine in step.
// It is safe for concurrent use; changes are serialised.
type Service struct {
	mu  sync.Mutex
	cfg ServiceConfig
}

// NewService returns a service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Clock == nil {
		cfg.Clock = citybrain.SystemClock{}
	}
	return &Service{cfg: cfg}
}

// Catalog returns the profile catalog rules are validated against.
func (s *Service) Catalog() Catalog { return s.cfg.Catalog }

// Engine returns the engine the service keeps in step.
func (s *Service) Engine() *Engine { return s.cfg.Engine }

// Load reads every rule into the engine and restores the saved window state. Rules that
// no longer validate (a profile changed) are skipped and reported in the returned map.
func (s *Service) Load(ctx context.Context) (map[string]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rules, err := s.cfg.Repo.ListRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	_, errs := s.cfg.Engine.Load(rules)
	state, err := s.cfg.Repo.LoadRuleState(ctx)
	if err != nil {
		return errs, fmt.Errorf("load rule state: %w", err)
	}
	if state != nil {
		if err := s.cfg.Engine.Restore(state); err != nil {
			// a bad snapshot costs the windows, not the platform
			errs["(state)"] = err
		}
	}
	return errs, nil
}

// SaveState persists the engine's window state.
func (s *Service) SaveState(ctx context.Context) error {
	b, err := s.cfg.Engine.Snapshot()
	if err != nil {
		return err
	}
	return s.cfg.Repo.SaveRuleState(ctx, b, s.cfg.Clock.Now())
}

func validID(id string) bool {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`).MatchString(id)
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "r-" + hex.EncodeToString(b)
}

func (s *Service) signals(ctx context.Context, sigs []Signal) {
	if s.cfg.Signals != nil && len(sigs) > 0 {
		s.cfg.Signals(ctx, sigs)
	}
}

// Create validates and stores a new rule and starts evaluating it when enabled. An empty
// ID is generated.
func (s *Service) Create(ctx context.Context, r Rule) (Rule, error) {
	r.Normalize()
	if r.ID == "" {
		r.ID = newID()
	} else if !validID(r.ID) {
		return Rule{}, citybrain.FieldError("id", "规则编号只能含小写字母、数字、-、_、.（最多64位）/ id must be lower-case letters, digits, - _ . (at most 64)")
	}
	if err := Validate(r, s.cfg.Catalog); err != nil {
		return Rule{}, err
	}
	now := s.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	r.CreatedAt, r.UpdatedAt = now, now
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cfg.Repo.CreateRule(ctx, r); err != nil {
		return Rule{}, err
	}
	sigs, err := s.cfg.Engine.Upsert(r)
	if err != nil {
		return Rule{}, err
	}
	s.signals(ctx, sigs)
	return r, nil
}

// Update replaces a rule's definition (the id and creation time stay).
func (s *Service) Update(ctx context.Context, id string, r Rule) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.cfg.Repo.GetRule(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	r.ID, r.CreatedAt = old.ID, old.CreatedAt
	return s.save(ctx, r)
}

func (s *Service) save(ctx context.Context, r Rule) (Rule, error) {
	r.Normalize()
	if err := Validate(r, s.cfg.Catalog); err != nil {
		return Rule{}, err
	}
	r.UpdatedAt = s.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	if err := s.cfg.Repo.UpdateRule(ctx, r); err != nil {
		return Rule{}, err
	}
	sigs, err := s.cfg.Engine.Upsert(r)
	if err != nil {
		return Rule{}, err
	}
	s.signals(ctx, sigs)
	return r, nil
}

// Patch is a partial update; nil fields stay as they are.
type Patch struct {
	Name              *string      `json:"name,omitempty"`
	Description       *string      `json:"description,omitempty"`
	Profile           *string      `json:"profile,omitempty"`
	AreaScope         *[]string    `json:"area_scope,omitempty"`
	Kind              *Kind        `json:"kind,omitempty"`
	Condition         *string      `json:"condition,omitempty"`
	For               *Duration    `json:"for,omitempty"`
	Severity          *Severity    `json:"severity,omitempty"`
	Enabled           *bool        `json:"enabled,omitempty"`
	Activity          *[]string    `json:"activity,omitempty"`
	ClearEvents       *[]string    `json:"clear_events,omitempty"`
	DailyWindow       *DailyWindow `json:"daily_window,omitempty"`
	Group             *string      `json:"group,omitempty"`
	OpenWorkOrder     *bool        `json:"open_work_order,omitempty"`
	WorkOrderCategory *string      `json:"work_order_category,omitempty"`
}

// Apply returns r with the patch applied.
func (p Patch) Apply(r Rule) Rule {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Name, p.Name)
	set(&r.Description, p.Description)
	set(&r.Profile, p.Profile)
	set(&r.Condition, p.Condition)
	set(&r.WorkOrderCategory, p.WorkOrderCategory)
	set(&r.Group, p.Group)
	if p.AreaScope != nil {
		r.AreaScope = *p.AreaScope
	}
	if p.Kind != nil {
		r.Kind = *p.Kind
	}
	if p.For != nil {
		r.For = *p.For
	}
	if p.Severity != nil {
		r.Severity = *p.Severity
	}
	if p.Enabled != nil {
		r.Enabled = *p.Enabled
	}
	if p.Activity != nil {
		r.Activity = *p.Activity
	}
	if p.ClearEvents != nil {
		r.ClearEvents = *p.ClearEvents
	}
	if p.DailyWindow != nil {
		r.DailyWindow = p.DailyWindow
		if p.DailyWindow.Start == "" && p.DailyWindow.End == "" {
			r.DailyWindow = nil
		}
	}
	if p.OpenWorkOrder != nil {
		r.OpenWorkOrder = *p.OpenWorkOrder
	}
	return r
}

// PatchRule applies a partial update.
func (s *Service) PatchRule(ctx context.Context, id string, p Patch) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.cfg.Repo.GetRule(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	return s.save(ctx, p.Apply(old))
}

// SetEnabled enables or disables a rule; disabling resolves its open alerts.
func (s *Service) SetEnabled(ctx context.Context, id string, enabled bool) (Rule, error) {
	return s.PatchRule(ctx, id, Patch{Enabled: &enabled})
}

// Delete removes a rule; its open alerts resolve.
func (s *Service) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cfg.Repo.DeleteRule(ctx, id); err != nil {
		return err
	}
	s.signals(ctx, s.cfg.Engine.Remove(id))
	return nil
}

// Get returns one rule.
func (s *Service) Get(ctx context.Context, id string) (Rule, error) {
	return s.cfg.Repo.GetRule(ctx, id)
}

// ListFilter selects rules.
type ListFilter struct {
	Profile  string
	Severity Severity
	Enabled  *bool
	Query    string // substring of the name or id
}

// List returns the rules matching f, by id.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Rule, error) {
	all, err := s.cfg.Repo.ListRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out := all[:0]
	for _, r := range all {
		switch {
		case f.Profile != "" && r.Profile != f.Profile,
			f.Severity != "" && r.Severity != f.Severity,
			f.Enabled != nil && r.Enabled != *f.Enabled,
			f.Query != "" && !strings.Contains(r.Name, f.Query) && !strings.Contains(r.ID, f.Query):
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Dry-run limits.
const (
	MaxDryRunDevices  = 200
	MaxDryRunReadings = 500_000
	MaxDryRunSpan     = 7 * 24 * time.Hour
)

// DryRunHistory replays the recent history of the rule's devices (up to MaxDryRunDevices
// in scope) between from and to through the rule and reports when it would have fired.
func (s *Service) DryRunHistory(ctx context.Context, r Rule, from, to time.Time) (DryRunResult, error) {
	r.Normalize()
	if err := Validate(r, s.cfg.Catalog); err != nil {
		return DryRunResult{}, err
	}
	if s.cfg.History == nil {
		return DryRunResult{}, citybrain.Errorf(citybrain.EUNAVAILABLE, "历史数据不可用 / history is not available for dry runs")
	}
	if to.IsZero() {
		to = s.cfg.Clock.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) || to.Sub(from) > MaxDryRunSpan {
		return DryRunResult{}, citybrain.FieldError("from", "试运行时段须在 7 天以内且开始早于结束 / the dry-run range must be under 7 days with from before to")
	}
	c, err := compile(r, s.cfg.Catalog)
	if err != nil {
		return DryRunResult{}, err
	}
	devs, err := s.cfg.History.Devices(ctx, r.Profile, r.AreaScope, MaxDryRunDevices)
	if err != nil {
		return DryRunResult{}, fmt.Errorf("dry run devices: %w", err)
	}
	var in DryRunInput
	in.From, in.To = from, to
	known := map[string]DeviceInfo{}
	measures := c.measures
	if r.Kind == KindAbsence {
		// activity names may be measurements (a non-zero report is a sign of life)
		measures = r.Activity
	}
	for _, d := range devs {
		known[d.ID] = d
		for _, m := range measures {
			rs, err := s.cfg.History.Readings(ctx, d.ID, m, from, to)
			if err != nil {
				return DryRunResult{}, fmt.Errorf("dry run readings: %w", err)
			}
			in.Readings = append(in.Readings, rs...)
			if len(in.Readings) > MaxDryRunReadings {
				return DryRunResult{}, citybrain.Errorf(citybrain.ETOOLARGE, "试运行数据过多，请缩短时段或缩小区域 / too much history: shorten the range or narrow the area")
			}
		}
		if r.Kind == KindAbsence || r.Kind == KindEvent {
			es, err := s.cfg.History.Events(ctx, d.ID, from, to)
			if err != nil {
				return DryRunResult{}, fmt.Errorf("dry run events: %w", err)
			}
			in.Events = append(in.Events, es...)
		}
	}
	cfg := Config{
		Lookup:   func(id string) (DeviceInfo, bool) { d, ok := known[id]; return d, ok },
		Catalog:  s.cfg.Catalog,
		Location: s.cfg.Engine.cfg.Location,
	}
	e := NewEngine(cfg)
	r.Enabled = true
	if _, err := e.Upsert(r); err != nil {
		return DryRunResult{}, err
	}
	// absence rules count silence from the start of the range for every device
	for _, d := range devs {
		e.UpdateDevice(d, from)
	}
	return dryRunOn(e, in)
}
