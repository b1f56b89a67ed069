package rule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Reading is one numeric measurement of one device at one time.
type Reading struct {
	DeviceID    string  `json:"device_id"`
	Measurement string  `json:"measurement"`
	TS          int64   `json:"ts"` // epoch ms
	Value       float64 `json:"value"`
}

// Event is a discrete device event such as "smoke_alarm" or "door_open".
type Event struct {
	DeviceID string         `json:"device_id"`
	Type     string         `json:"type"`
	TS       int64          `json:"ts"` // epoch ms
	Data     map[string]any `json:"data,omitempty"`
}

// StatusChange reports a device going online or offline.
type StatusChange struct {
	DeviceID string `json:"device_id"`
	Online   bool   `json:"online"`
	TS       int64  `json:"ts"` // epoch ms
}

// DeviceInfo is what the engine needs to know about a device: its profile and area.
// AreaPath lists the area codes from the district down to the device's grid.
type DeviceInfo struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Profile  string   `json:"profile"`
	Area     string   `json:"area"`
	AreaPath []string `json:"area_path,omitempty"`
	// Household groups home devices for household absence rules ("" for none).
	Household string `json:"household,omitempty"`
}

// Lookup finds a device by id; the engine calls it once per device and caches the answer
// until UpdateDevice or ForgetDevice.
type Lookup func(deviceID string) (DeviceInfo, bool)

// State is the evaluation state of a (rule, device) pair.
type State string

// States of a (rule, device) pair.
const (
	StateInactive State = "inactive"
	StatePending  State = "pending"
	StateFiring   State = "firing"
)

