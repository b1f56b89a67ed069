// Package assess owns evaluation and assessment (评估考核): indicator systems as versioned
// data (a tree of weighted indicators with scoring functions), validation, scoring of units
// (streets, communities, departments) from platform metrics and manual inputs, grades,
// fair rankings (units with too few cases are not ranked) and comparison with a unit's own
// past. It is pure: metrics come in as values and results go out as values; storage and
// metric computation live in the store package. Values are immutable after construction
// and safe for concurrent use.
package assess

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/citybrain/citybrain"
)

// Direction says whether a higher metric value is better.
type Direction string

// Directions.
const (
	Higher Direction = "higher"
	Lower  Direction = "lower"
)

// Band is one row of a banded scoring table: values >= From score Score (the highest
// matching From wins).
type Band struct {
	From  float64 `json:"from" yaml:"from"`
	Score float64 `json:"score" yaml:"score"`
}

// Scoring turns a metric value into a score from 0 to 100.
type Scoring struct {
	// Kind: "linear" (Min→0, Max→100, clamped; reversed for Lower), "bands", "ratio"
	// (100 × value / Target, or Target / value for Lower, capped at 100) or "direct"
	// (the value already is a 0–100 score, e.g. a manual inspection score).
	Kind   string  `json:"kind" yaml:"kind"`
	Min    float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max    float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Bands  []Band  `json:"bands,omitempty" yaml:"bands,omitempty"`
	Target float64 `json:"target,omitempty" yaml:"target,omitempty"`
}

// Indicator is one node of an indicator system. A leaf has a Metric (computed by the
// platform) or is Manual (entered with evidence); an inner node scores as the weighted mean
// of its children.
type Indicator struct {
	ID        string    `json:"id" yaml:"id"`
	Parent    string    `json:"parent,omitempty" yaml:"parent,omitempty"`
	NameZH    string    `json:"name_zh" yaml:"name_zh"`
	NameEN    string    `json:"name_en" yaml:"name_en"`
	Weight    float64   `json:"weight" yaml:"weight"`
	Direction Direction `json:"direction,omitempty" yaml:"direction,omitempty"`
	Unit      string    `json:"unit,omitempty" yaml:"unit,omitempty"`
	Metric    string    `json:"metric,omitempty" yaml:"metric,omitempty"`
	Manual    bool      `json:"manual,omitempty" yaml:"manual,omitempty"`
	Scoring   Scoring   `json:"scoring" yaml:"scoring"`
	// Evidence names what a drill-down shows (work orders, devices, sharing requests...).
	Evidence string `json:"evidence,omitempty" yaml:"evidence,omitempty"`
}

// GradeCut is a grade and the lowest total that earns it.
type GradeCut struct {
	Grade string  `json:"grade" yaml:"grade"`
	Min   float64 `json:"min" yaml:"min"`
}

// System is a versioned indicator system.
type System struct {
	ID       string `json:"id" yaml:"id"`
	Version  int    `json:"version" yaml:"version"`
	NameZH   string `json:"name_zh" yaml:"name_zh"`
	NameEN   string `json:"name_en" yaml:"name_en"`
	UnitKind string `json:"unit_kind" yaml:"unit_kind"` // street, community or department
	// MinCases: units with fewer cases (CaseMetric) in the period are scored but not ranked.
	MinCases   int          `json:"min_cases" yaml:"min_cases"`
	CaseMetric string       `json:"case_metric,omitempty" yaml:"case_metric,omitempty"`
	Grades     []GradeCut   `json:"grades" yaml:"grades"`
	Indicators []*Indicator `json:"indicators" yaml:"indicators"`
}

// Unit kinds.
const (
	UnitStreet     = "street"
	UnitCommunity  = "community"
	UnitDepartment = "department"
)

// weightTolerance is how far sibling weights may be from summing to 100.
const weightTolerance = 0.01

