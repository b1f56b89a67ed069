// Package area owns the district model: the hierarchy district → street (街道) →
// community (社区) → grid (网格), each area's codes, names and boundary, the point →
// area lookup used by the ingest path, GeoJSON import and export, the simplified
// geometry served to the UI, and the synthetic demo district.
//
// Concurrency: Area values and the slices inside them are treated as immutable once
// they are handed to NewMap. A *Map never changes after construction, so any number
// of goroutines may read it at the same time without locks. Current holds the Map in
// use and swaps it atomically when new boundaries are imported. The package holds no
// state of its own.
package area

import (
	"math"
	"strings"
)

// Level is the rank of an area in the hierarchy.
type Level string

// The four levels, from the widest to the finest.
const (
	LevelDistrict  Level = "district"  // 区
	LevelStreet    Level = "street"    // 街道
	LevelCommunity Level = "community" // 社区
	LevelGrid      Level = "grid"      // 网格
)

// Levels returns the levels from the widest to the finest.
func Levels() []Level {
	return []Level{LevelDistrict, LevelStreet, LevelCommunity, LevelGrid}
}

// Depth returns 0 for a district, 1 for a street, 2 for a community, 3 for a grid and
// -1 for anything else.
func (l Level) Depth() int {
	switch l {
	case LevelDistrict:
		return 0
	case LevelStreet:
		return 1
	case LevelCommunity:
		return 2
	case LevelGrid:
		return 3
	}
	return -1
}

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l.Depth() >= 0 }

// NameZH returns the Chinese name of the level.
func (l Level) NameZH() string {
	switch l {
	case LevelDistrict:
		return "区"
	case LevelStreet:
		return "街道"
	case LevelCommunity:
		return "社区"
	case LevelGrid:
		return "网格"
	}
	return ""
}

// ParseLevel accepts a level's English name (any case) or its Chinese name.
func ParseLevel(s string) (Level, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "district", "区", "区县", "县", "县区":
		return LevelDistrict, true
	case "street", "subdistrict", "街道", "街道办", "乡镇", "镇":
		return LevelStreet, true
	case "community", "社区", "村", "居委会":
		return LevelCommunity, true
	case "grid", "网格", "单元网格":
		return LevelGrid, true
	}
	return "", false
}

// Point is a position as [longitude, latitude] in degrees (WGS 84 order, as in GeoJSON).
type Point = [2]float64

// Polygon is a list of closed rings: the first is the exterior (counter-clockwise),
// the others are holes (clockwise). Every ring repeats its first position at its end.
type Polygon [][]Point

// Boundary is the outline of an area: one or more polygons that do not overlap
// (a GeoJSON Polygon when it has one element, a MultiPolygon otherwise).
type Boundary []Polygon

// Area is one district, street, community or grid.
type Area struct {
	Code   string `json:"code"`   // administrative-style code: district 6 digits, street 9, community 12, grid 14
	Parent string `json:"parent"` // the parent's code; "" or a code outside the map for a district
	Level  Level  `json:"level"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	// Boundary is the area's outline; shared by all copies of the Area, never modify it.
	Boundary Boundary `json:"boundary,omitempty"`
	// Centroid is a representative point inside the boundary: the area-weighted
	// centroid when it lies inside, otherwise a point on the widest interior span
	// through it (for labels and map markers).
	Centroid Point `json:"centroid"`
}

// Location is the answer of a point lookup: the codes of the areas containing the
// point at each level, "" where no area of that level contains it.
type Location struct {
	District  string `json:"district"`
	Street    string `json:"street"`
	Community string `json:"community"`
	Grid      string `json:"grid"`
}

// Code returns the finest non-empty code of the location.
func (l Location) Code() string {
	switch {
	case l.Grid != "":
		return l.Grid
	case l.Community != "":
		return l.Community
	case l.Street != "":
		return l.Street
	}
	return l.District
}

// Has reports whether code is one of the location's areas at any level.
func (l Location) Has(code string) bool {
	return code != "" && (l.District == code || l.Street == code || l.Community == code || l.Grid == code)
}

// set fills the field of the level.
func (l *Location) set(lv Level, code string) {
	switch lv {
	case LevelDistrict:
		l.District = code
	case LevelStreet:
		l.Street = code
	case LevelCommunity:
		l.Community = code
	case LevelGrid:
		l.Grid = code
	}
}

// Bounds returns the bounding box of b as minLon, minLat, maxLon, maxLat; all are NaN
// when b has no positions.
func (b Boundary) Bounds() (minX, minY, maxX, maxY float64) {
	minX, minY = math.Inf(1), math.Inf(1)
	maxX, maxY = math.Inf(-1), math.Inf(-1)
	n := 0
	for _, p := range b {
		for _, r := range p {
			for _, pt := range r {
				minX = math.Min(minX, pt[0])
				maxX = math.Max(maxX, pt[0])
				minY = math.Min(minY, pt[1])
				maxY = math.Max(maxY, pt[1])
				n++
			}
		}
	}
	if n == 0 {
		nan := math.NaN()
		return nan, nan, nan, nan
	}
	return minX, minY, maxX, maxY
}

// Contains reports whether the point lies inside b (even-odd rule over all rings, so
// holes are excluded). A point exactly on an edge shared by two neighbouring
// boundaries is inside exactly one of them.
func (b Boundary) Contains(lon, lat float64) bool {
	in := false
	for _, p := range b {
		for _, r := range p {
			if ringCrossings(r, lon, lat) {
				in = !in
			}
		}
	}
	return in
}

// Area returns the planar area of b in square degrees (holes subtracted); use it to
// compare areas, not as square metres.
func (b Boundary) Area() float64 {
	s := 0.0
	for _, p := range b {
		for i, r := range p {
			a := math.Abs(ringSignedArea(r))
			if i == 0 {
				s += a
			} else {
				s -= a
			}
		}
	}
	return s
}

// NumPoints returns the number of positions in b.
func (b Boundary) NumPoints() int {
	n := 0
	for _, p := range b {
		for _, r := range p {
			n += len(r)
		}
	}
	return n
}
