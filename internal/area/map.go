package area

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/citybrain/citybrain"
)

// Map is an immutable, indexed set of areas: lookups by code, the hierarchy, and the
// point → area lookup. Build it with NewMap; it is safe for concurrent readers.
type Map struct {
	areas    []Area           // sorted by level depth, then code
	byCode   map[string]int32 // code → index in areas
	parent   []int32          // index of the parent, -1 for roots
	children [][]int32        // indexes of the children, sorted by code
	roots    []int32          // areas whose parent is not in the map
	loc      []Location       // the precomputed location of each area
	index    []levelIndex     // finest level first

	simplified [4]struct { // SimplifiedGeoJSON per level depth, built on first use
		once sync.Once
		json []byte
	}
}

// levelIndex is a uniform grid over the bounding box of one level's areas. Each cell
// lists the areas whose bounding box meets it; a cell that lies wholly inside one area
// is "solved" and answers without a point-in-polygon test.
type levelIndex struct {
	minX, minY, maxX, maxY float64
	invW, invH             float64 // cells per degree
	nx, ny                 int
	solved                 []int32 // per cell: polygon index wholly covering it, or -1
	start                  []int32 // CSR offsets into items, len nx*ny+1
	items                  []int32 // polygon indexes
	polys                  []flatPoly
}

// flatPoly is one area's boundary flattened for the lookup loop: every ring of every
// polygon, closed, one after the other; the even-odd rule over all rings gives
// inside/outside.
type flatPoly struct {
	area                   int32
	minX, minY, maxX, maxY float64
	rings                  [][]Point
}

// NewMap checks the hierarchy and indexes the areas. Codes must be unique and
// non-empty, levels valid, every non-district area's parent present and exactly one
// level above it. Boundaries are not validated here (ParseGeoJSON and Boundary.Validate
// do that); an area without a boundary is kept but never found by Locate. A zero
// Centroid is filled with LabelPoint. The areas slice is copied; the boundaries are shared.
func NewMap(areas []Area) (*Map, error) {
	m := &Map{areas: make([]Area, len(areas)), byCode: make(map[string]int32, len(areas))}
	copy(m.areas, areas)
	sort.SliceStable(m.areas, func(i, j int) bool {
		a, b := m.areas[i], m.areas[j]
		if a.Level.Depth() != b.Level.Depth() {
			return a.Level.Depth() < b.Level.Depth()
		}
		return a.Code < b.Code
	})
	for i := range m.areas {
		a := &m.areas[i]
		if a.Code == "" {
			return nil, citybrain.FieldError("code", "区域编码为空 / area %d (%s) has no code", i+1, a.NameZH)
		}
		if !a.Level.Valid() {
			return nil, citybrain.FieldError("level", "区域 %s 的层级 %q 无效，应为 district/street/community/grid / area %s has invalid level %q; use district, street, community or grid", a.Code, a.Level, a.Code, a.Level)
		}
		if _, dup := m.byCode[a.Code]; dup {
			return nil, citybrain.FieldError("code", "区域编码 %s 重复 / area code %s appears twice; codes must be unique", a.Code, a.Code)
		}
		m.byCode[a.Code] = int32(i)
		if a.Centroid == (Point{}) && len(a.Boundary) > 0 {
			a.Centroid = LabelPoint(a.Boundary)
		}
	}
	m.parent = make([]int32, len(m.areas))
	m.children = make([][]int32, len(m.areas))
	m.loc = make([]Location, len(m.areas))
	for i := range m.areas { // parents come first: sorted by depth
		a := &m.areas[i]
		pi, ok := m.byCode[a.Parent]
		if a.Parent == "" || !ok {
			if a.Level != LevelDistrict {
				return nil, citybrain.FieldError("parent", "区域 %s（%s）的上级 %q 不存在 / area %s (%s): parent %q is not in the map; every %s needs its parent",
					a.Code, a.NameZH, a.Parent, a.Code, a.NameEN, a.Parent, a.Level)
			}
			m.parent[i] = -1
			m.roots = append(m.roots, int32(i))
			m.loc[i].set(a.Level, a.Code)
			continue
		}
		p := &m.areas[pi]
		if p.Level.Depth() != a.Level.Depth()-1 {
			return nil, citybrain.FieldError("level", "区域 %s 是%s，其上级 %s 是%s，层级不一致 / area %s is a %s but its parent %s is a %s; a %s's parent must be one level up",
				a.Code, a.Level.NameZH(), p.Code, p.Level.NameZH(), a.Code, a.Level, p.Code, p.Level, a.Level)
		}
		m.parent[i] = pi
		m.children[pi] = append(m.children[pi], int32(i))
		m.loc[i] = m.loc[pi]
		m.loc[i].set(a.Level, a.Code)
	}
	for d := 3; d >= 0; d-- {
		var polys []flatPoly
		for i := range m.areas {
			a := &m.areas[i]
			if a.Level.Depth() != d || len(a.Boundary) == 0 {
				continue
			}
			fp := flatPoly{area: int32(i)}
			fp.minX, fp.minY, fp.maxX, fp.maxY = a.Boundary.Bounds()
			if math.IsNaN(fp.minX) {
				continue
			}
			for _, p := range a.Boundary {
				fp.rings = append(fp.rings, p...)
			}
			polys = append(polys, fp)
		}
		if len(polys) > 0 {
			m.index = append(m.index, buildIndex(polys))
		}
	}
	return m, nil
}

