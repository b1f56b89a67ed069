package rule

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

func testEngine(t testing.TB, rules ...Rule) *Engine {
	t.Helper()
	devices := map[string]DeviceInfo{
		"ws-1": {Profile: "waterlogging", Area: "D1/S1/C1/G1"},
		"ws-2": {Profile: "waterlogging", Area: "D1/S2/C1/G1"},
		"aq-1": {Profile: "air_quality", Area: "D1/S1/C1/G1"},
		"hh-1": {Profile: "door_sensor", Area: "D1/S1/C1/G1"},
	}
	e := NewEngine(Config{Lookup: func(id string) (DeviceInfo, bool) { d, ok := devices[id]; return d, ok }, Catalog: testCatalog})
	for i := range rules {
		rules[i].Enabled = true
		if rules[i].Severity == "" {
			rules[i].Severity = SeverityWarning
		}
		if rules[i].Name == "" {
			rules[i].Name = rules[i].ID
		}
	}
	if _, errs := e.Load(rules); len(errs) > 0 {
		t.Fatal(errs)
	}
	return e
}

func states(e *Engine) string {
	var s []string
	for _, st := range e.States() {
		s = append(s, fmt.Sprintf("%s/%s=%s", st.RuleID, st.DeviceID, st.State))
	}
	return strings.Join(s, " ")
}

