package area

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func demoMap(t testing.TB) *Map {
	t.Helper()
	m, err := NewMap(Demo())
	if err != nil {
		t.Fatalf("NewMap(Demo()): %v", err)
	}
	return m
}

func TestDemoCounts(t *testing.T) {
	m := demoMap(t)
	tests := []struct {
		level  Level
		lo, hi int
	}{
		{LevelDistrict, 1, 1},
		{LevelStreet, 14, 14},
		{LevelCommunity, 140, 160},
		{LevelGrid, 560, 640},
	}
	for _, tc := range tests {
		t.Run(string(tc.level), func(t *testing.T) {
			if n := m.Count(tc.level); n < tc.lo || n > tc.hi {
				t.Errorf("%d %s areas, want %d..%d", n, tc.level, tc.lo, tc.hi)
			}
		})
	}
	d, ok := m.Get(DemoDistrictCode)
	if !ok || !strings.Contains(d.NameZH, "合成") || !strings.Contains(d.NameEN, "synthetic") {
		t.Errorf("district %+v is not labelled synthetic", d.Code)
	}
	minX, minY, maxX, maxY := d.Boundary.Bounds()
	wKM := (maxX - minX) * 111.32 * math.Cos(39.12*math.Pi/180)
	hKM := (maxY - minY) * 110.57
	if wKM < 7 || wKM > 13 || hKM < 6 || hKM > 11 {
		t.Errorf("district extent %.1f km × %.1f km, want about 10 × 8", wKM, hKM)
	}
	if c := d.Centroid; math.Abs(c[0]-117.2) > 0.1 || math.Abs(c[1]-39.12) > 0.1 {
		t.Errorf("district centroid %v, want near 117.20E 39.12N", c)
	}
}

func TestDemoDeterministic(t *testing.T) {
	if !reflect.DeepEqual(Demo(), Demo()) {
		t.Fatal("Demo() differs between calls")
	}
}

func TestDemoCodesAndNames(t *testing.T) {
	m := demoMap(t)
	wantLen := map[Level]int{LevelDistrict: 6, LevelStreet: 9, LevelCommunity: 12, LevelGrid: 14}
	names := map[string]bool{}
	for _, a := range m.All() {
		if len(a.Code) != wantLen[a.Level] {
			t.Errorf("%s %s: code has %d digits, want %d", a.Level, a.Code, len(a.Code), wantLen[a.Level])
		}
		for _, r := range a.Code {
			if r < '0' || r > '9' {
				t.Errorf("code %q has a non-digit", a.Code)
				break
			}
		}
		if a.Parent != "" && !strings.HasPrefix(a.Code, a.Parent) {
			t.Errorf("code %s does not extend its parent %s", a.Code, a.Parent)
		}
		if utf8.RuneCountInString(a.NameZH) < 2 || a.NameEN == "" {
			t.Errorf("%s: names %q / %q", a.Code, a.NameZH, a.NameEN)
		}
		if a.Level == LevelCommunity || a.Level == LevelStreet {
			if names[a.NameZH] {
				t.Errorf("%s name %s used twice", a.Level, a.NameZH)
			}
			names[a.NameZH] = true
		}
	}
	for _, s := range m.ByLevel(LevelStreet) {
		if !strings.HasSuffix(s.NameZH, "街道") || !strings.HasSuffix(s.NameEN, " Street") {
			t.Errorf("street name %q / %q", s.NameZH, s.NameEN)
		}
	}
}

func TestDemoGeometryValid(t *testing.T) {
	m := demoMap(t)
	for _, a := range m.All() {
		if err := a.Boundary.Validate(); err != nil {
			t.Errorf("%s %s: %v", a.Level, a.Code, err)
		}
		if !a.Boundary.Contains(a.Centroid[0], a.Centroid[1]) {
			t.Errorf("%s: centroid %v outside its boundary", a.Code, a.Centroid)
		}
	}
}

