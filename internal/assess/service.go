package assess

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// DefaultAckWithin is how soon an alert must be acknowledged to count as acknowledged in time.
const DefaultAckWithin = 30 * time.Minute

// Config configures a Service.
type Config struct {
	Repo Repository
	// Directory returns the current units and area hierarchy (it may change when the areas
	// are re-imported).
	Directory func() *Directory
	// DeviceState returns a device's live state ("online", "silent", "offline",
	// "never_seen", "disabled"); nil means device status is unknown (no online metrics).
	DeviceState func(id string) (state string, lastSeen time.Time)
	Now         func() time.Time
	Location    *time.Location // the district's time zone for periods (default Asia/Shanghai)
	AckWithin   time.Duration  // alerts acknowledged within this count as in time
}

// Service recomputes, stores and explains assessment results. Safe for concurrent use; it
// holds no mutable state of its own.
type Service struct {
	cfg Config
}

// NewService returns a service.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
		cfg.Location = loc
	}
	if cfg.AckWithin <= 0 {
		cfg.AckWithin = DefaultAckWithin
	}
	if cfg.Directory == nil {
		cfg.Directory = func() *Directory { return NewDirectory(nil, nil) }
	}
	return &Service{cfg: cfg}
}

// Location returns the time zone periods are read in.
func (s *Service) Location() *time.Location { return s.cfg.Location }

// ParsePeriod reads a period in the service's time zone.
func (s *Service) ParsePeriod(p string) (Period, error) { return ParsePeriod(p, s.cfg.Location) }

// ImportTemplates stores the shipped systems, creating a new version only for a template
// that changed. It returns the ids of the systems that got a new version.
func (s *Service) ImportTemplates(ctx context.Context) ([]string, error) {
	ts, err := Templates()
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, t := range ts {
		created, err := s.cfg.Repo.SaveSystem(ctx, t, "template")
		if err != nil {
			return nil, fmt.Errorf("import template %s: %w", t.ID, err)
		}
		if created {
			changed = append(changed, t.Key())
		}
	}
	return changed, nil
}

// Import parses (YAML or JSON), validates and stores a system; a system equal to the latest
// version is not stored again.
func (s *Service) Import(ctx context.Context, doc []byte, by string) (*System, bool, error) {
	sys, err := ParseSystem(doc)
	if err != nil {
		return nil, false, err
	}
	created, err := s.cfg.Repo.SaveSystem(ctx, sys, by)
	if err != nil {
		return nil, false, err
	}
	return sys, created, nil
}

// Systems lists every stored version.
func (s *Service) Systems(ctx context.Context) ([]SystemInfo, error) {
	return s.cfg.Repo.ListSystems(ctx)
}

// System returns a version of a system (0 = latest).
func (s *Service) System(ctx context.Context, id string, version int) (*System, error) {
	return s.cfg.Repo.GetSystem(ctx, id, version)
}

