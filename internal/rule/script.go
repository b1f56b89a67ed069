package rule

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/citybrain/citybrain"
)

// Script is one scripted rule test (testdata/README.md describes the format): rules,
// devices, input series and operator actions, then what must be pending or firing, and
// which alerts must exist, at which times. ParseScript reads one; RunScript runs it
// through a fresh Engine and an alert state machine. TestScripts and
// `citybrain rules test` both use them.
type Script struct {
	Name     string         `yaml:"name"`
	Start    string         `yaml:"start"`
	Interval string         `yaml:"interval"`
	Step     string         `yaml:"step"`
	End      string         `yaml:"end"`
	Rules    []Rule         `yaml:"rules"`
	Devices  []ScriptDevice `yaml:"devices"`
	Readings []string       `yaml:"readings"`
	Events   []string       `yaml:"events"`
	Status   []string       `yaml:"status"`
	Actions  []string       `yaml:"actions"`
	Expect   []string       `yaml:"expect"`
	Alerts   *int           `yaml:"alerts"`

	start  time.Time
	step   time.Duration
	end    time.Duration
	inputs []scriptInput
	exps   []scriptExpect
}

// ScriptDevice is a device of a script.
type ScriptDevice struct {
	ID        string   `yaml:"id"`
	Name      string   `yaml:"name"`
	Profile   string   `yaml:"profile"`
	Area      string   `yaml:"area"`
	AreaPath  []string `yaml:"area_path"`
	Household string   `yaml:"household"`
}

// ScriptAlerts is the alert state machine a script drives. internal/alert provides it
// (alert.NewScriptAlerts); it is an interface here because alert imports rule.
type ScriptAlerts interface {
	// Apply folds one engine signal into the alerts.
	Apply(ctx context.Context, s Signal) error
	// Act acknowledges ("ack") or resolves ("resolve") the open alert of (ruleID,
	// entity) as the actor in ctx; an error when there is none or the move is refused.
	Act(ctx context.Context, action, ruleID, entity, note string) error
	// Status returns the status of the newest alert of (ruleID, entity), "none" if none.
	Status(ctx context.Context, ruleID, entity string) (string, error)
	// Created describes every alert created so far ("#1 rule device status").
	Created(ctx context.Context) ([]string, error)
}

// ScriptCheck is the outcome of one expectation of a script.
type ScriptCheck struct {
	At   time.Duration `json:"at"`
	Line string        `json:"line"` // the expectation as written (or a description)
	OK   bool          `json:"ok"`
	Got  string        `json:"got,omitempty"` // what was found, when it failed
}

// ScriptResult is the outcome of a script run, checks in time order.
type ScriptResult struct {
	Name   string        `json:"name"`
	Checks []ScriptCheck `json:"checks"`
}

// Failed counts the failed checks.
func (r *ScriptResult) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

type scriptInput struct {
	at     time.Duration
	order  int
	line   string
	apply  func(e *Engine, ts int64) []Signal
	action func(ctx context.Context, a ScriptAlerts) error
}

type scriptExpect struct {
	at     time.Duration
	none   string   // the "at <d>: none" line, if any
	states []string // "firing rule device", one per line
	lines  []string // the lines of states, same order
	alerts []string // "rule device status"
	alines []string
	first  string // the first line at this time, for messages
}

// ScriptProfiles is the catalog of the example profiles the scripts in testdata/ use
// (waterlogging, air_quality, gas, door_sensor, motion_sensor, smoke_detector,
// manhole_cover, generic).
func ScriptProfiles(p string) (ProfileInfo, bool) {
	switch p {
	case "waterlogging":
		return ProfileInfo{Measurements: []string{"level_cm", "battery"}}, true
	case "air_quality":
		return ProfileInfo{Measurements: []string{"pm25", "pm10", "no2", "o3"}}, true
	case "gas":
		return ProfileInfo{Measurements: []string{"methane_lel", "battery"}}, true
	case "door_sensor":
		return ProfileInfo{Measurements: []string{"battery", "open_count"}, Events: []string{"door_open", "door_close", "motion"}}, true
	case "motion_sensor":
		return ProfileInfo{Measurements: []string{"battery", "motion", "motion_count"}}, true
	case "smoke_detector":
		return ProfileInfo{Measurements: []string{"battery"}, Events: []string{"smoke_alarm", "smoke_clear", "test"}}, true
	case "manhole_cover":
		return ProfileInfo{Measurements: []string{"open", "tilt_deg"}}, true
	case "generic":
		return ProfileInfo{AnyMeasurement: true}, true
	}
	return ProfileInfo{}, false
}

