package triage

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed data/categories.tsv
var categoriesTSV string

//go:embed data/departments.tsv
var departmentsTSV string

// Category is one entry of the report taxonomy.
type Category struct {
	Code       string   `json:"code"`
	NameZh     string   `json:"name_zh"`
	NameEn     string   `json:"name_en"`
	Department string   `json:"department"` // default lead department code
	ExamplesZh []string `json:"examples_zh,omitempty"`
}

// Department is one unit that can lead work orders.
type Department struct {
	Code   string `json:"code"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	Duty   string `json:"duty,omitempty"`
}

// Taxonomy is the category dictionary and the department table. It is read-only after
// construction.
type Taxonomy struct {
	cats  []Category
	byCat map[string]int
	deps  map[string]Department
}

// DefaultTaxonomy parses the embedded copy of the project taxonomy (20 categories, 15
// departments). It only fails if the embedded files are corrupt.
func DefaultTaxonomy() (*Taxonomy, error) {
	return ParseTaxonomy(categoriesTSV, departmentsTSV)
}

// ParseTaxonomy parses categories.tsv and departments.tsv contents (tab-separated, one
// header line). Every category's department must exist.
func ParseTaxonomy(categories, departments string) (*Taxonomy, error) {
	t := &Taxonomy{byCat: map[string]int{}, deps: map[string]Department{}}
	for i, f := range tsvRows(departments) {
		if len(f) < 3 {
			return nil, fmt.Errorf("triage: departments line %d: want 4 columns", i+2)
		}
		d := Department{Code: f[0], NameZh: f[1], NameEn: f[2]}
		if len(f) > 3 {
			d.Duty = f[3]
		}
		t.deps[d.Code] = d
	}
	for i, f := range tsvRows(categories) {
		if len(f) < 4 {
			return nil, fmt.Errorf("triage: categories line %d: want 5 columns", i+2)
		}
		c := Category{Code: f[0], NameZh: f[1], NameEn: f[2], Department: f[3]}
		if len(f) > 4 {
			c.ExamplesZh = strings.Split(f[4], "、")
		}
		if _, ok := t.deps[c.Department]; !ok {
			return nil, fmt.Errorf("triage: category %s: unknown department %s", c.Code, c.Department)
		}
		if _, dup := t.byCat[c.Code]; dup {
			return nil, fmt.Errorf("triage: category %s listed twice", c.Code)
		}
		t.byCat[c.Code] = len(t.cats)
		t.cats = append(t.cats, c)
	}
	if len(t.cats) == 0 {
		return nil, fmt.Errorf("triage: no categories")
	}
	return t, nil
}

func tsvRows(s string) [][]string {
	var rows [][]string
	for i, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if i == 0 || strings.TrimSpace(l) == "" {
			continue
		}
		rows = append(rows, strings.Split(l, "\t"))
	}
	return rows
}

// Categories returns the categories in taxonomy order (a copy).
func (t *Taxonomy) Categories() []Category {
	return append([]Category(nil), t.cats...)
}

// Codes returns the category codes in taxonomy order.
func (t *Taxonomy) Codes() []string {
	out := make([]string, len(t.cats))
	for i, c := range t.cats {
		out[i] = c.Code
	}
	return out
}

// Category returns the category with the code.
func (t *Taxonomy) Category(code string) (Category, bool) {
	i, ok := t.byCat[code]
	if !ok {
		return Category{}, false
	}
	return t.cats[i], true
}

// Department returns the department with the code.
func (t *Taxonomy) Department(code string) (Department, bool) {
	d, ok := t.deps[code]
	return d, ok
}

// Departments returns all departments sorted by code.
func (t *Taxonomy) Departments() []Department {
	out := make([]Department, 0, len(t.deps))
	for _, d := range t.deps {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// LeadDepartment returns the default lead department of a category, "" if unknown.
func (t *Taxonomy) LeadDepartment(code string) string {
	c, ok := t.Category(code)
	if !ok {
		return ""
	}
	return c.Department
}