// PutManual validates and stores a manual input.
func (s *Service) PutManual(ctx context.Context, m ManualInput) (ManualInput, error) {
	sys, err := s.cfg.Repo.GetSystem(ctx, m.System, 0)
	if err != nil {
		return m, err
	}
	ind := sys.find(m.Indicator)
	if ind == nil {
		return m, citybrain.FieldError("indicator", "指标体系 %s 没有指标 %s / system %s has no indicator %s", m.System, m.Indicator, m.System, m.Indicator)
	}
	if !ind.Manual {
		return m, citybrain.FieldError("indicator", "指标 %s 由平台自动计算，不能人工录入 / indicator %s is computed by the platform", m.Indicator, m.Indicator)
	}
	p, err := s.ParsePeriod(m.Period)
	if err != nil {
		return m, err
	}
	m.Period = p.Name
	if strings.TrimSpace(m.Unit) == "" {
		return m, citybrain.FieldError("unit", "请填写考核对象 / unit is required")
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Value < 0 || (ind.Scoring.Kind == "direct" && m.Value > 100) {
		return m, citybrain.FieldError("value", "分值须在 0–100 之间 / value must be between 0 and 100")
	}
	m.Evidence = strings.TrimSpace(m.Evidence)
	if m.Evidence == "" && m.EvidenceURL == "" {
		return m, citybrain.FieldError("evidence", "人工录入须附佐证材料（说明或链接）/ a manual input needs evidence (text or a link)")
	}
	if n := len([]rune(m.Evidence)); n > 2000 {
		return m, citybrain.FieldError("evidence", "佐证说明过长（%d 字）/ evidence too long (%d characters, at most 2000)", n, n)
	}
	if m.EvidenceURL != "" && !strings.HasPrefix(m.EvidenceURL, "http://") && !strings.HasPrefix(m.EvidenceURL, "https://") && !strings.HasPrefix(m.EvidenceURL, "/") {
		return m, citybrain.FieldError("evidence_url", "佐证链接须为 http(s) 地址 / evidence_url must be an http(s) URL")
	}
	m.EnteredAt = s.cfg.Now().UTC()
	if err := s.cfg.Repo.PutManual(ctx, m); err != nil {
		return m, err
	}
	return m, nil
}

// Report is a period's stored results with what is needed to read them.
type Report struct {
	System     SystemInfo   `json:"system"`
	Run        Run          `json:"run"`
	Indicators []*Indicator `json:"indicators"`
	Grades     []GradeCut   `json:"grades"`
	MinCases   int          `json:"min_cases"`
	Results    []Result     `json:"results"`
	Previous   string       `json:"previous_period"`
}

// Recompute computes a period with the latest version of a system and replaces its stored
// results. Past periods keep their results until they are recomputed explicitly.
func (s *Service) Recompute(ctx context.Context, systemID, period, by string) (*Report, error) {
	sys, err := s.cfg.Repo.GetSystem(ctx, systemID, 0)
	if err != nil {
		return nil, err
	}
	p, err := s.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	inputs, err := s.inputs(ctx, sys, p, now)
	if err != nil {
		return nil, err
	}
	rs := sys.Evaluate(inputs)
	byUnit := map[string]map[string]float64{}
	for _, in := range inputs {
		byUnit[in.Unit] = in.Metrics
	}
	for i := range rs {
		rs[i].Metrics = byUnit[rs[i].Unit]
	}
	if _, prev, err := s.cfg.Repo.Results(ctx, sys.ID, p.Previous().Name); err == nil {
		CompareWith(rs, prev)
	} else if citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
		return nil, err
	}
	run := Run{System: sys.ID, Version: sys.Version, Period: p.Name, From: p.From.UTC(), To: p.To.UTC(), ComputedAt: now, ComputedBy: by}
	if err := s.cfg.Repo.SaveResults(ctx, run, rs); err != nil {
		return nil, err
	}
	return s.Results(ctx, sys.ID, p.Name)
}

// Results returns a period's stored results (ENOTFOUND if it was never computed), ranked,
// with unit names and the indicators of the version they were computed with.
func (s *Service) Results(ctx context.Context, systemID, period string) (*Report, error) {
	p, err := s.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	run, rs, err := s.cfg.Repo.Results(ctx, systemID, p.Name)
	if err != nil {
		if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
			return nil, citybrain.Errorf(citybrain.ENOTFOUND, "%s 尚未计算 %s 的结果 / %s has no results for %s yet: recompute it", systemID, p.Name, systemID, p.Name)
		}
		return nil, err
	}
	sys, err := s.cfg.Repo.GetSystem(ctx, systemID, run.Version)
	if err != nil {
		return nil, err
	}
	dir := s.cfg.Directory()
	for i := range rs {
		u := dir.Unit(sys.UnitKind, rs[i].Unit)
		rs[i].NameZH, rs[i].NameEN = u.NameZH, u.NameEN
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Ranked != rs[j].Ranked {
			return rs[i].Ranked
		}
		if rs[i].Total != rs[j].Total {
			return rs[i].Total > rs[j].Total
		}
		return rs[i].Unit < rs[j].Unit
	})
	return &Report{System: info(sys), Run: run, Indicators: sys.Indicators, Grades: sys.Grades, MinCases: sys.MinCases,
		Results: rs, Previous: p.Previous().Name}, nil
}

// Ensure returns a period's stored results, computing them first when there are none.
func (s *Service) Ensure(ctx context.Context, systemID, period, by string) (*Report, error) {
	r, err := s.Results(ctx, systemID, period)
	if citybrain.ErrorCode(err) == citybrain.ENOTFOUND {
		if _, err := s.cfg.Repo.GetSystem(ctx, systemID, 0); err != nil {
			return nil, err
		}
		return s.Recompute(ctx, systemID, period, by)
	}
	return r, err
}

// Periods lists the computed periods of a system, oldest first.
func (s *Service) Periods(ctx context.Context, systemID string) ([]Run, error) {
	return s.cfg.Repo.Periods(ctx, systemID)
}

