package governance

import (
	"sort"
)

// ConsentLookup returns a household's consent for a purpose. The store implements it;
// tests pass a map-backed function.
type ConsentLookup func(household, purpose string) ConsentStatus

// Enforcer applies decisions and masking to records. It is immutable and safe for
// concurrent use.
type Enforcer struct {
	policy *Policy
	masker *Masker
}

// NewEnforcer returns an enforcer for the policy and masker (the policy is copied by
// reference: swap the whole Enforcer to change the policy).
func NewEnforcer(p *Policy, m *Masker) *Enforcer { return &Enforcer{policy: p, masker: m} }

// Policy returns the policy in force.
func (e *Enforcer) Policy() *Policy { return e.policy }

// Masker returns the masker.
func (e *Enforcer) Masker() *Masker { return e.masker }

// ColumnOutcome is what happened to one column in one response.
type ColumnOutcome struct {
	Column   string   `json:"column"`
	Grade    Grade    `json:"grade"`
	Decision Decision `json:"decision"`
	Values   int      `json:"values"` // values of the column seen in the records
	Rule     string   `json:"rule,omitempty"`
	GrantID  int64    `json:"grant_id,omitempty"`
}

// Summary tells the audit log what a filtering did.
type Summary struct {
	Dataset string `json:"dataset"`
	Rows    int    `json:"rows"`     // rows in
	RowsOut int    `json:"rows_out"` // rows returned
	// ConsentDropped counts rows removed because the household withdrew consent.
	ConsentDropped int             `json:"consent_dropped,omitempty"`
	Columns        []ColumnOutcome `json:"columns"`
	// Unclassified lists keys that are not in the catalog; they are dropped (default deny).
	Unclassified []string `json:"unclassified,omitempty"`
	// MaxGrade is the highest grade of any value returned (FULL or MASKED).
	MaxGrade Grade `json:"max_grade"`
	Masked   int   `json:"masked"`   // values masked
	Denied   int   `json:"denied"`   // values removed by DENY
	AggOnly  int   `json:"agg_only"` // values removed because only aggregates are allowed
}

// Restricted reports whether anything was masked, denied, held back or dropped.
func (s *Summary) Restricted() bool {
	return s.Masked > 0 || s.Denied > 0 || s.AggOnly > 0 || s.ConsentDropped > 0 || len(s.Unclassified) > 0
}

type colPlan struct {
	col *Column
	// by consent state (unknown, granted, withdrawn)
	dec [3]Decision
	out *ColumnOutcome
}

type planSet struct {
	cols    map[string]*colPlan
	parents map[string]bool // "reporters" when "reporters.phone" is catalogued
	other   *colPlan
}

// plan decides every column once for the reader (per consent state).
func (e *Enforcer) plan(r Reader, ds *Dataset, in Inputs, s *Summary) *planSet {
	ps := &planSet{cols: make(map[string]*colPlan, len(ds.Columns)), parents: map[string]bool{}}
	n := len(ds.Columns)
	if ds.Other != nil {
		n++
	}
	s.Columns = make([]ColumnOutcome, n)
	mk := func(i int, c *Column) *colPlan {
		a := AttributeOf(ds, c)
		p := &colPlan{col: c, out: &s.Columns[i]}
		for st := ConsentUnknown; st <= ConsentWithdrawn; st++ {
			a.Consent = st
			p.dec[st] = e.policy.decide(&r, &a, &in, nil)
		}
		a.Consent = ConsentGranted
		ex := e.policy.Explain(r, a, in)
		s.Columns[i] = ColumnOutcome{Column: c.Name, Grade: c.Grade, Decision: ex.Decision, Rule: ex.Rule, GrantID: ex.GrantID}
		return p
	}
	for i := range ds.Columns {
		c := &ds.Columns[i]
		ps.cols[c.Name] = mk(i, c)
		for j := 0; j < len(c.Name); j++ {
			if c.Name[j] == '.' {
				ps.parents[c.Name[:j]] = true
			}
		}
	}
	if ds.Other != nil {
		o := *ds.Other
		o.Name = "*"
		ps.other = mk(len(ds.Columns), &o)
	}
	return ps
}

// Filter filters a decoded JSON value that carries records of ds: a map (one record),
// a slice of maps, a []any of maps, or a page {"items": [...], ...} whose other keys
// are kept. Anything else is returned as is. The input is not modified.
func (e *Enforcer) Filter(r Reader, ds *Dataset, v any, in Inputs, consent ConsentLookup) (any, Summary) {
	switch x := v.(type) {
	case map[string]any:
		if items, ok := x["items"].([]any); ok && isPage(x) {
			out, s := e.Filter(r, ds, items, in, consent)
			page := make(map[string]any, len(x))
			for k, val := range x {
				page[k] = val
			}
			page["items"] = out
			return page, s
		}
		out, s := e.FilterRecords(r, ds, []map[string]any{x}, in, consent)
		if len(out) == 0 {
			return nil, s
		}
		return out[0], s
	case []map[string]any:
		return e.FilterRecords(r, ds, x, in, consent)
	case []any:
		recs := make([]map[string]any, 0, len(x))
		for _, it := range x {
			if m, ok := it.(map[string]any); ok {
				recs = append(recs, m)
			}
		}
		out, s := e.FilterRecords(r, ds, recs, in, consent)
		res := make([]any, len(out))
		for i := range out {
			res[i] = out[i]
		}
		return res, s
	}
	return v, Summary{Dataset: ds.Name}
}

