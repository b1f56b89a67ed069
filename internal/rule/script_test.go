package rule_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
)

// script is one rule test file in testdata/. See testdata/README.md for the format.
type script struct {
	Name     string      `yaml:"name"`
	Start    string      `yaml:"start"`
	Interval string      `yaml:"interval"`
	Step     string      `yaml:"step"`
	End      string      `yaml:"end"`
	Rules    []rule.Rule `yaml:"rules"`
	Devices  []struct {
		ID        string `yaml:"id"`
		Profile   string `yaml:"profile"`
		Area      string `yaml:"area"`
		Household string `yaml:"household"`
	} `yaml:"devices"`
	Readings []string `yaml:"readings"`
	Events   []string `yaml:"events"`
	Status   []string `yaml:"status"`
	Actions  []string `yaml:"actions"`
	Expect   []string `yaml:"expect"`
	Alerts   *int     `yaml:"alerts"`
}

// scriptProfiles is the catalog the scripts are checked against.
func scriptProfiles(p string) (rule.ProfileInfo, bool) {
	switch p {
	case "waterlogging":
		return rule.ProfileInfo{Measurements: []string{"level_cm", "battery"}}, true
	case "air_quality":
		return rule.ProfileInfo{Measurements: []string{"pm25", "pm10", "no2", "o3"}}, true
	case "gas":
		return rule.ProfileInfo{Measurements: []string{"methane_lel", "battery"}}, true
	case "door_sensor":
		return rule.ProfileInfo{Measurements: []string{"battery", "open_count"}, Events: []string{"door_open", "door_close", "motion"}}, true
	case "motion_sensor":
		return rule.ProfileInfo{Measurements: []string{"battery", "motion", "motion_count"}}, true
	case "smoke_detector":
		return rule.ProfileInfo{Measurements: []string{"battery"}, Events: []string{"smoke_alarm", "smoke_clear", "test"}}, true
	case "manhole_cover":
		return rule.ProfileInfo{Measurements: []string{"open", "tilt_deg"}}, true
	case "generic":
		return rule.ProfileInfo{AnyMeasurement: true}, true
	}
	return rule.ProfileInfo{}, false
}

type input struct {
	at     time.Duration
	order  int
	apply  func(e *rule.Engine, ts int64) []rule.Signal
	action func(ctx context.Context, m *alert.Manager, repo *alert.MemoryRepo) error
}

type expectation struct {
	at     time.Duration
	states []string // "firing rule device"
	check  bool     // states are checked at this time
	alerts []string // "rule device status"
	line   string
}

func parseDur(t *testing.T, s, def string) time.Duration {
	t.Helper()
	if s == "" {
		s = def
	}
	d, err := rule.ParseDuration(s)
	if err != nil {
		t.Fatalf("bad duration %q: %v", s, err)
	}
	return d
}

// atLine splits "at 5m: rest".
func atLine(t *testing.T, line string) (time.Duration, string) {
	t.Helper()
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "at ")
	if !ok {
		t.Fatalf("line %q must start with \"at <duration>:\"", line)
	}
	d, body, ok := strings.Cut(rest, ":")
	if !ok {
		t.Fatalf("line %q lacks ':'", line)
	}
	return parseDur(t, strings.TrimSpace(d), ""), strings.TrimSpace(body)
}