// Trend returns a unit's stored results over time, oldest first.
func (s *Service) Trend(ctx context.Context, systemID, unit string) ([]TrendPoint, error) {
	return s.cfg.Repo.Trend(ctx, systemID, unit)
}

func info(s *System) SystemInfo {
	return SystemInfo{ID: s.ID, Version: s.Version, NameZH: s.NameZH, NameEN: s.NameEN, UnitKind: s.UnitKind}
}

func isArea(kind string) bool { return kind == UnitStreet || kind == UnitCommunity }

// inputs gathers every unit's metrics, manual inputs and case counts.
func (s *Service) inputs(ctx context.Context, sys *System, p Period, now time.Time) ([]Input, error) {
	need := map[string]bool{}
	for _, m := range sys.Metrics() {
		need[strings.SplitN(m, "_", 2)[0]] = true
	}
	dir := s.cfg.Directory()
	units := map[string]map[string]float64{}
	order := []string{}
	add := func(code string) map[string]float64 {
		if m, ok := units[code]; ok {
			return m
		}
		m := map[string]float64{}
		units[code] = m
		order = append(order, code)
		return m
	}
	for _, u := range dir.Units(sys.UnitKind) {
		add(u.Code)
	}
	if need["wo"] {
		if _, err := s.cfg.Repo.SyncWorkOrderFacts(ctx, s.cfg.Location, func(code string) (string, string) {
			return dir.Resolve(UnitStreet, code), dir.Resolve(UnitCommunity, code)
		}); err != nil {
			return nil, err
		}
		ums, err := s.cfg.Repo.WorkOrderMetrics(ctx, sys.UnitKind, p.From, p.To, now)
		if err != nil {
			return nil, err
		}
		for _, um := range ums {
			if um.Unit == "" {
				continue
			}
			m := add(um.Unit)
			for k, v := range um.Metrics {
				m[k] = v
			}
		}
	}
	if need["dev"] && isArea(sys.UnitKind) {
		if err := s.deviceMetrics(ctx, sys.UnitKind, dir, units); err != nil {
			return nil, err
		}
	}
	if (need["alert"] || need["dev"]) && isArea(sys.UnitKind) {
		if err := s.alertMetrics(ctx, sys.UnitKind, p, now, dir, units); err != nil {
			return nil, err
		}
	}
	if need["gov"] && sys.UnitKind == UnitDepartment {
		gm, err := s.govMetrics(ctx, p, now)
		if err != nil {
			return nil, err
		}
		for code, vals := range gm {
			m := add(code)
			for k, v := range vals {
				m[k] = v
			}
		}
	}
	manual, err := s.cfg.Repo.ManualInputs(ctx, sys.ID, p.Name)
	if err != nil {
		return nil, err
	}
	man := map[string]map[string]float64{}
	for _, mi := range manual {
		if man[mi.Unit] == nil {
			man[mi.Unit] = map[string]float64{}
		}
		man[mi.Unit][mi.Indicator] = mi.Value
		add(mi.Unit)
	}
	out := make([]Input, 0, len(order))
	for _, code := range order {
		if len(units[code]) == 0 && len(man[code]) == 0 {
			continue // nothing known about the unit in this period: not scored at all
		}
		in := Input{Unit: code, Metrics: units[code], Manual: man[code]}
		if sys.CaseMetric != "" {
			in.Cases = int(units[code][sys.CaseMetric])
		}
		out = append(out, in)
	}
	return out, nil
}

func pct(n, d int) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return round2(100 * float64(n) / float64(d)), true
}

// deviceMetrics: dev_registered = enabled devices in the unit; dev_online_rate = online ÷
// registered; dev_silent = devices flagged silent (nothing for 2.5 × their report interval);
// dev_silent_rate = silent ÷ registered. Status is the live status at compute time.
func (s *Service) deviceMetrics(ctx context.Context, kind string, dir *Directory, units map[string]map[string]float64) error {
	devs, err := s.cfg.Repo.DeviceRows(ctx)
	if err != nil {
		return err
	}
	type agg struct{ reg, online, silent int }
	by := map[string]*agg{}
	for _, d := range devs {
		if d.Disabled {
			continue
		}
		u := dir.Resolve(kind, d.Area)
		if u == "" {
			continue
		}
		a := by[u]
		if a == nil {
			a = &agg{}
			by[u] = a
		}
		a.reg++
		if s.cfg.DeviceState != nil {
			switch st, _ := s.cfg.DeviceState(d.ID); st {
			case "online":
				a.online++
			case "silent":
				a.silent++
			}
		}
	}
	for u, a := range by {
		m := units[u]
		if m == nil {
			continue
		}
		m["dev_registered"] = float64(a.reg)
		if s.cfg.DeviceState != nil {
			m["dev_silent"] = float64(a.silent)
			m["dev_online_rate"], _ = pct(a.online, a.reg)
			m["dev_silent_rate"], _ = pct(a.silent, a.reg)
		}
	}
	return nil
}

