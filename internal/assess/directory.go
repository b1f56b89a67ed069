package assess

import "sort"

// Unit is something assessed: a street, a community or a department.
type Unit struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

// AreaNode is one area of the district hierarchy as the Directory needs it.
type AreaNode struct {
	Code, Parent, Level, NameZH, NameEN string
}

// Directory knows the assessed units and maps any area code (grid, community, street) to
// the unit of a kind that contains it. It is built once from the area hierarchy and the
// department list and is read-only afterwards (safe for concurrent use).
type Directory struct {
	nodes map[string]AreaNode
	units map[string][]Unit // kind → units ordered by code
	names map[string]Unit   // kind+"/"+code → unit
}

// NewDirectory builds a directory from areas (levels "district", "street", "community",
// "grid") and departments.
func NewDirectory(areas []AreaNode, depts []Unit) *Directory {
	d := &Directory{nodes: map[string]AreaNode{}, units: map[string][]Unit{}, names: map[string]Unit{}}
	for _, a := range areas {
		d.nodes[a.Code] = a
		if a.Level == UnitStreet || a.Level == UnitCommunity {
			u := Unit{Code: a.Code, NameZH: a.NameZH, NameEN: a.NameEN}
			d.units[a.Level] = append(d.units[a.Level], u)
			d.names[a.Level+"/"+a.Code] = u
		}
	}
	for _, u := range depts {
		d.units[UnitDepartment] = append(d.units[UnitDepartment], u)
		d.names[UnitDepartment+"/"+u.Code] = u
	}
	for k := range d.units {
		us := d.units[k]
		sort.Slice(us, func(i, j int) bool { return us[i].Code < us[j].Code })
	}
	return d
}

// Units returns the units of a kind, ordered by code.
func (d *Directory) Units(kind string) []Unit {
	if d == nil {
		return nil
	}
	return append([]Unit(nil), d.units[kind]...)
}

// Unit returns a unit by kind and code; unknown codes come back with the code as name.
func (d *Directory) Unit(kind, code string) Unit {
	if d != nil {
		if u, ok := d.names[kind+"/"+code]; ok {
			return u
		}
	}
	return Unit{Code: code, NameZH: code, NameEN: code}
}

// Resolve returns the code of the area of level kind ("street" or "community") that
// contains the area code, or "" when the code is unknown or above that level.
func (d *Directory) Resolve(kind, code string) string {
	if d == nil || code == "" {
		return ""
	}
	for i := 0; i < 8 && code != ""; i++ {
		n, ok := d.nodes[code]
		if !ok {
			return ""
		}
		if n.Level == kind {
			return n.Code
		}
		code = n.Parent
	}
	return ""
}