// expandValues expands Prometheus-style series notation: "10 12 _ 1+2x3 5x2 _x4".
func expandValues(t *testing.T, s string) []*float64 {
	t.Helper()
	var out []*float64
	for _, tok := range strings.Fields(s) {
		base, times, hasX := strings.Cut(tok, "x")
		n := 0
		if hasX {
			var err error
			if n, err = strconv.Atoi(times); err != nil {
				t.Fatalf("bad repeat in %q", tok)
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
			t.Fatalf("bad value %q", tok)
		}
		for i := 0; i <= n; i++ {
			v := a + float64(i)*b
			out = append(out, &v)
		}
	}
	return out
}

func loadScript(t *testing.T, path string) (s script, inputs []input, exps []expectation, start time.Time, step, end time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	start = time.Date(2026, 7, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if s.Start != "" {
		if start, err = time.Parse(time.RFC3339, s.Start); err != nil {
			t.Fatalf("bad start: %v", err)
		}
	}
	interval := parseDur(t, s.Interval, "1m")
	step = parseDur(t, s.Step, s.Interval)
	if step == 0 {
		step = time.Minute
	}
	order := 0
	for _, line := range s.Readings {
		head, vals, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("reading line %q lacks ':'", line)
		}
		f := strings.Fields(head)
		if len(f) < 2 {
			t.Fatalf("reading line %q: want \"<device> <measurement> [every <d>] [from <d>]: values\"", line)
		}
		dev, meas := f[0], f[1]
		every, from := interval, time.Duration(0)
		for i := 2; i+1 < len(f); i += 2 {
			switch f[i] {
			case "every":
				every = parseDur(t, f[i+1], "")
			case "from":
				from = parseDur(t, f[i+1], "")
			default:
				t.Fatalf("reading line %q: unknown option %q", line, f[i])
			}
		}
		for i, v := range expandValues(t, vals) {
			if v == nil {
				continue
			}
			val := *v
			order++
			inputs = append(inputs, input{at: from + time.Duration(i)*every, order: order, apply: func(e *rule.Engine, ts int64) []rule.Signal {
				return e.Readings([]rule.Reading{{DeviceID: dev, Measurement: meas, TS: ts, Value: val}})
			}})
		}
	}
	for _, line := range s.Events {
		at, body := atLine(t, line)
		f := strings.Fields(body)
		if len(f) != 2 {
			t.Fatalf("event line %q: want \"at <d>: <device> <type>\"", line)
		}
		order++
		inputs = append(inputs, input{at: at, order: order, apply: func(e *rule.Engine, ts int64) []rule.Signal {
			return e.Event(rule.Event{DeviceID: f[0], Type: f[1], TS: ts})
		}})
	}
	for _, line := range s.Status {
		at, body := atLine(t, line)
		f := strings.Fields(body)
		if len(f) != 2 || (f[1] != "online" && f[1] != "offline") {
			t.Fatalf("status line %q: want \"at <d>: <device> online|offline\"", line)
		}
		order++
		inputs = append(inputs, input{at: at, order: order, apply: func(e *rule.Engine, ts int64) []rule.Signal {
			return e.Status(rule.StatusChange{DeviceID: f[0], Online: f[1] == "online", TS: ts})
		}})
	}
	for _, line := range s.Actions {
		at, body := atLine(t, line)
		f := strings.SplitN(body, " ", 4)
		if len(f) < 3 || (f[0] != "ack" && f[0] != "resolve") {
			t.Fatalf("action line %q: want \"at <d>: ack|resolve <rule> <device> [note]\"", line)
		}
		note := "脚本操作 / scripted"
		if len(f) == 4 {
			note = f[3]
		}
		order++
		inputs = append(inputs, input{at: at, order: order, action: func(ctx context.Context, m *alert.Manager, repo *alert.MemoryRepo) error {
			list, err := repo.ListAlerts(ctx, alert.Filter{RuleID: f[1], Entity: f[2], Status: alert.OpenStatuses()})
			if err != nil || len(list) == 0 {
				return fmt.Errorf("no open alert for %s %s", f[1], f[2])
			}
			if f[0] == "ack" {
				_, err = m.Ack(ctx, list[0].ID, note)
			} else {
				_, err = m.Resolve(ctx, list[0].ID, note)
			}
			return err
		}})
	}
	byAt := map[time.Duration]*expectation{}
	for _, line := range s.Expect {
		at, body := atLine(t, line)
		x := byAt[at]
		if x == nil {
			x = &expectation{at: at, line: line, states: []string{}}
			byAt[at] = x
		}
		f := strings.Fields(body)
		switch {
		case len(f) == 1 && f[0] == "none":
			x.check = true
		case len(f) == 3 && (f[0] == "pending" || f[0] == "firing"):
			x.check = true
			x.states = append(x.states, strings.Join(f, " "))
		case len(f) == 4 && f[0] == "alert":
			x.alerts = append(x.alerts, strings.Join(f[1:], " "))
		default:
			t.Fatalf("expect line %q: want \"at <d>: none\", \"at <d>: pending|firing <rule> <device>\" or \"at <d>: alert <rule> <device> <status>\"", line)
		}
	}
	for _, x := range byAt {
		sort.Strings(x.states)
		exps = append(exps, *x)
	}
	sort.Slice(exps, func(i, j int) bool { return exps[i].at < exps[j].at })
	sort.SliceStable(inputs, func(i, j int) bool {
		if inputs[i].at != inputs[j].at {
			return inputs[i].at < inputs[j].at
		}
		return inputs[i].order < inputs[j].order
	})
	for _, in := range inputs {
		end = max(end, in.at)
	}
	for _, x := range exps {
		end = max(end, x.at)
	}
	if s.End != "" {
		end = parseDur(t, s.End, "")
	}
	return
}

func runScript(t *testing.T, path string) {
	s, inputs, exps, start, step, end := loadScript(t, path)
	devices := map[string]rule.DeviceInfo{}
	for _, d := range s.Devices {
		devices[d.ID] = rule.DeviceInfo{ID: d.ID, Profile: d.Profile, Area: d.Area, Household: d.Household}
	}
	e := rule.NewEngine(rule.Config{
		Lookup:  func(id string) (rule.DeviceInfo, bool) { d, ok := devices[id]; return d, ok },
		Catalog: scriptProfiles,
	})
	for i := range s.Rules {
		s.Rules[i].Enabled = true
	}
	if _, errs := e.Load(s.Rules); len(errs) > 0 {
		t.Fatalf("rules: %v", errs)
	}
	for _, d := range s.Devices {
		e.UpdateDevice(devices[d.ID], start)
	}
	clock := &citybrain.FixedClock{T: start}
	repo := alert.NewMemoryRepo()
	m := alert.NewManager(alert.Config{Repo: repo, Clock: clock})
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{Username: "operator1", Role: citybrain.RoleOperator})
	apply := func(sigs []rule.Signal) {
		for _, sg := range sigs {
			if _, err := m.Apply(ctx, sg); err != nil {
				t.Fatalf("apply %+v: %v", sg, err)
			}
		}
	}
	next := 0
	xi := 0
	for at := time.Duration(0); at <= end; at += step {
		now := start.Add(at)
		clock.T = now
		for next < len(inputs) && inputs[next].at <= at {
			in := inputs[next]
			next++
			ts := start.Add(in.at).UnixMilli()
			if in.apply != nil {
				apply(in.apply(e, ts))
			} else if err := in.action(ctx, m, repo); err != nil {
				t.Fatalf("at %s: action: %v", in.at, err)
			}
		}
		apply(e.Sweep(now))
		for xi < len(exps) && exps[xi].at <= at {
			x := exps[xi]
			xi++
			if x.at != at {
				t.Errorf("expectation %q falls between steps of %s", x.line, step)
				continue
			}
			got := []string{}
			for _, st := range e.States() {
				entity := st.DeviceID
				if st.Entity != "" {
					entity = st.Entity
				}
				got = append(got, fmt.Sprintf("%s %s %s", st.State, st.RuleID, entity))
			}
			sort.Strings(got)
			if x.check && strings.Join(got, "; ") != strings.Join(x.states, "; ") {
				t.Errorf("at %s: states\n got  [%s]\n want [%s]", at, strings.Join(got, "; "), strings.Join(x.states, "; "))
			}
			for _, want := range x.alerts {
				f := strings.Fields(want)
				list, _ := repo.ListAlerts(ctx, alert.Filter{RuleID: f[0], Entity: f[1], Limit: 1})
				gotStatus := "none"
				if len(list) > 0 {
					gotStatus = string(list[0].Status)
				}
				if gotStatus != f[2] {
					t.Errorf("at %s: alert %s %s is %s, want %s", at, f[0], f[1], gotStatus, f[2])
				}
			}
		}
	}
	if s.Alerts != nil {
		all, _ := repo.ListAlerts(ctx, alert.Filter{Limit: 500})
		if len(all) != *s.Alerts {
			var desc []string
			for _, a := range all {
				desc = append(desc, fmt.Sprintf("#%d %s %s %s", a.ID, a.RuleID, a.DeviceID, a.Status))
			}
			t.Errorf("alerts created: got %d, want %d: %s", len(all), *s.Alerts, strings.Join(desc, ", "))
		}
	}
}

// TestScripts runs every rule test script in testdata/.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("want at least 8 scripts in testdata, found %d", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			runScript(t, f)
		})
	}
}