// cellsPerPoly sets the index resolution: more cells mean more solved cells and fewer
// candidates per lookup at the price of memory.
const cellsPerPoly = 64

func buildIndex(polys []flatPoly) levelIndex {
	ix := levelIndex{polys: polys}
	ix.minX, ix.minY = math.Inf(1), math.Inf(1)
	ix.maxX, ix.maxY = math.Inf(-1), math.Inf(-1)
	for _, p := range polys {
		ix.minX, ix.minY = math.Min(ix.minX, p.minX), math.Min(ix.minY, p.minY)
		ix.maxX, ix.maxY = math.Max(ix.maxX, p.maxX), math.Max(ix.maxY, p.maxY)
	}
	w, h := ix.maxX-ix.minX, ix.maxY-ix.minY
	if w <= 0 {
		w = 1e-9
	}
	if h <= 0 {
		h = 1e-9
	}
	cells := float64(len(polys) * cellsPerPoly)
	cells = math.Min(math.Max(cells, 16), 1<<21)
	ix.nx = max(1, int(math.Round(math.Sqrt(cells*w/h))))
	ix.ny = max(1, int(math.Round(cells/float64(ix.nx))))
	ix.nx, ix.ny = min(ix.nx, 4096), min(ix.ny, 4096)
	ix.invW, ix.invH = float64(ix.nx)/w, float64(ix.ny)/h
	cellW, cellH := w/float64(ix.nx), h/float64(ix.ny)

	n := ix.nx * ix.ny
	ix.solved = make([]int32, n)
	for i := range ix.solved {
		ix.solved[i] = -1
	}
	lists := make([][]int32, n)
	for pi := range polys {
		p := &polys[pi]
		x0, y0 := ix.cell(p.minX, p.minY)
		x1, y1 := ix.cell(p.maxX, p.maxY)
		for cy := y0; cy <= y1; cy++ {
			for cx := x0; cx <= x1; cx++ {
				c := cy*ix.nx + cx
				rx0 := ix.minX + float64(cx)*cellW
				ry0 := ix.minY + float64(cy)*cellH
				if p.coversRect(rx0, ry0, rx0+cellW, ry0+cellH) {
					ix.solved[c] = int32(pi)
				}
				lists[c] = append(lists[c], int32(pi))
			}
		}
	}
	ix.start = make([]int32, n+1)
	for c, l := range lists {
		ix.start[c+1] = ix.start[c] + int32(len(l))
	}
	ix.items = make([]int32, 0, ix.start[n])
	for _, l := range lists {
		ix.items = append(ix.items, l...)
	}
	return ix
}

// cell returns the cell coordinates of a point inside the index bounds.
func (ix *levelIndex) cell(x, y float64) (int, int) {
	cx := int((x - ix.minX) * ix.invW)
	cy := int((y - ix.minY) * ix.invH)
	return min(max(cx, 0), ix.nx-1), min(max(cy, 0), ix.ny-1)
}

// contains runs the even-odd test over all rings of the polygon.
func (p *flatPoly) contains(x, y float64) bool {
	if x < p.minX || x > p.maxX || y < p.minY || y > p.maxY {
		return false
	}
	in := false
	for _, r := range p.rings {
		if ringCrossings(r, x, y) {
			in = !in
		}
	}
	return in
}

// coversRect reports whether the closed rectangle lies wholly inside the polygon: no
// edge meets the rectangle and the rectangle's centre is inside.
func (p *flatPoly) coversRect(x0, y0, x1, y1 float64) bool {
	if x0 < p.minX || x1 > p.maxX || y0 < p.minY || y1 > p.maxY {
		return false
	}
	for _, r := range p.rings {
		for i := 1; i < len(r); i++ {
			if segMeetsRect(r[i-1], r[i], x0, y0, x1, y1) {
				return false
			}
		}
	}
	return p.contains((x0+x1)/2, (y0+y1)/2)
}

// segMeetsRect reports whether segment a-b meets the closed rectangle (Liang–Barsky clipping).
func segMeetsRect(a, b Point, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b[0]-a[0], b[1]-a[1]
	clip := func(p, q float64) bool {
		if p == 0 {
			return q >= 0
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = math.Min(t1, t)
		}
		return true
	}
	return clip(-dx, a[0]-x0) && clip(dx, x1-a[0]) && clip(-dy, a[1]-y0) && clip(dy, y1-a[1]) && t0 <= t1
}