// Validate checks the system: ids unique, parents exist, no cycles, sibling weights sum to
// 100, leaves have a known metric or are manual, scoring parameters are sane, grade cut-offs
// descend. knownMetric reports whether a metric name exists. Errors name the indicator.
func (s *System) Validate(knownMetric func(string) bool) error {
	if s.ID == "" || s.NameZH == "" {
		return citybrain.FieldError("id", "指标体系需要 id 和中文名称 / a system needs an id and a Chinese name")
	}
	switch s.UnitKind {
	case UnitStreet, UnitCommunity, UnitDepartment:
	default:
		return citybrain.FieldError("unit_kind", "unit_kind must be street, community or department, got %q", s.UnitKind)
	}
	if len(s.Indicators) == 0 {
		return citybrain.FieldError("indicators", "指标体系没有指标 / the system has no indicators")
	}
	byID := map[string]*Indicator{}
	for i, ind := range s.Indicators {
		if ind == nil || ind.ID == "" {
			return citybrain.FieldError(fmt.Sprintf("indicators[%d].id", i), "indicator %d has no id", i)
		}
		if byID[ind.ID] != nil {
			return citybrain.FieldError("indicators", "指标 %s 重复 / indicator id %s appears twice", ind.ID, ind.ID)
		}
		byID[ind.ID] = ind
	}
	children := map[string][]*Indicator{}
	for _, ind := range s.Indicators {
		if ind.Parent != "" && byID[ind.Parent] == nil {
			return citybrain.FieldError("indicators", "指标 %s 的上级 %s 不存在 / indicator %s: parent %s does not exist", ind.ID, ind.Parent, ind.ID, ind.Parent)
		}
		children[ind.Parent] = append(children[ind.Parent], ind)
	}
	// Cycles: walk up from every node.
	for _, ind := range s.Indicators {
		seen := map[string]bool{}
		for cur := ind; cur != nil && cur.Parent != ""; cur = byID[cur.Parent] {
			if seen[cur.ID] {
				return citybrain.FieldError("indicators", "指标 %s 的上下级关系成环 / indicator %s is in a parent cycle", ind.ID, ind.ID)
			}
			seen[cur.ID] = true
		}
	}
	for parent, kids := range children {
		sum := 0.0
		for _, k := range kids {
			if k.Weight < 0 || math.IsNaN(k.Weight) {
				return citybrain.FieldError("weight", "指标 %s 权重为负 / indicator %s has a negative weight", k.ID, k.ID)
			}
			sum += k.Weight
		}
		if math.Abs(sum-100) > weightTolerance {
			where := "顶层 / top level"
			if parent != "" {
				where = parent
			}
			return citybrain.FieldError("weight", "%s 下的权重之和为 %.2f，应为 100 / weights under %s sum to %.2f, not 100", where, sum, where, sum)
		}
	}
	for _, ind := range s.Indicators {
		if len(children[ind.ID]) > 0 {
			continue
		}
		if ind.Manual == (ind.Metric != "") {
			return citybrain.FieldError("metric", "末级指标 %s 须有平台指标或标记为人工录入（二者取一）/ leaf %s needs exactly one of metric or manual", ind.ID, ind.ID)
		}
		if ind.Metric != "" && knownMetric != nil && !knownMetric(ind.Metric) {
			return citybrain.FieldError("metric", "指标 %s 引用了未知的平台指标 %q / indicator %s: unknown metric %q", ind.ID, ind.Metric, ind.ID, ind.Metric)
		}
		if err := ind.Scoring.validate(ind.ID); err != nil {
			return err
		}
		if ind.Direction != "" && ind.Direction != Higher && ind.Direction != Lower {
			return citybrain.FieldError("direction", "indicator %s: direction must be higher or lower", ind.ID)
		}
	}
	if len(s.Grades) == 0 {
		return citybrain.FieldError("grades", "需要等级分界 / grade cut-offs are required")
	}
	for i := 1; i < len(s.Grades); i++ {
		if s.Grades[i].Min >= s.Grades[i-1].Min {
			return citybrain.FieldError("grades", "等级分界须从高到低 / grade cut-offs must descend (%s %.1f after %s %.1f)", s.Grades[i].Grade, s.Grades[i].Min, s.Grades[i-1].Grade, s.Grades[i-1].Min)
		}
	}
	return nil
}