// TestBadRuleIsolated: a rule whose evaluation panics or errors is contained: the other
// rules keep firing, the bad one is counted and finally quarantined.
func TestBadRuleIsolated(t *testing.T) {
	e := testEngine(t,
		Rule{ID: "a-bad", Profile: "waterlogging", Condition: "level_cm > 0"},
		Rule{ID: "b-erroring", Profile: "waterlogging", Condition: "int(level_cm) % int(battery) == 0"},
		Rule{ID: "c-good", Profile: "waterlogging", Condition: "level_cm > 30"},
	)
	e.mu.Lock()
	e.rules["a-bad"].eval = func(*vm.VM, map[string]any) (bool, error) { panic("boom") }
	e.mu.Unlock()
	for i := range 150 {
		sigs := e.Readings([]Reading{
			{DeviceID: "ws-1", Measurement: "battery", TS: ms(time.Duration(i) * time.Second), Value: 0},
			{DeviceID: "ws-1", Measurement: "level_cm", TS: ms(time.Duration(i) * time.Second), Value: 40},
		})
		if i == 0 && (len(sigs) != 1 || sigs[0].RuleID != "c-good" || sigs[0].State != StateFiring) {
			t.Fatalf("first batch: %+v", sigs)
		}
	}
	if got := states(e); got != "c-good/ws-1=firing" {
		t.Fatalf("states %q", got)
	}
	h := map[string]RuleHealth{}
	for _, x := range e.Health() {
		h[x.RuleID] = x
	}
	if !h["a-bad"].Quarantined || !strings.Contains(h["a-bad"].LastError, "boom") || h["a-bad"].Evals != 100 {
		t.Errorf("a-bad health %+v", h["a-bad"])
	}
	if !h["b-erroring"].Quarantined || !strings.Contains(h["b-erroring"].LastError, "divide") {
		t.Errorf("b-erroring health %+v", h["b-erroring"])
	}
	if h["c-good"].Errors != 0 || h["c-good"].Evals != 150 {
		t.Errorf("c-good health %+v", h["c-good"])
	}
	// saving the rule again lifts the quarantine
	if _, err := e.Upsert(Rule{ID: "b-erroring", Name: "b", Profile: "waterlogging", Condition: "level_cm > 35", Severity: SeverityInfo, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.Readings([]Reading{{DeviceID: "ws-1", Measurement: "level_cm", TS: ms(200 * time.Second), Value: 41}})
	if got := states(e); got != "b-erroring/ws-1=firing c-good/ws-1=firing" {
		t.Fatalf("after fix: %q", got)
	}
}

func TestEngineInputs(t *testing.T) {
	e := testEngine(t,
		Rule{ID: "hi", Profile: "waterlogging", Condition: "level_cm > 30", For: Duration(2 * time.Minute)},
		Rule{ID: "s1", Profile: "waterlogging", Condition: "level_cm > 30", AreaScope: []string{"D1/S1"}},
	)
	// unknown device: ignored and counted
	if sigs := e.Readings([]Reading{{DeviceID: "nope", Measurement: "level_cm", TS: ms(0), Value: 99}}); sigs != nil {
		t.Fatalf("unknown device produced %+v", sigs)
	}
	e.Readings([]Reading{{DeviceID: "ws-2", Measurement: "level_cm", TS: ms(0), Value: 35}})
	if got := states(e); got != "hi/ws-2=pending" {
		t.Fatalf("scope: %q", got)
	}
	// out-of-order reading is dropped, not evaluated
	e.Readings([]Reading{{DeviceID: "ws-2", Measurement: "level_cm", TS: ms(-time.Minute), Value: 5}})
	if got := states(e); got != "hi/ws-2=pending" {
		t.Fatalf("out of order changed state: %q", got)
	}
	// a battery reading does not re-evaluate level rules but a later sweep fires the For
	e.Readings([]Reading{{DeviceID: "ws-2", Measurement: "battery", TS: ms(time.Minute), Value: 80}})
	if sigs := e.Sweep(t0.Add(119 * time.Second)); sigs != nil {
		t.Fatalf("early sweep: %+v", sigs)
	}
	sigs := e.Sweep(t0.Add(2 * time.Minute))
	if len(sigs) != 1 || sigs[0].State != StateFiring || !sigs[0].Since.Equal(t0) || sigs[0].Readings[0].Value != 35 {
		t.Fatalf("sweep: %+v", sigs)
	}
	if !strings.Contains(sigs[0].Summary, "level_cm=35") {
		t.Errorf("summary %q", sigs[0].Summary)
	}
	s := e.Stats()
	if s.UnknownDevice != 1 || s.OutOfOrder != 1 || s.Readings != 4 {
		t.Errorf("stats %+v", s)
	}
	// removing the rule ends its state with an inactive signal
	sigs = e.Remove("hi")
	if len(sigs) != 1 || sigs[0].State != StateInactive || sigs[0].RuleID != "hi" {
		t.Fatalf("remove: %+v", sigs)
	}
	if got := states(e); got != "" {
		t.Fatalf("after remove: %q", got)
	}
}

// TestSnapshotRestore: window buffers, pending For and absence timers survive a restart.
func TestSnapshotRestore(t *testing.T) {
	rules := []Rule{
		{ID: "avg", Profile: "air_quality", Kind: KindWindow, Condition: `avg("pm25", "15m") > 75`},
		{ID: "hold", Profile: "waterlogging", Condition: "level_cm > 30", For: Duration(5 * time.Minute)},
		{ID: "quiet", Profile: "door_sensor", Kind: KindAbsence, Activity: []string{"motion"}, For: Duration(time.Hour)},
	}
	a := testEngine(t, rules...)
	for i, v := range []float64{100, 100, 100} { // 0, 5, 10 min
		a.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(time.Duration(i) * 5 * time.Minute), Value: v}})
	}
	a.Readings([]Reading{{DeviceID: "ws-1", Measurement: "level_cm", TS: ms(10 * time.Minute), Value: 40}})
	a.Event(Event{DeviceID: "hh-1", Type: "motion", TS: ms(10 * time.Minute)})
	before := states(a)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	b := testEngine(t, rules...)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := states(b); got != before {
		t.Fatalf("restored states %q, want %q", got, before)
	}
	// the window still holds the old points: one low reading leaves the average above 75
	// (a fresh engine, without them, is not firing)
	sigs := b.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(15 * time.Minute), Value: 10}})
	fresh := testEngine(t, rules...)
	fresh.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(15 * time.Minute), Value: 10}})
	if strings.Contains(states(fresh), "avg") {
		t.Fatalf("fresh engine fired: %s", states(fresh))
	}
	if len(sigs) != 0 || !strings.Contains(states(b), "avg/aq-1=firing") {
		t.Fatalf("after restore: %+v %s", sigs, states(b))
	}
	sigs = b.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(20 * time.Minute), Value: 10}})
	if len(sigs) != 1 || sigs[0].State != StateInactive || sigs[0].Value != (100+100+10+10)/4.0 {
		t.Fatalf("window after restore: %+v", sigs)
	}
	// the pending For keeps its start; the absence timer keeps the last motion
	sigs = b.Sweep(t0.Add(70 * time.Minute))
	got := map[string]State{}
	for _, s := range sigs {
		got[s.RuleID] = s.State
	}
	if got["hold"] != StateFiring || got["quiet"] != StateFiring {
		t.Fatalf("sweep after restore: %+v", sigs)
	}

	// a changed rule drops its old state; garbage is refused
	changed := append([]Rule(nil), rules...)
	changed[1].Condition = "level_cm > 50"
	c := testEngine(t, changed...)
	if err := c.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(states(c), "hold") {
		t.Errorf("changed rule kept state: %s", states(c))
	}
	for _, bad := range []string{"", "{", `{"version":99}`, `[1,2]`} {
		if err := c.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%q) succeeded", bad)
		}
	}
}

