package assess

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDirectoryResolve(t *testing.T) {
	d := NewDirectory([]AreaNode{
		{Code: "D", Level: "district", NameZH: "区"},
		{Code: "S1", Parent: "D", Level: UnitStreet, NameZH: "一街道"},
		{Code: "C1", Parent: "S1", Level: UnitCommunity, NameZH: "一社区"},
		{Code: "G1", Parent: "C1", Level: "grid", NameZH: "一网格"},
	}, []Unit{{Code: "WATER", NameZH: "区水务局"}})
	for _, c := range []struct{ kind, code, want string }{
		{UnitStreet, "G1", "S1"}, {UnitStreet, "C1", "S1"}, {UnitStreet, "S1", "S1"}, {UnitCommunity, "G1", "C1"},
		{UnitCommunity, "S1", ""}, {UnitStreet, "D", ""}, {UnitStreet, "nope", ""}, {UnitStreet, "", ""},
	} {
		if got := d.Resolve(c.kind, c.code); got != c.want {
			t.Errorf("Resolve(%s, %s) = %q, want %q", c.kind, c.code, got, c.want)
		}
	}
	if u := d.Unit(UnitDepartment, "WATER"); u.NameZH != "区水务局" {
		t.Errorf("department name %+v", u)
	}
	if u := d.Unit(UnitStreet, "X9"); u.NameZH != "X9" {
		t.Errorf("unknown unit should fall back to its code: %+v", u)
	}
	if n := len(d.Units(UnitStreet)); n != 1 {
		t.Errorf("%d streets", n)
	}
}

func sampleReport(t *testing.T) *Report {
	s := mustTemplate(t, "wo-street")
	rs := s.Evaluate([]Input{
		{Unit: "S1", Cases: 50, Metrics: map[string]float64{"wo_response_rate": 100, "wo_ontime_close_rate": 100, "wo_resolve_rate": 100, "wo_satisfaction_rate": 100, "wo_rework_rate": 0}},
		{Unit: "S2", Cases: 3, Metrics: map[string]float64{"wo_response_rate": 80}},
	})
	CompareWith(rs, []Result{{Unit: "S1", Total: 90}})
	rs[0].NameZH = "一街道"
	return &Report{System: info(s), Run: Run{System: s.ID, Version: 1, Period: "2026-Q3", ComputedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
		Indicators: s.Indicators, Grades: s.Grades, MinCases: s.MinCases, Results: rs}
}

func TestReportExports(t *testing.T) {
	rep := sampleReport(t)
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// S1: all perfect → 100, A, rank 1, previous 90 → delta 10. S2: 3 cases → not ranked; only
	// the response indicator has data: (80−60)/40 → 50.
	if len(rows) != 3 || rows[1][0] != "1" || rows[1][1] != "S1" || rows[1][3] != "100.00" || rows[1][4] != "A" || rows[1][8] != "10.00" {
		t.Fatalf("csv row 1: %q", rows[1])
	}
	if !strings.Contains(rows[2][0], "不排名") || rows[2][3] != "50.00" || !strings.Contains(rows[2][10], "无数据") {
		t.Fatalf("csv row 2: %q", rows[2])
	}
	b.Reset()
	if err := rep.WriteXLSX(&b); err != nil || b.Len() < 1000 || !bytes.HasPrefix(b.Bytes(), []byte("PK")) {
		t.Fatalf("xlsx: %v (%d bytes)", err, b.Len())
	}
	b.Reset()
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{"<svg", "一街道", "▲ 10.00", "不排名", "window.print()"} {
		if !strings.Contains(h, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(h, "<script src") || strings.Contains(h, "cdn") {
		t.Error("the report must not load anything from outside")
	}
}

// FuzzParseSystem feeds arbitrary documents to the importer: it must never panic, and an
// accepted system must validate and evaluate with scores in range.
func FuzzParseSystem(f *testing.F) {
	ts, _ := Templates()
	for _, s := range ts {
		b, _ := jsonOf(s)
		f.Add(b)
	}
	f.Add([]byte("id: x\nindicators: [{id: a, parent: a}]"))
	f.Add([]byte(`{"id":"x","indicators":[{"id":"a","weight":1e309}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSystem(b)
		if err != nil {
			return
		}
		for _, r := range s.Evaluate([]Input{{Unit: "u", Cases: 1, Metrics: map[string]float64{"wo_count": 5, "wo_response_rate": 50}}}) {
			if r.Total < 0 || r.Total > 100 {
				t.Fatalf("total %v out of range", r.Total)
			}
		}
	})
}

func jsonOf(s *System) ([]byte, error) { return json.Marshal(s) }