// Signal is a transition of a (rule, device) pair, or for event rules each matching event.
// Inactive means the condition cleared (the alert resolves itself).
type Signal struct {
	RuleID   string   `json:"rule_id"`
	RuleName string   `json:"rule_name"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	DeviceID string   `json:"device_id"`
	// Entity is what the alert is about when it is not the device itself
	// ("household:<id>" for household absence rules); empty means the device.
	Entity            string    `json:"entity,omitempty"`
	Profile           string    `json:"profile"`
	Area              string    `json:"area"`
	State             State     `json:"state"`
	At                time.Time `json:"at"`
	Since             time.Time `json:"since"` // when the condition started holding
	Value             float64   `json:"value"`
	Summary           string    `json:"summary"`
	Readings          []Reading `json:"readings,omitempty"`
	OpenWorkOrder     bool      `json:"open_work_order,omitempty"`
	WorkOrderCategory string    `json:"work_order_category,omitempty"`
}

// RuleHealth reports how a rule's evaluations went.
type RuleHealth struct {
	RuleID      string `json:"rule_id"`
	Evals       int64  `json:"evals"`
	Errors      int64  `json:"errors"`
	LastError   string `json:"last_error,omitempty"`
	Quarantined bool   `json:"quarantined"`
}

// Stats counts the engine's inputs.
type Stats struct {
	Readings      int64 `json:"readings"`
	UnknownDevice int64 `json:"unknown_device"`
	OutOfOrder    int64 `json:"out_of_order"`
	Devices       int   `json:"devices"`
	Rules         int   `json:"rules"`
}

// Config configures an Engine.
type Config struct {
	// Lookup finds devices (required).
	Lookup Lookup
	// Catalog checks rules against device profiles; nil accepts any measurement name.
	Catalog Catalog
	// Location is the time zone of daily windows; default China Standard Time (UTC+8).
	Location *time.Location
	// MaxPoints bounds each measurement's window buffer per device; default 1024.
	MaxPoints int
	// QuarantineAfter consecutive evaluation errors stop a rule until it is saved again;
	// default 100.
	QuarantineAfter int
}

// Engine evaluates rules incrementally. See the package comment for its guarantees.
type Engine struct {
	mu      sync.Mutex
	cfg     Config
	rules   map[string]*compiled
	index   map[string]*profileIndex
	devices map[string]*devState
	groups  map[string]*groupState // household absence states by groupKey
	gen     uint64
	vm      vm.VM
	out     []Signal
	stats   Stats
}

type profileIndex struct {
	byMeasure map[string][]*compiled
	absence   []*compiled
	household []*compiled // absence rules grouped by household
	offline   []*compiled
	event     []*compiled
	keep      map[string]time.Duration // window retention per measurement
}

type devState struct {
	info     DeviceInfo
	env      map[string]any
	latest   map[string]point
	series   map[string]*ring
	rules    map[string]*ruleState
	gen      uint64
	routes   map[string][]*compiled
	scoped   *profileIndex // absence/offline/event rules in scope
	online   bool
	lastSeen int64
}

// groupState is the absence state of a household for one rule.
type groupState struct {
	rule, household string
	device, area    string // the household's last active device and its area
	st              ruleState
}

func groupKey(ruleID, household string) string { return ruleID + "\x00" + household }

type ruleState struct {
	State   State
	Since   int64 // condition true since; last activity (absence); offline since (offline)
	FiredAt int64
	Value   float64
	fp      string
}

// NewEngine returns an engine with no rules.
func NewEngine(cfg Config) *Engine {
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*3600)
	}
	if cfg.MaxPoints <= 0 {
		cfg.MaxPoints = 1024
	}
	if cfg.QuarantineAfter <= 0 {
		cfg.QuarantineAfter = 100
	}
	if cfg.Lookup == nil {
		cfg.Lookup = func(string) (DeviceInfo, bool) { return DeviceInfo{}, false }
	}
	return &Engine{
		cfg:     cfg,
		rules:   map[string]*compiled{},
		index:   map[string]*profileIndex{},
		devices: map[string]*devState{},
		groups:  map[string]*groupState{},
	}
}

// Load replaces all rules. Invalid rules are skipped; their errors are returned keyed by
// rule id. States of rules that disappear or change are dropped (signals for them are
// returned so their alerts resolve).
func (e *Engine) Load(rules []Rule) ([]Signal, map[string]error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := map[string]error{}
	next := map[string]*compiled{}
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		c, err := compile(r, e.cfg.Catalog)
		if err != nil {
			errs[r.ID] = err
			continue
		}
		if old, ok := e.rules[r.ID]; ok && old.fp == c.fp {
			c.evals, c.errs = old.evals, old.errs
		}
		next[r.ID] = c
	}
	e.out = e.out[:0]
	e.replace(next)
	return e.flush(), errs
}

// Upsert adds or replaces one rule (a disabled rule is removed). Signals for states the
// change ends are returned.
func (e *Engine) Upsert(r Rule) ([]Signal, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := make(map[string]*compiled, len(e.rules)+1)
	for id, c := range e.rules {
		next[id] = c
	}
	delete(next, r.ID)
	if r.Enabled {
		c, err := compile(r, e.cfg.Catalog)
		if err != nil {
			return nil, err
		}
		next[r.ID] = c
	}
	e.out = e.out[:0]
	e.replace(next)
	return e.flush(), nil
}

// Remove deletes a rule; its pending and firing states end with inactive signals.
func (e *Engine) Remove(id string) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := make(map[string]*compiled, len(e.rules))
	for k, c := range e.rules {
		if k != id {
			next[k] = c
		}
	}
	e.out = e.out[:0]
	e.replace(next)
	return e.flush()
}

// replace installs a new rule set and rebuilds the index; e.mu held.
func (e *Engine) replace(next map[string]*compiled) {
	// End states of rules removed or changed.
	for _, ds := range e.devices {
		for id, st := range ds.rules {
			c, ok := next[id]
			if ok && c.fp == st.fp {
				continue
			}
			if st.State != StateInactive {
				if old := e.rules[id]; old != nil {
					e.emit(old, ds, StateInactive, max(ds.lastSeen, st.Since), st)
				}
			}
			delete(ds.rules, id)
		}
	}
	for k, g := range e.groups {
		c, ok := next[g.rule]
		if ok && c.fp == g.st.fp {
			continue
		}
		if g.st.State != StateInactive {
			if old := e.rules[g.rule]; old != nil {
				e.emitGroup(old, g, StateInactive, max(g.st.Since, g.st.FiredAt))
			}
		}
		delete(e.groups, k)
	}
	e.rules = next
	e.gen++
	e.index = map[string]*profileIndex{}
	ids := make([]string, 0, len(next))
	for id := range next {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic evaluation order
	for _, id := range ids {
		c := next[id]
		pi := e.index[c.rule.Profile]
		if pi == nil {
			pi = &profileIndex{byMeasure: map[string][]*compiled{}, keep: map[string]time.Duration{}}
			e.index[c.rule.Profile] = pi
		}
		switch {
		case c.rule.Kind == KindAbsence && c.rule.Group == GroupHousehold:
			pi.household = append(pi.household, c)
		case c.rule.Kind == KindAbsence:
			pi.absence = append(pi.absence, c)
		case c.rule.Kind == KindOffline:
			pi.offline = append(pi.offline, c)
		case c.rule.Kind == KindEvent:
			pi.event = append(pi.event, c)
		default:
			for _, m := range c.measures {
				pi.byMeasure[m] = append(pi.byMeasure[m], c)
			}
			for _, w := range c.wins {
				pi.keep[w.Measurement] = max(pi.keep[w.Measurement], w.Window)
			}
		}
	}
	for _, ds := range e.devices {
		e.refresh(ds)
	}
}

// refresh brings a device's caches in line with the current rule generation; e.mu held.
func (e *Engine) refresh(ds *devState) {
	if ds.gen == e.gen {
		return
	}
	ds.gen = e.gen
	ds.routes = map[string][]*compiled{}
	pi := e.index[ds.info.Profile]
	ds.scoped = &profileIndex{}
	for _, x := range []*profileIndex{e.index[AnyProfile], pi} {
		if x == nil || (x == pi && ds.info.Profile == AnyProfile) {
			continue
		}
		if x != pi {
			for _, c := range x.offline {
				if inScope(&c.rule, ds.info) {
					ds.scoped.offline = append(ds.scoped.offline, c)
				}
			}
		}
		if ds.info.Household == "" {
			continue
		}
		for _, c := range x.household {
			if inScope(&c.rule, ds.info) {
				ds.scoped.household = append(ds.scoped.household, c)
			}
		}
	}
	if pi == nil {
		for m := range ds.series {
			delete(ds.series, m)
		}
		return
	}
	for _, c := range pi.absence {
		if inScope(&c.rule, ds.info) {
			ds.scoped.absence = append(ds.scoped.absence, c)
		}
	}
	for _, c := range pi.offline {
		if inScope(&c.rule, ds.info) {
			ds.scoped.offline = append(ds.scoped.offline, c)
		}
	}
	for _, c := range pi.event {
		if inScope(&c.rule, ds.info) {
			ds.scoped.event = append(ds.scoped.event, c)
		}
	}
	for m, r := range ds.series {
		if k, ok := pi.keep[m]; !ok {
			delete(ds.series, m)
		} else {
			r.keep = k
		}
	}
}

func inScope(r *Rule, d DeviceInfo) bool {
	if len(r.AreaScope) == 0 {
		return true
	}
	for _, s := range r.AreaScope {
		if strings.HasPrefix(d.Area, s) {
			return true
		}
		for _, p := range d.AreaPath {
			if p == s {
				return true
			}
		}
	}
	return false
}

// device returns the state of a device, creating it on first sight at ts; nil when the
// device is unknown. e.mu held.
func (e *Engine) device(id string, ts int64) *devState {
	ds := e.devices[id]
	if ds == nil {
		info, ok := e.cfg.Lookup(id)
		if !ok {
			e.stats.UnknownDevice++
			return nil
		}
		info.ID = id
		ds = newDevState(info)
		e.devices[id] = ds
	}
	e.refresh(ds)
	if ds.lastSeen == 0 {
		ds.lastSeen = ts
	}
	for _, c := range ds.scoped.absence {
		if ds.rules[c.rule.ID] == nil {
			ds.rules[c.rule.ID] = &ruleState{State: StateInactive, Since: ts, fp: c.fp}
		}
	}
	for _, c := range ds.scoped.household {
		k := groupKey(c.rule.ID, ds.info.Household)
		if e.groups[k] == nil && e.watches(c, ds.info.Profile) {
			e.groups[k] = &groupState{rule: c.rule.ID, household: ds.info.Household, device: ds.info.ID, area: ds.info.Area,
				st: ruleState{State: StateInactive, Since: ts, fp: c.fp}}
		}
	}
	return ds
}

// watches reports whether devices of profile can show the activity an absence rule
// waits for (by the catalog), so a household with only a smoke detector is not taken for
// a silent one. e.mu held.
func (e *Engine) watches(c *compiled, profile string) bool {
	if e.cfg.Catalog == nil {
		return true
	}
	if v, ok := c.watch[profile]; ok {
		return v
	}
	info, ok := e.cfg.Catalog(profile)
	v := ok && info.AnyMeasurement
	for _, a := range c.rule.Activity {
		v = v || (ok && (contains(info.Events, a) || contains(info.Measurements, a)))
	}
	if c.watch == nil {
		c.watch = map[string]bool{}
	}
	c.watch[profile] = v
	return v
}

func newDevState(info DeviceInfo) *devState {
	return &devState{
		info:   info,
		env:    map[string]any{},
		latest: map[string]point{},
		series: map[string]*ring{},
		rules:  map[string]*ruleState{},
		online: true,
	}
}

// UpdateDevice records a device's (new) profile and area, for example when it is
// registered or moved, starting absence timers at at for a device not seen before. States
// of rules that no longer apply to it end; their inactive signals are returned.
func (e *Engine) UpdateDevice(info DeviceInfo, at time.Time) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out = e.out[:0]
	ds := e.devices[info.ID]
	if ds == nil {
		ds = newDevState(info)
		e.devices[info.ID] = ds
	} else {
		if ds.info.Profile != info.Profile {
			ds.series = map[string]*ring{}
		}
		ds.info = info
		ds.gen = 0
		for id, st := range ds.rules {
			c := e.rules[id]
			if c != nil && inScope(&c.rule, info) && (c.rule.Profile == info.Profile || c.rule.Profile == AnyProfile) {
				continue
			}
			if c != nil && st.State != StateInactive {
				e.emit(c, ds, StateInactive, at.UnixMilli(), st)
			}
			delete(ds.rules, id)
		}
	}
	e.device(info.ID, at.UnixMilli())
	return e.flush()
}

// Devices returns what the engine believes about every device it tracks, so the caller
// can look them up again (outside the engine's lock) and report changes with UpdateDevice
// or ForgetDevice.
func (e *Engine) Devices() []DeviceInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]DeviceInfo, 0, len(e.devices))
	for _, ds := range e.devices {
		out = append(out, ds.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ForgetDevice drops a device's state (it was deleted).
func (e *Engine) ForgetDevice(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.devices, id)
}

// Readings feeds a batch of readings (normally one device message) and returns the
// resulting signals. Readings sharing a device and timestamp are applied together before
// rules are evaluated, so `pm25 > 75 && pm10 > 150` sees both values of one message.
func (e *Engine) Readings(batch []Reading) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out = e.out[:0]
	for i := 0; i < len(batch); {
		j := i + 1
		for j < len(batch) && batch[j].DeviceID == batch[i].DeviceID && batch[j].TS == batch[i].TS {
			j++
		}
		e.sample(batch[i:j])
		i = j
	}
	return e.flush()
}

// affectedMax bounds the stack buffer for rules touched by one sample.
const affectedMax = 64

// sample applies readings of one device at one time and evaluates the rules they touch.
func (e *Engine) sample(rs []Reading) {
	e.stats.Readings += int64(len(rs))
	ts := rs[0].TS
	ds := e.device(rs[0].DeviceID, ts)
	if ds == nil {
		return
	}
	e.seen(ds, ts)
	var buf [affectedMax]*compiled
	affected := buf[:0]
	pi := e.index[ds.info.Profile]
	for _, r := range rs {
		if l, ok := ds.latest[r.Measurement]; ok && r.TS < l.TS {
			e.stats.OutOfOrder++
			continue
		}
		p := point{TS: r.TS, V: r.Value}
		ds.latest[r.Measurement] = p
		ds.env[r.Measurement] = r.Value
		if r.Value != 0 {
			e.activity(ds, r.Measurement, ts)
		}
		if pi == nil {
			continue
		}
		if keep, ok := pi.keep[r.Measurement]; ok {
			rg := ds.series[r.Measurement]
			if rg == nil {
				rg = newRing(keep, e.cfg.MaxPoints)
				ds.series[r.Measurement] = rg
			}
			rg.push(p)
		}
		routes, ok := ds.routes[r.Measurement]
		if !ok {
			for _, c := range pi.byMeasure[r.Measurement] {
				if inScope(&c.rule, ds.info) {
					routes = append(routes, c)
				}
			}
			ds.routes[r.Measurement] = routes
		}
	next:
		for _, c := range routes {
			for _, a := range affected {
				if a == c {
					continue next
				}
			}
			affected = append(affected, c)
		}
	}
	for _, c := range affected {
		e.evaluate(c, ds, ts)
	}
}

// seen marks the device alive at ts: offline states end.
func (e *Engine) seen(ds *devState, ts int64) {
	if ts > ds.lastSeen {
		ds.lastSeen = ts
	}
	if !ds.online {
		e.setOnline(ds, true, ts)
	}
}

// activity records a sign of life of type kind (an event type, or a measurement that
// reported a non-zero value) for absence rules.
func (e *Engine) activity(ds *devState, kind string, ts int64) {
	for _, c := range ds.scoped.household {
		if !c.activity[kind] {
			continue
		}
		g := e.groups[groupKey(c.rule.ID, ds.info.Household)]
		if g == nil || ts < g.st.Since {
			continue
		}
		g.st.Since, g.device, g.area = ts, ds.info.ID, ds.info.Area
		if g.st.State != StateInactive {
			g.st.State = StateInactive
			e.emitGroup(c, g, StateInactive, ts)
		}
	}
	for _, c := range ds.scoped.absence {
		if !c.activity[kind] {
			continue
		}
		st := ds.rules[c.rule.ID]
		if ts < st.Since {
			continue
		}
		st.Since = ts
		if st.State != StateInactive {
			st.State = StateInactive
			e.emit(c, ds, StateInactive, ts, st)
		}
	}
}

// evaluate runs a condition rule for a device at ts and applies the transition.
func (e *Engine) evaluate(c *compiled, ds *devState, ts int64) {
	if c.quarantined {
		return
	}
	for _, v := range c.vars {
		if _, ok := ds.latest[v]; !ok {
			return // not every measurement seen yet: unknown, no change
		}
	}
	value := 0.0
	if len(c.vars) > 0 {
		value = ds.latest[c.vars[0]].V
	}
	for i, w := range c.wins {
		rg := ds.series[w.Measurement]
		if rg == nil {
			return
		}
		v, ok := rg.aggregate(w.Fn, w.Window, ts)
		if !ok {
			return
		}
		ds.env[w.slot] = v
		if i == 0 && len(c.vars) == 0 {
			value = v
		}
	}
	ok, err := e.safeEval(c, ds.env)
	if err != nil {
		return
	}
	st := ds.rules[c.rule.ID]
	if st == nil {
		if !ok {
			return
		}
		st = &ruleState{State: StateInactive, fp: c.fp}
		ds.rules[c.rule.ID] = st
	}
	switch {
	case ok && st.State == StateInactive:
		st.Since = ts
		st.Value = value
		if c.rule.For <= 0 {
			st.State, st.FiredAt = StateFiring, ts
		} else {
			st.State = StatePending
		}
		e.emit(c, ds, st.State, ts, st)
	case ok && st.State == StatePending:
		st.Value = value
		if ts-st.Since >= c.rule.For.D().Milliseconds() {
			st.State, st.FiredAt = StateFiring, ts
			e.emit(c, ds, StateFiring, ts, st)
		}
	case ok:
		st.Value = value
	case !ok && st.State != StateInactive:
		st.Value = value
		st.State = StateInactive
		e.emit(c, ds, StateInactive, ts, st)
		delete(ds.rules, c.rule.ID)
	}
}

// safeEval runs the rule's program, recovering panics and counting errors; a rule that
// keeps failing is quarantined so it costs nothing more.
func (e *Engine) safeEval(c *compiled, env map[string]any) (ok bool, err error) {
	c.evals++
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		if err != nil {
			c.errs++
			c.consecutive++
			c.lastErr = err.Error()
			if c.consecutive >= int64(e.cfg.QuarantineAfter) {
				c.quarantined = true
			}
			ok = false
			return
		}
		c.consecutive = 0
	}()
	return c.eval(&e.vm, env)
}

// Event feeds a device event.
func (e *Engine) Event(ev Event) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out = e.out[:0]
	ds := e.device(ev.DeviceID, ev.TS)
	if ds == nil {
		return nil
	}
	e.seen(ds, ev.TS)
	e.activity(ds, ev.Type, ev.TS)
	for _, c := range ds.scoped.event {
		st := ds.rules[c.rule.ID]
		switch {
		case c.activity[ev.Type]:
			if st == nil {
				st = &ruleState{fp: c.fp}
				ds.rules[c.rule.ID] = st
			}
			if st.State != StateFiring {
				st.Since = ev.TS
			}
			st.State, st.FiredAt, st.Value = StateFiring, ev.TS, 1
			e.emitEvent(c, ds, StateFiring, ev, st)
		case c.clear[ev.Type] && st != nil && st.State == StateFiring:
			st.State, st.Value = StateInactive, 0
			e.emitEvent(c, ds, StateInactive, ev, st)
			delete(ds.rules, c.rule.ID)
		}
	}
	return e.flush()
}

// Status feeds a device status change.
func (e *Engine) Status(s StatusChange) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out = e.out[:0]
	ds := e.device(s.DeviceID, s.TS)
	if ds == nil {
		return nil
	}
	if s.Online {
		e.seen(ds, s.TS)
	} else if ds.online {
		e.setOnline(ds, false, s.TS)
	}
	return e.flush()
}

func (e *Engine) setOnline(ds *devState, online bool, ts int64) {
	ds.online = online
	for _, c := range ds.scoped.offline {
		st := ds.rules[c.rule.ID]
		if online {
			if st != nil && st.State != StateInactive {
				st.State = StateInactive
				e.emit(c, ds, StateInactive, ts, st)
			}
			delete(ds.rules, c.rule.ID)
			continue
		}
		if st == nil {
			ds.rules[c.rule.ID] = &ruleState{State: StateInactive, Since: ts, fp: c.fp}
		}
	}
}

// Sweep checks deadlines at now: conditions pending for their For, absence and offline
// durations. Call it periodically (every few seconds) from the caller's clock.
func (e *Engine) Sweep(now time.Time) []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.out = e.out[:0]
	nowMs := now.UnixMilli()
	ids := make([]string, 0, len(e.devices))
	for id := range e.devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ds := e.devices[id]
		e.refresh(ds)
		for _, c := range ds.scoped.absence {
			st := ds.rules[c.rule.ID]
			if st == nil {
				st = &ruleState{State: StateInactive, Since: nowMs, fp: c.fp}
				ds.rules[c.rule.ID] = st
			}
			if st.State != StateInactive {
				continue
			}
			silent := c.silence(st.Since, nowMs, e.cfg.Location)
			if silent >= c.rule.For.D() {
				st.State, st.FiredAt, st.Value = StateFiring, nowMs, silent.Hours()
				e.emit(c, ds, StateFiring, nowMs, st)
			}
		}
		if !ds.online {
			for _, c := range ds.scoped.offline {
				st := ds.rules[c.rule.ID]
				if st == nil || st.State != StateInactive {
					continue
				}
				if nowMs-st.Since >= c.rule.For.D().Milliseconds() {
					st.State, st.FiredAt = StateFiring, nowMs
					st.Value = float64(nowMs-st.Since) / 60000
					e.emit(c, ds, StateFiring, nowMs, st)
				}
			}
		}
		for rid, st := range ds.rules {
			if st.State != StatePending {
				continue
			}
			c := e.rules[rid]
			if c == nil || (c.rule.Kind != KindCondition && c.rule.Kind != KindRate && c.rule.Kind != KindWindow) {
				continue
			}
			if nowMs-st.Since >= c.rule.For.D().Milliseconds() {
				st.State, st.FiredAt = StateFiring, nowMs
				e.emit(c, ds, StateFiring, nowMs, st)
			}
		}
	}
	keys := make([]string, 0, len(e.groups))
	for k := range e.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := e.groups[k]
		c := e.rules[g.rule]
		if c == nil || c.fp != g.st.fp {
			delete(e.groups, k)
			continue
		}
		if g.st.State != StateInactive {
			continue
		}
		if silent := c.silence(g.st.Since, nowMs, e.cfg.Location); silent >= c.rule.For.D() {
			g.st.State, g.st.FiredAt, g.st.Value = StateFiring, nowMs, silent.Hours()
			e.emitGroup(c, g, StateFiring, nowMs)
		}
	}
	return e.flush()
}

// silence is how long the device has been silent between from and to, counting only
// the daily window when the rule has one.
func (c *compiled) silence(from, to int64, loc *time.Location) time.Duration {
	if to <= from {
		return 0
	}
	if c.window == nil {
		return time.Duration(to-from) * time.Millisecond
	}
	return inWindow(time.UnixMilli(from).In(loc), time.UnixMilli(to).In(loc), c.window.start, c.window.end)
}

// inWindow sums the time between a and b that falls within [start, end) minutes of each day.
func inWindow(a, b time.Time, start, end int) time.Duration {
	var total time.Duration
	y, m, d := a.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, a.Location()).AddDate(0, 0, -1)
	for i := 0; i < 400 && day.Before(b); i++ {
		ws := day.Add(time.Duration(start) * time.Minute)
		we := day.Add(time.Duration(end) * time.Minute)
		if end < start {
			we = day.AddDate(0, 0, 1).Add(time.Duration(end) * time.Minute)
		}
		lo, hi := ws, we
		if a.After(lo) {
			lo = a
		}
		if b.Before(hi) {
			hi = b
		}
		if hi.After(lo) {
			total += hi.Sub(lo)
		}
		day = day.AddDate(0, 0, 1)
	}
	return total
}

// emit queues a signal for c on ds; e.mu held.
func (e *Engine) emit(c *compiled, ds *devState, s State, ts int64, st *ruleState) {
	sig := e.signal(c, ds, s, ts, st)
	var b strings.Builder
	b.WriteString(c.rule.Name)
	b.WriteString(" · ")
	if ds.info.Name != "" && ds.info.Name != ds.info.ID {
		b.WriteString(ds.info.Name)
		b.WriteString(" ")
	}
	b.WriteString(ds.info.ID)
	switch c.rule.Kind {
	case KindAbsence:
		fmt.Fprintf(&b, "：%.1f 小时无活动 / no activity for %.1f h", st.Value, st.Value)
	case KindOffline:
		fmt.Fprintf(&b, "：离线 / offline since %s", time.UnixMilli(st.Since).In(e.cfg.Location).Format("01-02 15:04"))
	default:
		for i, m := range c.measures {
			if p, ok := ds.latest[m]; ok {
				if i == 0 {
					b.WriteString("：")
				} else {
					b.WriteString(", ")
				}
				b.WriteString(m)
				b.WriteString("=")
				b.WriteString(strconv.FormatFloat(p.V, 'f', -1, 64))
				sig.Readings = append(sig.Readings, Reading{DeviceID: ds.info.ID, Measurement: m, TS: p.TS, Value: p.V})
			}
		}
		for _, w := range c.wins {
			if rg := ds.series[w.Measurement]; rg != nil {
				for _, p := range rg.points() {
					if p.TS >= ts-w.Window.Milliseconds() && p.TS <= ts && len(sig.Readings) < 20 {
						sig.Readings = append(sig.Readings, Reading{DeviceID: ds.info.ID, Measurement: w.Measurement, TS: p.TS, Value: p.V})
					}
				}
			}
		}
	}
	sig.Summary = b.String()
	e.out = append(e.out, sig)
}

func (e *Engine) emitEvent(c *compiled, ds *devState, s State, ev Event, st *ruleState) {
	sig := e.signal(c, ds, s, ev.TS, st)
	sig.Summary = c.rule.Name + " · " + ds.info.ID + "：" + ev.Type
	e.out = append(e.out, sig)
}

// emitGroup queues a signal for a household absence state; e.mu held.
func (e *Engine) emitGroup(c *compiled, g *groupState, s State, ts int64) {
	e.out = append(e.out, e.groupSignal(c, g, s, ts))
}

func (e *Engine) groupSignal(c *compiled, g *groupState, s State, ts int64) Signal {
	sig := Signal{
		RuleID: c.rule.ID, RuleName: c.rule.Name, Kind: c.rule.Kind, Severity: c.rule.Severity,
		DeviceID: g.device, Entity: "household:" + g.household, Area: g.area,
		State: s, At: time.UnixMilli(ts), Since: time.UnixMilli(g.st.Since), Value: g.st.Value,
		OpenWorkOrder: c.rule.OpenWorkOrder, WorkOrderCategory: c.rule.WorkOrderCategory,
	}
	if ds := e.devices[g.device]; ds != nil {
		sig.Profile = ds.info.Profile
	}
	sig.Summary = fmt.Sprintf("%s · 住户 household %s：%.1f 小时无活动 / no activity for %.1f h", c.rule.Name, g.household, g.st.Value, g.st.Value)
	return sig
}

func (e *Engine) signal(c *compiled, ds *devState, s State, ts int64, st *ruleState) Signal {
	return Signal{
		RuleID: c.rule.ID, RuleName: c.rule.Name, Kind: c.rule.Kind, Severity: c.rule.Severity,
		DeviceID: ds.info.ID, Profile: ds.info.Profile, Area: ds.info.Area,
		State: s, At: time.UnixMilli(ts), Since: time.UnixMilli(st.Since), Value: st.Value,
		OpenWorkOrder: c.rule.OpenWorkOrder, WorkOrderCategory: c.rule.WorkOrderCategory,
	}
}

// flush returns a copy of the queued signals (nil when none).
func (e *Engine) flush() []Signal {
	if len(e.out) == 0 {
		return nil
	}
	out := make([]Signal, len(e.out))
	copy(out, e.out)
	e.out = e.out[:0]
	return out
}

// States returns the non-inactive (rule, device) states, for inspection and tests,
// sorted by rule then device.
func (e *Engine) States() []Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Signal
	for _, ds := range e.devices {
		for id, st := range ds.rules {
			c := e.rules[id]
			if c == nil || st.State == StateInactive {
				continue
			}
			out = append(out, e.signal(c, ds, st.State, max(st.FiredAt, st.Since), st))
		}
	}
	for _, g := range e.groups {
		if c := e.rules[g.rule]; c != nil && g.st.State != StateInactive {
			out = append(out, e.groupSignal(c, g, g.st.State, max(g.st.FiredAt, g.st.Since)))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RuleID != out[j].RuleID {
			return out[i].RuleID < out[j].RuleID
		}
		if out[i].Entity != out[j].Entity {
			return out[i].Entity < out[j].Entity
		}
		return out[i].DeviceID < out[j].DeviceID
	})
	return out
}

// Health reports each rule's evaluation counts and errors, sorted by rule id.
func (e *Engine) Health() []RuleHealth {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RuleHealth, 0, len(e.rules))
	for id, c := range e.rules {
		out = append(out, RuleHealth{RuleID: id, Evals: c.evals, Errors: c.errs, LastError: c.lastErr, Quarantined: c.quarantined})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	return out
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Devices, s.Rules = len(e.devices), len(e.rules)
	return s
}
