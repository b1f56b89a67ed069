package workorder

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/citybrain/citybrain"
)

// The shipped taxonomy is a copy of the project's shared categories.tsv and departments.tsv,
// embedded so the binary never reads anything outside its data directory at run time.
//
//go:embed seed/categories.tsv seed/departments.tsv seed/calendar_cn.json
var seedFS embed.FS

// Category is one entry of the category dictionary: a shipped top-level category such as
// DRAINAGE, a subcategory (Parent set), or an extended class a city loads, for example the
// 数字城管 部件/事件 classes of GB/T 30428.2 (Kind "component" 部件 or "event" 事件).
type Category struct {
	Code       string   `json:"code"`
	Parent     string   `json:"parent,omitempty"`
	NameZh     string   `json:"name_zh"`
	NameEn     string   `json:"name_en"`
	Department string   `json:"default_department"`
	Examples   []string `json:"examples_zh,omitempty"`
	// Kind is "" for the shipped hotline categories, "component" (部件) or "event" (事件)
	// for 数字城管 classes, or any label a city chooses.
	Kind string `json:"kind,omitempty"`
	// Shipped is true for codes from the embedded taxonomy; they cannot be removed or redefined.
	Shipped bool `json:"shipped"`
}

// Department is a unit that can lead or assist a work order.
type Department struct {
	Code   string `json:"code"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	Duty   string `json:"duty"`
}

// StreetOffice is the department code of the street office (街道办事处), which gets what no
// bureau owns. Its orders are scoped by the order's street.
const StreetOffice = "STREET_OFFICE"

// Dictionary is the category and department dictionary. It is immutable after construction:
// Extend returns a new Dictionary, so a *Dictionary may be shared between goroutines.
type Dictionary struct {
	cats  map[string]Category
	order []string // codes in load order
	depts map[string]Department
	dord  []string
}

// DefaultDictionary returns the shipped taxonomy (20 categories, 15 departments).
func DefaultDictionary() (*Dictionary, error) {
	d := &Dictionary{cats: map[string]Category{}, depts: map[string]Department{}}
	cf, err := seedFS.Open("seed/categories.tsv")
	if err != nil {
		return nil, fmt.Errorf("open seed categories: %w", err)
	}
	defer cf.Close()
	cats, err := ParseCategoriesTSV(cf)
	if err != nil {
		return nil, fmt.Errorf("seed categories: %w", err)
	}
	for _, c := range cats {
		c.Shipped = true
		d.cats[c.Code] = c
		d.order = append(d.order, c.Code)
	}
	df, err := seedFS.Open("seed/departments.tsv")
	if err != nil {
		return nil, fmt.Errorf("open seed departments: %w", err)
	}
	defer df.Close()
	rows, err := readTSV(df)
	if err != nil {
		return nil, fmt.Errorf("seed departments: %w", err)
	}
	for _, r := range rows {
		dep := Department{Code: r["code"], NameZh: r["name_zh"], NameEn: r["name_en"], Duty: r["duty"]}
		if dep.Code == "" {
			return nil, citybrain.Errorf(citybrain.EINVALID, "部门编码为空 department without code")
		}
		d.depts[dep.Code] = dep
		d.dord = append(d.dord, dep.Code)
	}
	return d, nil
}

// ParseCategoriesTSV reads a category table with a header line. Required columns: code,
// name_zh, name_en; optional: default_department, examples_zh (separated by 、), parent, kind.
func ParseCategoriesTSV(r io.Reader) ([]Category, error) {
	rows, err := readTSV(r)
	if err != nil {
		return nil, err
	}
	out := make([]Category, 0, len(rows))
	for i, row := range rows {
		c := Category{Code: strings.TrimSpace(row["code"]), Parent: strings.TrimSpace(row["parent"]),
			NameZh: row["name_zh"], NameEn: row["name_en"], Department: strings.TrimSpace(row["default_department"]),
			Kind: strings.TrimSpace(row["kind"])}
		if ex := strings.TrimSpace(row["examples_zh"]); ex != "" {
			c.Examples = strings.Split(ex, "、")
		}
		if !validCode(c.Code) {
			return nil, citybrain.FieldError("code", "第%d行编码无效 line %d: invalid code %q", i+2, i+2, c.Code)
		}
		if c.NameZh == "" {
			return nil, citybrain.FieldError("name_zh", "第%d行缺少中文名 line %d: name_zh missing", i+2, i+2)
		}
		out = append(out, c)
	}
	return out, nil
}

func validCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func readTSV(r io.Reader) ([]map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var head []string
	var out []map[string]string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if head == nil {
			head = cols
			continue
		}
		m := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(cols) {
				m[strings.TrimSpace(h)] = strings.TrimSpace(cols[i])
			}
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tsv: %w", err)
	}
	if head == nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "表格为空 empty table")
	}
	return out, nil
}

// Extend returns a new dictionary with the extra categories (subcategories or a city's own
// classes) and departments added. Shipped codes stay stable: redefining one is ECONFLICT.
// A subcategory's parent must exist (in the dictionary or earlier in cats); a subcategory
// without a default department is routed like its parent (see Catalogue.Route).
func (d *Dictionary) Extend(cats []Category, depts []Department) (*Dictionary, error) {
	n := &Dictionary{cats: make(map[string]Category, len(d.cats)+len(cats)), depts: make(map[string]Department, len(d.depts)+len(depts))}
	for k, v := range d.cats {
		n.cats[k] = v
	}
	n.order = append(n.order, d.order...)
	for k, v := range d.depts {
		n.depts[k] = v
	}
	n.dord = append(n.dord, d.dord...)
	for _, dep := range depts {
		if !validCode(dep.Code) {
			return nil, citybrain.FieldError("code", "部门编码无效 invalid department code %q", dep.Code)
		}
		if _, ok := n.depts[dep.Code]; !ok {
			n.dord = append(n.dord, dep.Code)
		}
		n.depts[dep.Code] = dep
	}
	for _, c := range cats {
		if !validCode(c.Code) {
			return nil, citybrain.FieldError("code", "分类编码无效 invalid category code %q", c.Code)
		}
		if old, ok := n.cats[c.Code]; ok && old.Shipped {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "内置分类编码不可更改 shipped category %s cannot be redefined", c.Code)
		}
		if c.Parent != "" {
			if _, ok := n.cats[c.Parent]; !ok {
				return nil, citybrain.FieldError("parent", "上级分类不存在 parent %s of %s not found", c.Parent, c.Code)
			}
		}
		if c.Department != "" {
			if _, ok := n.depts[c.Department]; !ok {
				return nil, citybrain.FieldError("default_department", "部门不存在 department %s not found", c.Department)
			}
		}
		c.Shipped = false
		if _, ok := n.cats[c.Code]; !ok {
			n.order = append(n.order, c.Code)
		}
		n.cats[c.Code] = c
	}
	return n, nil
}

// Category returns the category with the code.
func (d *Dictionary) Category(code string) (Category, bool) {
	c, ok := d.cats[code]
	return c, ok
}

// Department returns the department with the code.
func (d *Dictionary) Department(code string) (Department, bool) {
	x, ok := d.depts[code]
	return x, ok
}

// Categories returns all categories in load order (shipped first).
func (d *Dictionary) Categories() []Category {
	out := make([]Category, 0, len(d.order))
	for _, c := range d.order {
		out = append(out, d.cats[c])
	}
	return out
}

// TopLevel returns the categories without a parent, in load order.
func (d *Dictionary) TopLevel() []Category {
	var out []Category
	for _, c := range d.order {
		if d.cats[c].Parent == "" {
			out = append(out, d.cats[c])
		}
	}
	return out
}

// Children returns the subcategories of code, sorted by code.
func (d *Dictionary) Children(code string) []Category {
	var out []Category
	for _, c := range d.cats {
		if c.Parent == code {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Departments returns all departments in load order.
func (d *Dictionary) Departments() []Department {
	out := make([]Department, 0, len(d.dord))
	for _, c := range d.dord {
		out = append(out, d.depts[c])
	}
	return out
}

// Root returns the top-level ancestor of code (code itself for a top-level category).
func (d *Dictionary) Root(code string) string {
	for i := 0; i < 16; i++ {
		c, ok := d.cats[code]
		if !ok || c.Parent == "" {
			return code
		}
		code = c.Parent
	}
	return code
}