func (sc Scoring) validate(id string) error {
	switch sc.Kind {
	case "linear":
		if sc.Max == sc.Min {
			return citybrain.FieldError("scoring", "indicator %s: linear scoring needs min ≠ max", id)
		}
	case "bands":
		if len(sc.Bands) == 0 {
			return citybrain.FieldError("scoring", "indicator %s: banded scoring needs bands", id)
		}
	case "ratio":
		if sc.Target <= 0 {
			return citybrain.FieldError("scoring", "indicator %s: ratio scoring needs a positive target", id)
		}
	case "direct":
	default:
		return citybrain.FieldError("scoring", "indicator %s: scoring kind must be linear, bands, ratio or direct, got %q", id, sc.Kind)
	}
	return nil
}

// Score maps a metric value to 0–100.
func (sc Scoring) Score(v float64, dir Direction) float64 {
	var s float64
	switch sc.Kind {
	case "linear":
		s = 100 * (v - sc.Min) / (sc.Max - sc.Min)
		if dir == Lower {
			s = 100 - s
		}
	case "bands":
		bands := append([]Band(nil), sc.Bands...)
		if dir == Lower {
			// For lower-is-better tables the lowest matching upper bound wins: read From as "at most".
			sort.Slice(bands, func(i, j int) bool { return bands[i].From < bands[j].From })
			s = bands[len(bands)-1].Score
			for _, b := range bands {
				if v <= b.From {
					s = b.Score
					break
				}
			}
		} else {
			sort.Slice(bands, func(i, j int) bool { return bands[i].From > bands[j].From })
			s = bands[len(bands)-1].Score
			for _, b := range bands {
				if v >= b.From {
					s = b.Score
					break
				}
			}
		}
	case "ratio":
		if dir == Lower {
			if v <= 0 {
				s = 100
			} else {
				s = 100 * sc.Target / v
			}
		} else {
			s = 100 * v / sc.Target
		}
	case "direct":
		s = v
	}
	return clamp(s)
}

func clamp(s float64) float64 {
	if math.IsNaN(s) {
		return 0
	}
	return math.Max(0, math.Min(100, s))
}

// Grade returns the grade letter for a total.
func (s *System) Grade(total float64) string {
	for _, g := range s.Grades {
		if total >= g.Min {
			return g.Grade
		}
	}
	if len(s.Grades) > 0 {
		return s.Grades[len(s.Grades)-1].Grade
	}
	return ""
}

// Input is what the platform knows about one unit in one period.
type Input struct {
	Unit    string
	Metrics map[string]float64 // metric name → value; a missing metric means "no data"
	Manual  map[string]float64 // indicator id → manual score or value
	Cases   int                // volume for the fairness rule (e.g. work orders)
}

// IndicatorScore is one indicator's result for a unit.
type IndicatorScore struct {
	ID     string  `json:"id"`
	Value  float64 `json:"value"`
	Score  float64 `json:"score"`
	NoData bool    `json:"no_data,omitempty"`
}

// Result is a unit's result in a period.
type Result struct {
	Unit       string           `json:"unit"`
	Total      float64          `json:"total"`
	Grade      string           `json:"grade"`
	Rank       int              `json:"rank,omitempty"` // 0 when not ranked
	Ranked     bool             `json:"ranked"`
	Reason     string           `json:"reason,omitempty"` // why not ranked
	Cases      int              `json:"cases"`
	Indicators []IndicatorScore `json:"indicators"`
	// Previous is the unit's total in the previous period (nil when unknown); Delta = Total − Previous.
	Previous *float64 `json:"previous,omitempty"`
	Delta    *float64 `json:"delta,omitempty"`
	// Metrics are the platform metric values the scores came from (set by the Service and
	// stored with the result, so a drill-down shows the value used at the time).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// NameZH and NameEN name the unit (filled in when results are read).
	NameZH string `json:"name_zh,omitempty"`
	NameEN string `json:"name_en,omitempty"`
}

