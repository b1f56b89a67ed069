package workorder

import (
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
)

func TestDefaultDictionary(t *testing.T) {
	d, err := DefaultDictionary()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Categories()); n != 20 {
		t.Errorf("categories = %d, want 20", n)
	}
	if n := len(d.Departments()); n != 15 {
		t.Errorf("departments = %d, want 15", n)
	}
	c, ok := d.Category("DRAINAGE")
	if !ok || c.Department != "WATER" || c.NameZh != "排水与积水" || !c.Shipped || len(c.Examples) != 4 {
		t.Errorf("DRAINAGE = %+v", c)
	}
	for _, c := range d.Categories() {
		if _, ok := d.Department(c.Department); !ok {
			t.Errorf("category %s names unknown department %s", c.Code, c.Department)
		}
	}
}

func TestDictionaryExtend(t *testing.T) {
	d, _ := DefaultDictionary()
	// GB/T 30428.2-style 数字城管 classes loaded by a city, plus a subcategory.
	tsv := "code\tname_zh\tname_en\tdefault_department\texamples_zh\tparent\tkind\n" +
		"ROAD.MANHOLE\t井盖\tManhole covers\t\t井盖缺失、井盖破损\tROAD\t\n" +
		"CG.PART.PUBLIC\t公用设施\tPublic facilities (component)\tURBAN_MGMT\t\t\tcomponent\n" +
		"CG.PART.PUBLIC.0101\t上水井盖\tWater-main cover\tWATER\t\tCG.PART.PUBLIC\tcomponent\n"
	cats, err := ParseCategoriesTSV(strings.NewReader(tsv))
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Extend(cats, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lead, _ := DefaultCatalogue(n).Route(n, "ROAD", "ROAD.MANHOLE"); lead != "CONSTRUCTION" {
		t.Errorf("subcategory not routed like its parent: %s", lead)
	}
	if lead, _ := DefaultCatalogue(n).Route(n, "CG.PART.PUBLIC", "CG.PART.PUBLIC.0101"); lead != "WATER" {
		t.Errorf("subcategory's own department ignored: %s", lead)
	}
	if n.Root("CG.PART.PUBLIC.0101") != "CG.PART.PUBLIC" || n.Root("ROAD.MANHOLE") != "ROAD" {
		t.Error("Root wrong")
	}
	if len(n.Children("ROAD")) != 1 || len(n.TopLevel()) != 21 {
		t.Errorf("children %d, top %d", len(n.Children("ROAD")), len(n.TopLevel()))
	}
	if _, ok := d.Category("ROAD.MANHOLE"); ok {
		t.Error("Extend mutated the original dictionary")
	}
	tests := []struct {
		name string
		cat  Category
		code string
	}{
		{"shipped code", Category{Code: "ROAD", NameZh: "改"}, citybrain.ECONFLICT},
		{"missing parent", Category{Code: "X.Y", NameZh: "x", Parent: "NOPE"}, citybrain.EINVALID},
		{"bad department", Category{Code: "XY", NameZh: "x", Department: "NOPE"}, citybrain.EINVALID},
		{"bad code", Category{Code: "a b", NameZh: "x"}, citybrain.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Extend([]Category{tc.cat}, nil)
			if citybrain.ErrorCode(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
}

func FuzzParseCategoriesTSV(f *testing.F) {
	f.Add("code\tname_zh\tname_en\nROAD\t道路\tRoads\n")
	f.Add("code\tname_zh\nX\t\n")
	f.Add("")
	f.Add("# c\n\ncode\tname_zh\tname_en\tdefault_department\texamples_zh\tparent\tkind\nA.B\t甲\tA\tWATER\t一、二\tA\tevent\n")
	d, err := DefaultDictionary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cats, err := ParseCategoriesTSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range cats {
			if !validCode(c.Code) || c.NameZh == "" {
				t.Fatalf("accepted invalid category %+v", c)
			}
		}
		_, _ = d.Extend(cats, nil)
	})
}

// Domain packages must not import the HTTP, SQL or bus packages.
func TestNoForbiddenImports(t *testing.T) {
	out, err := goList(t)
	if err != nil {
		t.Skip("go list unavailable:", err)
	}
	for _, p := range out {
		if p == "net/http" || p == "database/sql" || strings.HasPrefix(p, "github.com/nats-io/") {
			t.Errorf("workorder imports %s", p)
		}
	}
}