// isPage recognises the platform's page envelope: items plus only paging keys.
func isPage(m map[string]any) bool {
	for k := range m {
		switch k {
		case "items", "next_cursor", "total", "cursor", "limit":
		default:
			return false
		}
	}
	return true
}

// FilterRecords returns new records holding only what the reader may see: DENY and
// AGGREGATE_ONLY columns and unclassified keys removed, MASKED columns masked, rows of
// households that withdrew consent removed. The summary is for the audit log.
func (e *Enforcer) FilterRecords(r Reader, ds *Dataset, records []map[string]any, in Inputs, consent ConsentLookup) ([]map[string]any, Summary) {
	s := Summary{Dataset: ds.Name, Rows: len(records)}
	ps := e.plan(r, ds, in, &s)
	hhCol := ""
	if ds.HomeDevice {
		for _, c := range ds.Columns {
			if c.HouseholdKey {
				hhCol = c.Name
			}
		}
	}
	unclassified := map[string]bool{}
	out := make([]map[string]any, 0, len(records))
	for _, rec := range records {
		st := ConsentGranted // consent does not apply; ConsentGranted imposes no cap
		if ds.HomeDevice {
			st = ConsentUnknown
			if hhCol != "" && consent != nil {
				st = consent(scalarString(rec[hhCol]), r.Purpose)
			}
		}
		if st == ConsentWithdrawn {
			s.ConsentDropped++
			continue
		}
		out = append(out, e.filterMap(rec, "", st, ps, &s, unclassified))
	}
	s.RowsOut = len(out)
	for k := range unclassified {
		s.Unclassified = append(s.Unclassified, k)
	}
	sort.Strings(s.Unclassified)
	return out, s
}

// filterMap filters one record. Keys inside a catalogued parent ("reporters" of
// "reporters.phone") are matched with their dotted path; any other nested object or
// list of objects is an envelope ({"order": {...}, "history": [...]}) and its keys are
// matched as if they were top-level, so no subtree ever passes as a whole under Other.
func (e *Enforcer) filterMap(rec map[string]any, prefix string, st ConsentStatus, ps *planSet, s *Summary, unclassified map[string]bool) map[string]any {
	o := make(map[string]any, len(rec))
	for k, v := range rec {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		p := ps.cols[name]
		if p == nil {
			sub := ""
			if ps.parents[name] {
				sub = name
			}
			switch x := v.(type) {
			case map[string]any:
				o[k] = e.filterMap(x, sub, st, ps, s, unclassified)
				continue
			case []any:
				if len(x) > 0 && isMapList(x) {
					arr := make([]any, 0, len(x))
					for _, it := range x {
						arr = append(arr, e.filterMap(it.(map[string]any), sub, st, ps, s, unclassified))
					}
					o[k] = arr
					continue
				}
			}
			p = ps.other
		}
		if p == nil {
			unclassified[name] = true
			continue
		}
		p.out.Values++
		switch p.dec[st] {
		case Full:
			o[k] = v
		case Masked:
			o[k] = e.maskAny(p.col, v)
			s.Masked++
		case AggregateOnly:
			s.AggOnly++
			continue
		default:
			s.Denied++
			continue
		}
		if g := p.col.Grade.Effective(); g > s.MaxGrade {
			s.MaxGrade = g
		}
	}
	return o
}

func isMapList(xs []any) bool {
	for _, x := range xs {
		if _, ok := x.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// maskAny masks one value of a column: strings by the column's kind and grade, numbers
// and other non-string values become null (a partly shown number is no safer).
func (e *Enforcer) maskAny(c *Column, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return e.masker.Mask(c.PIKind, c.Mask, c.Grade, x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = e.maskAny(c, x[i])
		}
		return out
	}
	return nil
}

// DecideColumns returns the decision for each column of ds for the reader, with
// consent taken as granted (row-level consent is applied by FilterRecords).
func (e *Enforcer) DecideColumns(r Reader, ds *Dataset, in Inputs) map[string]Decision {
	out := make(map[string]Decision, len(ds.Columns))
	for i := range ds.Columns {
		a := AttributeOf(ds, &ds.Columns[i])
		a.Consent = ConsentGranted
		out[a.Column] = e.policy.Decide(r, a, in)
	}
	return out
}

// MaskTextFor masks the personal information in text bound for the reader (typically
// the model endpoint): when the policy gives the reader FULL on free-text personal
// information of the grade the text is returned as is, otherwise PI is masked in place.
func (e *Enforcer) MaskTextFor(r Reader, text string, g Grade, in Inputs) string {
	a := Attribute{Dataset: "free_text", Column: "text", Grade: g, Category: CatPersonal, PIKind: PIFreeText, Sharing: ShareConditional}
	if e.policy.Decide(r, a, in) == Full {
		return text
	}
	return e.masker.MaskText(text, g)
}
