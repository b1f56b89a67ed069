package assess

import (
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

func TestTemplatesValidate(t *testing.T) {
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 6 {
		t.Fatalf("want 6 shipped systems, got %d", len(ts))
	}
	for _, s := range ts {
		if s.Grade(90) != "A" || s.Grade(89.99) != "B" || s.Grade(75) != "B" || s.Grade(60) != "C" || s.Grade(40) != "D" || s.Grade(39.99) != "E" {
			t.Errorf("%s: grade cut-offs wrong", s.ID)
		}
	}
}

// TestHandComputedStreetScores checks every number of a small district against a hand
// computation (shown in the comments).
func TestHandComputedStreetScores(t *testing.T) {
	s := mustTemplate(t, "wo-street")
	in := []Input{
		// A: response 90 → (90−60)/40×100 = 75; ontime 80 → 60; resolve 95 → 90; satisfaction 85 → 70;
		// rework 5 → 100 − 25 = 75. Total = (75×25 + 60×25 + 90×20 + 70×20 + 75×10)/100 = 73.25 → C.
		{Unit: "A", Cases: 120, Metrics: map[string]float64{"wo_response_rate": 90, "wo_ontime_close_rate": 80, "wo_resolve_rate": 95, "wo_satisfaction_rate": 85, "wo_rework_rate": 5}},
		// B: all perfect → 100 → A, but only 5 cases: not ranked.
		{Unit: "B", Cases: 5, Metrics: map[string]float64{"wo_response_rate": 100, "wo_ontime_close_rate": 100, "wo_resolve_rate": 100, "wo_satisfaction_rate": 100, "wo_rework_rate": 0}},
		// C: response 100 → 100; ontime 100 → 100; resolve 100 → 100; satisfaction 90 → 80; rework 0 → 100.
		// Total = (2500 + 2500 + 2000 + 1600 + 1000)/100 = 96 → A, rank 1.
		{Unit: "C", Cases: 300, Metrics: map[string]float64{"wo_response_rate": 100, "wo_ontime_close_rate": 100, "wo_resolve_rate": 100, "wo_satisfaction_rate": 90, "wo_rework_rate": 0}},
		// D: satisfaction missing (nobody rated): weights renormalised over the other 80.
		// response 70 → 25; ontime 50 → 0; resolve 50 → 0; rework 30 → clamp 0.
		// Total = (25×25)/80 = 7.8125 → 7.81 → E.
		{Unit: "D", Cases: 40, Metrics: map[string]float64{"wo_response_rate": 70, "wo_ontime_close_rate": 50, "wo_resolve_rate": 50, "wo_rework_rate": 30}},
	}
	rs := s.Evaluate(in)
	want := map[string]struct {
		total  float64
		grade  string
		rank   int
		ranked bool
	}{"A": {73.25, "C", 2, true}, "B": {100, "A", 0, false}, "C": {96, "A", 1, true}, "D": {7.81, "E", 3, true}}
	for _, r := range rs {
		w := want[r.Unit]
		if r.Total != w.total || r.Grade != w.grade || r.Rank != w.rank || r.Ranked != w.ranked {
			t.Errorf("%s: got total %v grade %s rank %d ranked %v; want %+v", r.Unit, r.Total, r.Grade, r.Rank, r.Ranked, w)
		}
	}
	if rs[0].Unit != "B" {
		t.Errorf("results should be ordered by total; first is %s", rs[0].Unit)
	}
	if !strings.Contains(rs[0].Reason, "5") {
		t.Errorf("not-ranked reason %q", rs[0].Reason)
	}
}

func TestHandComputedDepartmentBands(t *testing.T) {
	s := mustTemplate(t, "wo-dept")
	// count 120 → band ≥100 → 90; closed 80 → 80; ontime 70 → 70; rework 10 (lower, 0..100) → 90.
	// Total = (90×10 + 80×30 + 70×30 + 90×30)/100 = 81 → B.
	rs := s.Evaluate([]Input{{Unit: "WATER", Cases: 120, Metrics: map[string]float64{"wo_count": 120, "wo_closed_rate": 80, "wo_ontime_close_rate": 70, "wo_rework_rate": 10}}})
	if rs[0].Total != 81 || rs[0].Grade != "B" {
		t.Fatalf("%+v", rs[0])
	}
}

func TestNestedManualAndPlatform(t *testing.T) {
	s := mustTemplate(t, "city-mgmt")
	in := Input{Unit: "S", Cases: 50,
		Metrics: map[string]float64{"wo_ontime_close_rate": 100, "wo_rework_rate": 0, "wo_response_rate": 100, "alert_ack_ontime_rate": 100, "dev_online_rate": 100, "wo_satisfaction_rate": 100},
		Manual:  map[string]float64{"clean.site": 80, "tidy.site": 80, "order.site": 80, "satisfied.survey": 60}}
	// clean = 80×.7 + 100×.3 = 86; tidy = 86; order = 80×.6 + 100×.4 = 88; safe = 100; satisfied = 80.
	// total = (86+86+88+100+80)/5 = 88 → B.
	r := s.Evaluate([]Input{in})[0]
	if r.Total != 88 || r.Grade != "B" {
		t.Fatalf("%+v", r)
	}
}

func TestValidationCatchesMistakes(t *testing.T) {
	base := func() *System { return mustTemplate(t, "wo-street") }
	cases := map[string]func(s *System){
		"weights do not sum": func(s *System) { s.Indicators[0].Weight = 30 },
		"unknown metric":     func(s *System) { s.Indicators[0].Metric = "nonsense" },
		"cycle": func(s *System) {
			s.Indicators = append(s.Indicators, &Indicator{ID: "x", Parent: "y", Weight: 100, Metric: "wo_count", Scoring: Scoring{Kind: "direct"}},
				&Indicator{ID: "y", Parent: "x", Weight: 100, Metric: "wo_count", Scoring: Scoring{Kind: "direct"}})
		},
		"missing parent":   func(s *System) { s.Indicators[0].Parent = "ghost" },
		"duplicate id":     func(s *System) { s.Indicators[1].ID = s.Indicators[0].ID },
		"bad scoring":      func(s *System) { s.Indicators[0].Scoring = Scoring{Kind: "linear", Min: 1, Max: 1} },
		"grades ascending": func(s *System) { s.Grades[1].Min = 95 },
		"bad unit kind":    func(s *System) { s.UnitKind = "planet" },
	}
	for name, mutate := range cases {
		s := base()
		mutate(s)
		err := s.Validate(KnownMetric)
		if citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestScoresStayInBoundsAndGradesMonotone is a property test: for random systems' inputs,
// totals stay within 0–100, a better metric never lowers a score, and grades follow totals.
func TestScoresStayInBoundsAndGradesMonotone(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	ts, _ := Templates()
	order := map[string]int{"A": 5, "B": 4, "C": 3, "D": 2, "E": 1}
	for i := 0; i < 3000; i++ {
		s := ts[rng.Intn(len(ts))]
		in := Input{Unit: "u", Cases: rng.Intn(100), Metrics: map[string]float64{}, Manual: map[string]float64{}}
		for _, m := range s.Metrics() {
			in.Metrics[m] = rng.Float64() * 120
		}
		for _, l := range s.Leaves() {
			if l.Manual {
				in.Manual[l.ID] = rng.Float64() * 100
			}
		}
		r := s.Evaluate([]Input{in})[0]
		if r.Total < 0 || r.Total > 100 || math.IsNaN(r.Total) {
			t.Fatalf("%s total %v out of bounds", s.ID, r.Total)
		}
		// Improve one metric in its good direction: the total must not drop.
		leaves := s.Leaves()
		l := leaves[rng.Intn(len(leaves))]
		if l.Metric == "" {
			continue
		}
		better := Input{Unit: "u", Cases: in.Cases, Metrics: map[string]float64{}, Manual: in.Manual}
		for k, v := range in.Metrics {
			better.Metrics[k] = v
		}
		if l.Direction == Lower {
			better.Metrics[l.Metric] = in.Metrics[l.Metric] * 0.5
		} else {
			better.Metrics[l.Metric] = in.Metrics[l.Metric]*1.5 + 1
		}
		r2 := s.Evaluate([]Input{better})[0]
		if l.Metric == s.CaseMetric && l.Direction == "" {
			continue
		}
		if r2.Total+1e-9 < r.Total {
			t.Fatalf("%s: improving %s lowered the total %v → %v", s.ID, l.Metric, r.Total, r2.Total)
		}
		if order[r2.Grade] < order[r.Grade] {
			t.Fatalf("%s: higher total got a lower grade", s.ID)
		}
	}
}

func TestPeriods(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	p, err := ParsePeriod("2026-Q3", loc)
	if err != nil || p.From.Month() != 7 || p.To.Month() != 10 {
		t.Fatalf("%+v %v", p, err)
	}
	if prev := p.Previous(); prev.Name != "2026-Q2" || !prev.To.Equal(p.From) {
		t.Fatalf("previous %+v", prev)
	}
	if p, _ := ParsePeriod("2026-01", loc); p.Previous().Name != "2025-12" {
		t.Fatal("month previous")
	}
	if p, err := ParsePeriod("2026-07-01..2026-07-31", loc); err != nil || p.To.Day() != 1 || p.To.Month() != 8 {
		t.Fatalf("range %+v %v", p, err)
	}
	for _, bad := range []string{"2026-Q5", "Q3", "2026-13", "2026-09-30..2026-07-01", ""} {
		if _, err := ParsePeriod(bad, loc); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Errorf("%q accepted", bad)
		}
	}
}

func mustTemplate(t *testing.T, id string) *System {
	t.Helper()
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ts {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no template %s", id)
	return nil
}