// LoadScript reads and parses a script file.
func LoadScript(path string) (*Script, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseScript(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func scriptDur(s, def string) (time.Duration, error) {
	if s == "" {
		s = def
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// atLine splits "at 5m: rest".
func atLine(line string) (time.Duration, string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "at ")
	if !ok {
		return 0, "", fmt.Errorf("line %q must start with \"at <duration>:\"", line)
	}
	d, body, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, "", fmt.Errorf("line %q lacks ':'", line)
	}
	at, err := scriptDur(strings.TrimSpace(d), "")
	if err != nil {
		return 0, "", fmt.Errorf("line %q: %w", line, err)
	}
	return at, strings.TrimSpace(body), nil
}

// expandValues expands Prometheus-style series notation: "10 12 _ 1+2x3 5x2 _x4".
func expandValues(s string) ([]*float64, error) {
	var out []*float64
	for _, tok := range strings.Fields(s) {
		base, times, hasX := strings.Cut(tok, "x")
		n := 0
		if hasX {
			var err error
			if n, err = strconv.Atoi(times); err != nil || n < 0 {
				return nil, fmt.Errorf("bad repeat in %q", tok)
			}
		}
		if base == "_" {
			if !hasX {
				n = 1
			}
			for range n {
				out = append(out, nil)
			}
			continue
		}
		start, incr := base, "0"
		if i := strings.LastIndexAny(base, "+-"); i > 0 {
			start, incr = base[:i], base[i:]
		}
		a, err1 := strconv.ParseFloat(start, 64)
		b, err2 := strconv.ParseFloat(incr, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad value %q", tok)
		}
		for i := 0; i <= n; i++ {
			v := a + float64(i)*b
			out = append(out, &v)
		}
	}
	return out, nil
}

// ParseScript parses a script and checks every line's syntax (not the rules: RunScript
// loads them into the engine, which validates them).
func ParseScript(b []byte) (*Script, error) {
	s := &Script{}
	if err := yaml.Unmarshal(b, s); err != nil {
		return nil, err
	}
	var err error
	s.start = time.Date(2026, 7, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if s.Start != "" {
		if s.start, err = time.Parse(time.RFC3339, s.Start); err != nil {
			return nil, fmt.Errorf("bad start %q: want RFC 3339 such as 2026-07-01T00:00:00+08:00", s.Start)
		}
	}
	interval, err := scriptDur(s.Interval, "1m")
	if err != nil {
		return nil, fmt.Errorf("interval: %w", err)
	}
	if s.step, err = scriptDur(s.Step, s.Interval); err != nil {
		return nil, fmt.Errorf("step: %w", err)
	}
	if s.step <= 0 {
		s.step = time.Minute
	}
	if interval <= 0 {
		interval = time.Minute
	}
	order := 0
	for _, line := range s.Readings {
		head, vals, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("reading line %q lacks ':'", line)
		}
		f := strings.Fields(head)
		if len(f) < 2 || len(f)%2 != 0 {
			return nil, fmt.Errorf("reading line %q: want \"<device> <measurement> [every <d>] [from <d>]: values\"", line)
		}
		dev, meas := f[0], f[1]
		every, from := interval, time.Duration(0)
		for i := 2; i+1 < len(f); i += 2 {
			d, err := scriptDur(f[i+1], "")
			if err != nil {
				return nil, fmt.Errorf("reading line %q: %w", line, err)
			}
			switch f[i] {
			case "every":
				every = d
			case "from":
				from = d
			default:
				return nil, fmt.Errorf("reading line %q: unknown option %q (every, from)", line, f[i])
			}
		}
		values, err := expandValues(vals)
		if err != nil {
			return nil, fmt.Errorf("reading line %q: %w", line, err)
		}
		for i, v := range values {
			if v == nil {
				continue
			}
			val := *v
			order++
			s.inputs = append(s.inputs, scriptInput{at: from + time.Duration(i)*every, order: order, line: line, apply: func(e *Engine, ts int64) []Signal {
				return e.Readings([]Reading{{DeviceID: dev, Measurement: meas, TS: ts, Value: val}})
			}})
		}
	}
	for _, line := range s.Events {
		at, body, err := atLine(line)
		if err != nil {
			return nil, fmt.Errorf("event %w", err)
		}
		f := strings.Fields(body)
		if len(f) != 2 {
			return nil, fmt.Errorf("event line %q: want \"at <d>: <device> <type>\"", line)
		}
		order++
		s.inputs = append(s.inputs, scriptInput{at: at, order: order, line: line, apply: func(e *Engine, ts int64) []Signal {
			return e.Event(Event{DeviceID: f[0], Type: f[1], TS: ts})
		}})
	}
	for _, line := range s.Status {
		at, body, err := atLine(line)
		if err != nil {
			return nil, fmt.Errorf("status %w", err)
		}
		f := strings.Fields(body)
		if len(f) != 2 || (f[1] != "online" && f[1] != "offline") {
			return nil, fmt.Errorf("status line %q: want \"at <d>: <device> online|offline\"", line)
		}
		order++
		s.inputs = append(s.inputs, scriptInput{at: at, order: order, line: line, apply: func(e *Engine, ts int64) []Signal {
			return e.Status(StatusChange{DeviceID: f[0], Online: f[1] == "online", TS: ts})
		}})
	}
	for _, line := range s.Actions {
		at, body, err := atLine(line)
		if err != nil {
			return nil, fmt.Errorf("action %w", err)
		}
		f := strings.SplitN(body, " ", 4)
		if len(f) < 3 || (f[0] != "ack" && f[0] != "resolve") {
			return nil, fmt.Errorf("action line %q: want \"at <d>: ack|resolve <rule> <device> [note]\"", line)
		}
		note := "脚本操作 / scripted"
		if len(f) == 4 {
			note = f[3]
		}
		order++
		s.inputs = append(s.inputs, scriptInput{at: at, order: order, line: line, action: func(ctx context.Context, a ScriptAlerts) error {
			return a.Act(ctx, f[0], f[1], f[2], note)
		}})
	}
	byAt := map[time.Duration]*scriptExpect{}
	for _, line := range s.Expect {
		at, body, err := atLine(line)
		if err != nil {
			return nil, fmt.Errorf("expect %w", err)
		}
		x := byAt[at]
		if x == nil {
			x = &scriptExpect{at: at, first: line}
			byAt[at] = x
		}
		f := strings.Fields(body)
		switch {
		case len(f) == 1 && f[0] == "none":
			x.none = line
		case len(f) == 3 && (f[0] == "pending" || f[0] == "firing"):
			x.states = append(x.states, strings.Join(f, " "))
			x.lines = append(x.lines, line)
		case len(f) == 4 && f[0] == "alert":
			x.alerts = append(x.alerts, strings.Join(f[1:], " "))
			x.alines = append(x.alines, line)
		default:
			return nil, fmt.Errorf("expect line %q: want \"at <d>: none\", \"at <d>: pending|firing <rule> <device>\" or \"at <d>: alert <rule> <device> <status>\"", line)
		}
	}
	for _, x := range byAt {
		s.exps = append(s.exps, *x)
	}
	sort.Slice(s.exps, func(i, j int) bool { return s.exps[i].at < s.exps[j].at })
	sort.SliceStable(s.inputs, func(i, j int) bool {
		if s.inputs[i].at != s.inputs[j].at {
			return s.inputs[i].at < s.inputs[j].at
		}
		return s.inputs[i].order < s.inputs[j].order
	})
	for _, in := range s.inputs {
		s.end = max(s.end, in.at)
	}
	for _, x := range s.exps {
		s.end = max(s.end, x.at)
	}
	if s.End != "" {
		if s.end, err = scriptDur(s.End, ""); err != nil {
			return nil, fmt.Errorf("end: %w", err)
		}
	}
	return s, nil
}

// RunScript runs s through a fresh Engine checking rules against catalog, and through
// the alert state machine newAlerts returns for the script's clock (nil: expectations
// and actions about alerts fail). Failed expectations are in the result; an error means
// the script could not run (a rule does not load, a signal could not be applied).
// Readings are processed at their time, then the engine is swept at that time, then the
// expectations for that time are checked. Actions act as an operator named operator1.
func RunScript(s *Script, catalog Catalog, newAlerts func(citybrain.Clock) ScriptAlerts) (*ScriptResult, error) {
	res := &ScriptResult{Name: s.Name}
	devices := map[string]DeviceInfo{}
	for _, d := range s.Devices {
		devices[d.ID] = DeviceInfo(d)
	}
	e := NewEngine(Config{
		Lookup:  func(id string) (DeviceInfo, bool) { d, ok := devices[id]; return d, ok },
		Catalog: catalog,
	})
	rules := make([]Rule, len(s.Rules))
	copy(rules, s.Rules)
	for i := range rules {
		rules[i].Enabled = true
	}
	if _, errs := e.Load(rules); len(errs) > 0 {
		var msgs []string
		for id, err := range errs {
			msgs = append(msgs, fmt.Sprintf("rule %s: %v", id, err))
		}
		sort.Strings(msgs)
		return nil, fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	for _, d := range s.Devices {
		e.UpdateDevice(devices[d.ID], s.start)
	}
	clock := &citybrain.FixedClock{T: s.start}
	var alerts ScriptAlerts
	if newAlerts != nil {
		alerts = newAlerts(clock)
	}
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{Username: "operator1", Role: citybrain.RoleOperator})
	apply := func(sigs []Signal) error {
		if alerts == nil {
			return nil
		}
		for _, sg := range sigs {
			if err := alerts.Apply(ctx, sg); err != nil {
				return fmt.Errorf("apply %s %s %s: %w", sg.State, sg.RuleID, sg.DeviceID, err)
			}
		}
		return nil
	}
	noAlerts := "no alert state machine"
	next, xi := 0, 0
	for at := time.Duration(0); at <= s.end; at += s.step {
		now := s.start.Add(at)
		clock.T = now
		for next < len(s.inputs) && s.inputs[next].at <= at {
			in := s.inputs[next]
			next++
			ts := s.start.Add(in.at).UnixMilli()
			if in.apply != nil {
				if err := apply(in.apply(e, ts)); err != nil {
					return nil, fmt.Errorf("at %s: %w", in.at, err)
				}
				continue
			}
			var err error
			if alerts == nil {
				err = fmt.Errorf("%s", noAlerts)
			} else {
				err = in.action(ctx, alerts)
			}
			if err != nil {
				res.Checks = append(res.Checks, ScriptCheck{At: in.at, Line: in.line, Got: "action failed: " + err.Error()})
			}
		}
		if err := apply(e.Sweep(now)); err != nil {
			return nil, fmt.Errorf("at %s: %w", at, err)
		}
		for xi < len(s.exps) && s.exps[xi].at <= at {
			x := s.exps[xi]
			xi++
			if x.at != at {
				res.Checks = append(res.Checks, ScriptCheck{At: x.at, Line: x.first,
					Got: fmt.Sprintf("the time falls between steps of %s: set step", Duration(s.step))})
				continue
			}
			res.Checks = append(res.Checks, checkStates(e, x)...)
			for i, want := range x.alerts {
				f := strings.Fields(want)
				c := ScriptCheck{At: at, Line: x.alines[i]}
				if alerts == nil {
					c.Got = noAlerts
				} else if got, err := alerts.Status(ctx, f[0], f[1]); err != nil {
					c.Got = err.Error()
				} else if got == f[2] {
					c.OK = true
				} else {
					c.Got = got
				}
				res.Checks = append(res.Checks, c)
			}
		}
	}
	if s.Alerts != nil {
		c := ScriptCheck{At: s.end, Line: fmt.Sprintf("alerts: %d", *s.Alerts)}
		if alerts == nil {
			c.Got = noAlerts
		} else if all, err := alerts.Created(ctx); err != nil {
			c.Got = err.Error()
		} else if len(all) == *s.Alerts {
			c.OK = true
		} else {
			c.Got = fmt.Sprintf("%d: %s", len(all), strings.Join(all, ", "))
		}
		res.Checks = append(res.Checks, c)
	}
	return res, nil
}

// checkStates compares the pending and firing (rule, entity) pairs with the expected
// set: one check per expected line, and one for any pair nobody expected.
func checkStates(e *Engine, x scriptExpect) []ScriptCheck {
	if x.none == "" && len(x.states) == 0 {
		return nil
	}
	got := map[string]bool{}
	var gotList []string
	for _, st := range e.States() {
		entity := st.DeviceID
		if st.Entity != "" {
			entity = st.Entity
		}
		k := fmt.Sprintf("%s %s %s", st.State, st.RuleID, entity)
		got[k] = true
		gotList = append(gotList, k)
	}
	sort.Strings(gotList)
	all := strings.Join(gotList, "; ")
	if all == "" {
		all = "none"
	}
	var out []ScriptCheck
	want := map[string]bool{}
	for i, st := range x.states {
		want[st] = true
		c := ScriptCheck{At: x.at, Line: x.lines[i], OK: got[st]}
		if !c.OK {
			c.Got = all
		}
		out = append(out, c)
	}
	var extra []string
	for _, k := range gotList {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	line := fmt.Sprintf("at %s: nothing else pending or firing", Duration(x.at))
	if x.none != "" && len(x.states) == 0 {
		line = x.none
	}
	c := ScriptCheck{At: x.at, Line: line, OK: len(extra) == 0}
	if !c.OK {
		c.Got = strings.Join(extra, "; ")
	}
	return append(out, c)
}