func FuzzRestore(f *testing.F) {
	e := testEngine(f, Rule{ID: "avg", Profile: "air_quality", Kind: KindWindow, Condition: `avg("pm25", "15m") > 75`})
	e.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(0), Value: 80}})
	snap, _ := e.Snapshot()
	f.Add(snap)
	f.Add([]byte(`{"version":1,"devices":[{"id":"aq-1","series":{"pm25":[{"t":5,"v":1},{"t":1,"v":2}]},"rules":{"avg":{"state":"weird"}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		x := testEngine(t, Rule{ID: "avg", Profile: "air_quality", Kind: KindWindow, Condition: `avg("pm25", "15m") > 75`})
		if err := x.Restore(b); err != nil {
			return
		}
		x.Readings([]Reading{{DeviceID: "aq-1", Measurement: "pm25", TS: ms(time.Minute), Value: 80}})
		x.Sweep(t0.Add(time.Hour))
	})
}

func TestRingBounded(t *testing.T) {
	r := newRing(time.Hour, 16)
	for i := range 100 {
		r.push(point{TS: int64(i) * 1000, V: float64(i)})
	}
	if r.n != 16 || len(r.buf) != 16 {
		t.Fatalf("ring holds %d in %d", r.n, len(r.buf))
	}
	if v, _ := r.aggregate("min", time.Hour, 99000); v != 84 {
		t.Errorf("min %v", v)
	}
	r = newRing(10*time.Second, 1024)
	for i := range 100 {
		r.push(point{TS: int64(i) * 1000, V: float64(i)})
	}
	if r.n != 11 {
		t.Errorf("time retention kept %d points", r.n)
	}
	tests := []struct {
		fn   string
		want float64
	}{{"avg", 94}, {"min", 89}, {"max", 99}, {"sum", 1034}, {"count", 11}, {"delta", 10}, {"rate", 60}}
	for _, tt := range tests {
		if v, ok := r.aggregate(tt.fn, 10*time.Second, 99000); !ok || v != tt.want {
			t.Errorf("%s = %v, want %v", tt.fn, v, tt.want)
		}
	}
}

func TestInWindow(t *testing.T) {
	at := func(h float64) time.Time { return t0.Add(-8*time.Hour + time.Duration(h*float64(time.Hour))) } // hours after midnight
	tests := []struct {
		a, b       float64
		start, end int
		want       time.Duration
	}{
		{7, 20, 8 * 60, 20 * 60, 12 * time.Hour},
		{13, 37, 8 * 60, 20 * 60, 12 * time.Hour},
		{21, 31, 8 * 60, 20 * 60, 0},
		{0, 48, 22 * 60, 6 * 60, 16 * time.Hour}, // overnight window, two nights
		{9, 9.5, 8 * 60, 20 * 60, 30 * time.Minute},
	}
	for _, tt := range tests {
		if got := inWindow(at(tt.a), at(tt.b), tt.start, tt.end); got != tt.want {
			t.Errorf("inWindow(%v,%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDryRun(t *testing.T) {
	r := Rule{ID: "hi", Name: "积水", Profile: "waterlogging", Condition: "level_cm > 30", For: Duration(2 * time.Minute), Severity: SeverityCritical}
	var in DryRunInput
	// three floods on ws-1 (5, 1 and 4 minutes above 30) and one on ws-2
	level := map[string][]float64{
		"ws-1": {10, 31, 32, 33, 34, 35, 10, 10, 31, 10, 10, 31, 31, 31, 31, 10},
		"ws-2": {10, 10, 10, 10, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40},
	}
	for dev, vs := range level {
		for i, v := range vs {
			in.Readings = append(in.Readings, Reading{DeviceID: dev, Measurement: "level_cm", TS: ms(time.Duration(i) * time.Minute), Value: v})
		}
	}
	cfg := Config{Lookup: testEngine(t).cfg.Lookup, Catalog: testCatalog}
	res, err := DryRun(r, cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fired != 3 || res.Devices != 2 || len(res.Firings) != 3 || res.Readings != 32 {
		t.Fatalf("dry run: %+v", res)
	}
	first := res.Firings[0]
	if first.DeviceID != "ws-1" || !first.At.Equal(t0.Add(3*time.Minute)) || first.ResolvedAt == nil || !first.ResolvedAt.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("first firing %+v", first)
	}
	r.Condition = "level > 30"
	if _, err := DryRun(r, cfg, in); err == nil {
		t.Error("dry run of an invalid rule succeeded")
	}
}

// TestImports: the rule and alert packages stay free of HTTP, SQL and the bus.
func TestImports(t *testing.T) {
	for _, dir := range []string{".", "../alert"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == "net/http" || p == "database/sql" || strings.HasPrefix(p, "github.com/nats-io/") || strings.HasPrefix(p, "net/http/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}

func TestUpsertInvalid(t *testing.T) {
	e := testEngine(t)
	_, err := e.Upsert(Rule{ID: "x", Name: "x", Profile: "waterlogging", Condition: "level_cm >", Severity: SeverityInfo, Enabled: true})
	var ce *ConditionError
	if !errors.As(err, &ce) {
		t.Fatalf("want ConditionError, got %v", err)
	}
	if len(e.Health()) != 0 {
		t.Error("invalid rule was installed")
	}
}

// TestUpdateDevice: a device moved out of a rule's area ends that rule's state; a device
// registered before it ever speaks starts its absence timer at registration.
func TestUpdateDevice(t *testing.T) {
	e := testEngine(t,
		Rule{ID: "s1", Profile: "waterlogging", Condition: "level_cm > 30", AreaScope: []string{"D1/S1"}},
		Rule{ID: "all", Profile: "waterlogging", Condition: "level_cm > 30"},
		Rule{ID: "quiet", Profile: "door_sensor", Kind: KindAbsence, Activity: []string{"motion"}, For: Duration(time.Hour)},
	)
	e.Readings([]Reading{{DeviceID: "ws-1", Measurement: "level_cm", TS: ms(0), Value: 40}})
	if got := states(e); got != "all/ws-1=firing s1/ws-1=firing" {
		t.Fatalf("before move: %q", got)
	}
	sigs := e.UpdateDevice(DeviceInfo{ID: "ws-1", Profile: "waterlogging", Area: "D1/S2/C1"}, t0.Add(time.Minute))
	if len(sigs) != 1 || sigs[0].RuleID != "s1" || sigs[0].State != StateInactive {
		t.Fatalf("move signals %+v", sigs)
	}
	if got := states(e); got != "all/ws-1=firing" {
		t.Fatalf("after move: %q", got)
	}
	e.UpdateDevice(DeviceInfo{ID: "hh-9", Profile: "door_sensor", Area: "D1/S1"}, t0)
	sigs = e.Sweep(t0.Add(time.Hour))
	if len(sigs) != 1 || sigs[0].DeviceID != "hh-9" || sigs[0].State != StateFiring {
		t.Fatalf("registered silent device: %+v", sigs)
	}
}

// TestHouseholdSnapshot: a household's absence timer survives a restart.
func TestHouseholdSnapshot(t *testing.T) {
	rules := []Rule{{ID: "hh", Name: "hh", Profile: AnyProfile, Kind: KindAbsence, Group: GroupHousehold,
		Activity: []string{"door_open", "motion_count"}, For: Duration(time.Hour), Severity: SeverityCritical, Enabled: true}}
	devs := map[string]DeviceInfo{
		"door": {ID: "door", Profile: "door_sensor", Area: "D1", Household: "h1"},
		"pir":  {ID: "pir", Profile: "motion_sensor", Area: "D1", Household: "h1"},
	}
	mk := func() *Engine {
		e := NewEngine(Config{Lookup: func(id string) (DeviceInfo, bool) { d, ok := devs[id]; return d, ok }})
		if _, errs := e.Load(rules); len(errs) > 0 {
			t.Fatal(errs)
		}
		return e
	}
	a := mk()
	a.Event(Event{DeviceID: "door", Type: "door_open", TS: ms(0)})
	a.Readings([]Reading{{DeviceID: "pir", Measurement: "motion_count", TS: ms(10 * time.Minute), Value: 2}})
	a.Readings([]Reading{{DeviceID: "pir", Measurement: "motion_count", TS: ms(20 * time.Minute), Value: 0}}) // no sign of life
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := mk()
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if sigs := b.Sweep(t0.Add(69 * time.Minute)); len(sigs) != 0 {
		t.Fatalf("early: %+v", sigs)
	}
	sigs := b.Sweep(t0.Add(70 * time.Minute))
	if len(sigs) != 1 || sigs[0].Entity != "household:h1" || sigs[0].DeviceID != "pir" || sigs[0].State != StateFiring {
		t.Fatalf("restored household: %+v", sigs)
	}
	sigs = b.Event(Event{DeviceID: "door", Type: "door_open", TS: ms(80 * time.Minute)})
	if len(sigs) != 1 || sigs[0].State != StateInactive || sigs[0].Entity != "household:h1" {
		t.Fatalf("back: %+v", sigs)
	}
}