// alertMetrics: alert_count = alerts fired in the period; alert_ack_ontime_rate = alerts
// acknowledged (or resolved) within AckWithin of firing ÷ alerts whose window has passed or
// that were acknowledged; alert_resolve_hours = mean fired → resolved of resolved alerts;
// dev_mttr_hours = the same for alerts about a device (a device fault until repaired).
func (s *Service) alertMetrics(ctx context.Context, kind string, p Period, now time.Time, dir *Directory, units map[string]map[string]float64) error {
	aggs, err := s.cfg.Repo.AlertAggregates(ctx, p.From, p.To, now, s.cfg.AckWithin)
	if err != nil {
		return err
	}
	type sum struct {
		count, due, ok, res, devRes int
		ms, devMs                   int64
	}
	by := map[string]*sum{}
	for _, a := range aggs {
		u := dir.Resolve(kind, a.Area)
		if u == "" {
			continue
		}
		x := by[u]
		if x == nil {
			x = &sum{}
			by[u] = x
		}
		x.count += a.Count
		x.due += a.AckDue
		x.ok += a.AckOnTime
		x.res += a.Resolved
		x.ms += a.ResolveMs
		if a.Device {
			x.devRes += a.Resolved
			x.devMs += a.ResolveMs
		}
	}
	for u, x := range by {
		m := units[u]
		if m == nil {
			continue
		}
		m["alert_count"] = float64(x.count)
		if v, ok := pct(x.ok, x.due); ok {
			m["alert_ack_ontime_rate"] = v
		}
		if x.res > 0 {
			m["alert_resolve_hours"] = round2(float64(x.ms) / float64(x.res) / 3.6e6)
		}
		if x.devRes > 0 {
			m["dev_mttr_hours"] = round2(float64(x.devMs) / float64(x.devRes) / 3.6e6)
		}
	}
	return nil
}

// govMetrics (per owning department): gov_datasets = datasets catalogued; gov_graded_rate =
// datasets whose every column has a confirmed grade ÷ datasets; gov_sharing_rate = datasets
// open to sharing (unconditional or conditional) ÷ datasets; gov_share_ontime_rate = requests
// filed in the period and answered by their answer deadline ÷ requests answered or past due.
func (s *Service) govMetrics(ctx context.Context, p Period, now time.Time) (map[string]map[string]float64, error) {
	dss, err := s.cfg.Repo.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	reqs, err := s.cfg.Repo.SharingRequests(ctx, p.From, p.To)
	if err != nil {
		return nil, err
	}
	type agg struct{ n, graded, shared, due, ontime int }
	by := map[string]*agg{}
	get := func(o string) *agg {
		if by[o] == nil {
			by[o] = &agg{}
		}
		return by[o]
	}
	for _, d := range dss {
		a := get(d.Owner)
		a.n++
		if d.Graded {
			a.graded++
		}
		if d.Sharing != "none" {
			a.shared++
		}
	}
	for _, r := range reqs {
		a := get(r.Owner)
		if !r.DecidedAt.IsZero() || now.After(r.AnswerDue) {
			a.due++
			if !r.DecidedAt.IsZero() && !r.DecidedAt.After(r.AnswerDue) {
				a.ontime++
			}
		}
	}
	out := map[string]map[string]float64{}
	for o, a := range by {
		m := map[string]float64{"gov_datasets": float64(a.n)}
		if v, ok := pct(a.graded, a.n); ok {
			m["gov_graded_rate"] = v
		}
		if v, ok := pct(a.shared, a.n); ok {
			m["gov_sharing_rate"] = v
		}
		if v, ok := pct(a.ontime, a.due); ok {
			m["gov_share_ontime_rate"] = v
		}
		out[o] = m
	}
	return out, nil
}

// ManualInputs lists the manual inputs of a system for a period.
func (s *Service) ManualInputs(ctx context.Context, systemID, period string) ([]ManualInput, error) {
	p, err := s.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	return s.cfg.Repo.ManualInputs(ctx, systemID, p.Name)
}