// TestDemoTiling checks that every parent is exactly covered by its children: the
// children's areas add up to the parent's and every child vertex lies in the parent.
func TestDemoTiling(t *testing.T) {
	m := demoMap(t)
	for _, p := range m.All() {
		kids := m.Children(p.Code)
		if p.Level == LevelGrid {
			if len(kids) != 0 {
				t.Errorf("grid %s has children", p.Code)
			}
			continue
		}
		if len(kids) == 0 {
			t.Errorf("%s %s has no children", p.Level, p.Code)
			continue
		}
		sum := 0.0
		for _, k := range kids {
			sum += k.Boundary.Area()
			for _, poly := range k.Boundary {
				for _, r := range poly {
					for _, pt := range r {
						if !p.Boundary.ContainsWithin(pt, 1e-9) {
							t.Fatalf("%s vertex %v outside parent %s", k.Code, pt, p.Code)
						}
					}
				}
			}
		}
		if pa := p.Boundary.Area(); math.Abs(sum-pa) > 1e-9*pa {
			t.Errorf("%s: children cover %.12g, parent %.12g", p.Code, sum, pa)
		}
	}
}

// TestDemoLocate samples points over the district's bounding box and checks Locate
// against a brute-force scan: a point inside the district lies in exactly one grid,
// whose ancestors are the community and street returned; a point outside lies in none.
func TestDemoLocate(t *testing.T) {
	m := demoMap(t)
	d, _ := m.Get(DemoDistrictCode)
	grids := m.ByLevel(LevelGrid)
	boxes := make([][4]float64, len(grids))
	for i, g := range grids {
		boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3] = g.Boundary.Bounds()
	}
	minX, minY, maxX, maxY := d.Boundary.Bounds()
	rng := rand.New(rand.NewPCG(1, 2))
	inside := 0
	for n := 0; n < 20000; n++ {
		x := minX + rng.Float64()*(maxX-minX)
		y := minY + rng.Float64()*(maxY-minY)
		var hits []string
		for i, g := range grids {
			b := boxes[i]
			if x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3] && g.Boundary.Contains(x, y) {
				hits = append(hits, g.Code)
			}
		}
		loc, ok := m.Locate(x, y)
		if !d.Boundary.Contains(x, y) {
			if len(hits) != 0 || ok {
				t.Fatalf("(%v,%v) outside the district: grids %v, Locate %+v %v", x, y, hits, loc, ok)
			}
			continue
		}
		inside++
		if len(hits) != 1 {
			t.Fatalf("(%v,%v) inside the district lies in grids %v, want exactly one", x, y, hits)
		}
		if !ok || loc.Grid != hits[0] {
			t.Fatalf("Locate(%v,%v) = %+v %v, want grid %s", x, y, loc, ok, hits[0])
		}
		want, _ := m.Location(hits[0])
		if loc != want || loc.District != DemoDistrictCode {
			t.Fatalf("Locate(%v,%v) = %+v, want %+v", x, y, loc, want)
		}
		g, _ := m.Get(loc.Grid)
		c, _ := m.Get(loc.Community)
		s, _ := m.Get(loc.Street)
		if g.Parent != c.Code || c.Parent != s.Code || s.Parent != d.Code {
			t.Fatalf("Locate(%v,%v) = %+v: not a chain of ancestors", x, y, loc)
		}
		if !c.Boundary.Contains(x, y) || !s.Boundary.Contains(x, y) {
			t.Fatalf("(%v,%v): community %s or street %s does not contain the point", x, y, c.Code, s.Code)
		}
	}
	if inside < 10000 {
		t.Errorf("only %d of 20000 samples inside the district", inside)
	}
}

// TestDemoSharedVertices checks the edge-sharing property the tiling relies on: a
// point on a vertex shared by neighbouring grids is located in exactly one of them.
func TestDemoSharedVertices(t *testing.T) {
	m := demoMap(t)
	d, _ := m.Get(DemoDistrictCode)
	grids := m.ByLevel(LevelGrid)
	for _, g := range grids[:60] {
		for _, pt := range g.Boundary[0][0] {
			n := 0
			for _, h := range grids {
				if h.Boundary.Contains(pt[0], pt[1]) {
					n++
				}
			}
			if d.Boundary.Contains(pt[0], pt[1]) && n != 1 {
				t.Fatalf("vertex %v of %s inside the district lies in %d grids", pt, g.Code, n)
			}
			if n > 1 {
				t.Fatalf("vertex %v lies in %d grids", pt, n)
			}
		}
	}
}