// find returns the index of the area whose polygon contains the point, or -1.
func (ix *levelIndex) find(x, y float64) int32 {
	if !(x >= ix.minX && x <= ix.maxX && y >= ix.minY && y <= ix.maxY) { // also rejects NaN
		return -1
	}
	cx, cy := ix.cell(x, y)
	c := cy*ix.nx + cx
	if s := ix.solved[c]; s >= 0 {
		return ix.polys[s].area
	}
	for _, pi := range ix.items[ix.start[c]:ix.start[c+1]] {
		if ix.polys[pi].contains(x, y) {
			return ix.polys[pi].area
		}
	}
	return -1
}

// Locate returns the codes of the areas containing the point (longitude, latitude in
// degrees). It looks first among the finest areas and then among wider ones, so a
// point in a community that has no grid there still finds its community and street.
// ok is false when no area contains the point. Locate does not allocate.
func (m *Map) Locate(lon, lat float64) (Location, bool) {
	for i := range m.index {
		if a := m.index[i].find(lon, lat); a >= 0 {
			return m.loc[a], true
		}
	}
	return Location{}, false
}

// Get returns the area with the code.
func (m *Map) Get(code string) (Area, bool) {
	i, ok := m.byCode[code]
	if !ok {
		return Area{}, false
	}
	return m.areas[i], true
}

// Children returns the areas directly under code, sorted by code; for code "" it
// returns the top-level areas (districts).
func (m *Map) Children(code string) []Area {
	var idx []int32
	if code == "" {
		idx = m.roots
	} else if i, ok := m.byCode[code]; ok {
		idx = m.children[i]
	}
	out := make([]Area, len(idx))
	for k, i := range idx {
		out[k] = m.areas[i]
	}
	return out
}

// Path returns the chain of areas from the top-level area down to code, inclusive;
// nil when code is unknown.
func (m *Map) Path(code string) []Area {
	i, ok := m.byCode[code]
	if !ok {
		return nil
	}
	var rev []Area
	for j := i; j >= 0; j = m.parent[j] {
		rev = append(rev, m.areas[j])
	}
	out := make([]Area, len(rev))
	for k := range rev {
		out[k] = rev[len(rev)-1-k]
	}
	return out
}

// Location returns the location of the area with the code: its own code and its
// ancestors' at their levels.
func (m *Map) Location(code string) (Location, bool) {
	i, ok := m.byCode[code]
	if !ok {
		return Location{}, false
	}
	return m.loc[i], true
}

// Within reports whether the area code is ancestor or lies under it (an area is within
// itself). Use it to scope data to a worker's street or community.
func (m *Map) Within(code, ancestor string) bool {
	i, ok := m.byCode[code]
	if !ok {
		return false
	}
	for j := i; j >= 0; j = m.parent[j] {
		if m.areas[j].Code == ancestor {
			return true
		}
	}
	return false
}

// All returns every area, sorted by level (widest first), then code.
func (m *Map) All() []Area {
	out := make([]Area, len(m.areas))
	copy(out, m.areas)
	return out
}

// ByLevel returns the areas of one level, sorted by code.
func (m *Map) ByLevel(l Level) []Area {
	var out []Area
	for _, a := range m.areas {
		if a.Level == l {
			out = append(out, a)
		}
	}
	return out
}

// Len returns the number of areas.
func (m *Map) Len() int { return len(m.areas) }

// Count returns the number of areas of one level.
func (m *Map) Count(l Level) int {
	n := 0
	for _, a := range m.areas {
		if a.Level == l {
			n++
		}
	}
	return n
}

// String summarises the map for logs.
func (m *Map) String() string {
	return fmt.Sprintf("area.Map{districts:%d streets:%d communities:%d grids:%d}",
		m.Count(LevelDistrict), m.Count(LevelStreet), m.Count(LevelCommunity), m.Count(LevelGrid))
}

// Current holds the Map in use and lets it be replaced atomically (after an import)
// while readers keep using the one they loaded. The zero value holds no map; its
// methods are safe for concurrent use.
type Current struct {
	p atomic.Pointer[Map]
}

// NewCurrent returns a Current holding m.
func NewCurrent(m *Map) *Current {
	c := &Current{}
	c.p.Store(m)
	return c
}

// Load returns the map in use, or nil when none was stored.
func (c *Current) Load() *Map { return c.p.Load() }

// Store makes m the map in use.
func (c *Current) Store(m *Map) { c.p.Store(m) }

// Locate looks the point up in the map in use; ok is false when there is no map or
// no area contains the point.
func (c *Current) Locate(lon, lat float64) (Location, bool) {
	m := c.p.Load()
	if m == nil {
		return Location{}, false
	}
	return m.Locate(lon, lat)
}