// Evaluate scores every unit with the system and ranks them fairly.
func (s *System) Evaluate(inputs []Input) []Result {
	children := map[string][]*Indicator{}
	for _, ind := range s.Indicators {
		children[ind.Parent] = append(children[ind.Parent], ind)
	}
	out := make([]Result, 0, len(inputs))
	for _, in := range inputs {
		r := Result{Unit: in.Unit, Cases: in.Cases}
		scores := map[string]IndicatorScore{}
		var score func(id string) (float64, bool)
		score = func(id string) (float64, bool) {
			kids := children[id]
			if len(kids) == 0 {
				ind := s.find(id)
				var v float64
				var ok bool
				if ind.Manual {
					v, ok = in.Manual[ind.ID]
				} else {
					v, ok = in.Metrics[ind.Metric]
				}
				is := IndicatorScore{ID: ind.ID, Value: v, NoData: !ok}
				if ok {
					is.Score = round2(ind.Scoring.Score(v, ind.Direction))
				}
				scores[id] = is
				return is.Score, ok
			}
			// Weighted mean of the children that have data; weights renormalised so a missing
			// input neither rewards nor punishes the unit.
			sum, wsum := 0.0, 0.0
			for _, k := range kids {
				v, ok := score(k.ID)
				if ok {
					sum += v * k.Weight
					wsum += k.Weight
				}
			}
			if id == "" {
				if wsum == 0 {
					return 0, false
				}
				return sum / wsum, true
			}
			is := IndicatorScore{ID: id, NoData: wsum == 0}
			if wsum > 0 {
				is.Score = round2(sum / wsum)
				is.Value = is.Score
			}
			scores[id] = is
			return is.Score, wsum > 0
		}
		total, _ := score("")
		r.Total = round2(total)
		r.Grade = s.Grade(r.Total)
		for _, ind := range s.Indicators {
			r.Indicators = append(r.Indicators, scores[ind.ID])
		}
		out = append(out, r)
	}
	rank(out, s.MinCases)
	return out
}

func (s *System) find(id string) *Indicator {
	for _, ind := range s.Indicators {
		if ind.ID == id {
			return ind
		}
	}
	return nil
}

// rank orders results by total (descending) and assigns competition ranks (1, 2, 2, 4) to
// units with at least minCases cases; the others are marked not ranked.
func rank(rs []Result, minCases int) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Total != rs[j].Total {
			return rs[i].Total > rs[j].Total
		}
		return rs[i].Unit < rs[j].Unit
	})
	pos := 0
	var prev float64
	n := 0
	for i := range rs {
		if rs[i].Cases < minCases {
			rs[i].Ranked = false
			rs[i].Rank = 0
			rs[i].Reason = fmt.Sprintf("案件量 %d 少于 %d，不参与排名 / %d cases, fewer than %d: not ranked", rs[i].Cases, minCases, rs[i].Cases, minCases)
			continue
		}
		n++
		if pos == 0 || rs[i].Total != prev {
			pos = n
		}
		prev = rs[i].Total
		rs[i].Rank = pos
		rs[i].Ranked = true
	}
}

// CompareWith sets Previous and Delta from an earlier period's results of the same units.
func CompareWith(cur []Result, prev []Result) {
	m := map[string]float64{}
	for _, p := range prev {
		m[p.Unit] = p.Total
	}
	for i := range cur {
		if v, ok := m[cur[i].Unit]; ok {
			p := v
			d := round2(cur[i].Total - v)
			cur[i].Previous, cur[i].Delta = &p, &d
		}
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Leaves returns the leaf indicators in order.
func (s *System) Leaves() []*Indicator {
	parents := map[string]bool{}
	for _, ind := range s.Indicators {
		parents[ind.Parent] = true
	}
	var out []*Indicator
	for _, ind := range s.Indicators {
		if !parents[ind.ID] {
			out = append(out, ind)
		}
	}
	return out
}

// Metrics lists the platform metrics a system uses.
func (s *System) Metrics() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range s.Leaves() {
		if l.Metric != "" && !seen[l.Metric] {
			seen[l.Metric] = true
			out = append(out, l.Metric)
		}
	}
	if s.CaseMetric != "" && !seen[s.CaseMetric] {
		out = append(out, s.CaseMetric)
	}
	sort.Strings(out)
	return out
}

// Key identifies a system version, e.g. "wo-performance@3".
func (s *System) Key() string { return fmt.Sprintf("%s@%d", s.ID, s.Version) }

// ParseKey splits "id@version".
func ParseKey(k string) (string, int, bool) {
	id, v, ok := strings.Cut(k, "@")
	if !ok {
		return k, 0, false
	}
	var n int
	_, err := fmt.Sscanf(v, "%d", &n)
	return id, n, err == nil
}
