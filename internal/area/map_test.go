package area

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/citybrain/citybrain"
)

func square(x0, y0, x1, y1 float64) Boundary {
	return Boundary{Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

func TestNewMapRejects(t *testing.T) {
	b := square(0, 0, 1, 1)
	tests := []struct {
		name  string
		areas []Area
		field string
	}{
		{"empty code", []Area{{Level: LevelDistrict, Boundary: b}}, "code"},
		{"bad level", []Area{{Code: "1", Level: "city", Boundary: b}}, "level"},
		{"duplicate", []Area{{Code: "1", Level: LevelDistrict}, {Code: "1", Level: LevelDistrict}}, "code"},
		{"orphan street", []Area{{Code: "1", Level: LevelDistrict}, {Code: "2", Parent: "9", Level: LevelStreet}}, "parent"},
		{"level skip", []Area{{Code: "1", Level: LevelDistrict}, {Code: "2", Parent: "1", Level: LevelCommunity}}, "level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMap(tc.areas)
			var ce *citybrain.Error
			if !errors.As(err, &ce) || ce.Code != citybrain.EINVALID || ce.Field != tc.field {
				t.Fatalf("NewMap error %v, want EINVALID on field %s", err, tc.field)
			}
		})
	}
}

func TestMapHierarchy(t *testing.T) {
	m := demoMap(t)
	roots := m.Children("")
	if len(roots) != 1 || roots[0].Code != DemoDistrictCode {
		t.Fatalf("roots = %v", roots)
	}
	streets := m.Children(DemoDistrictCode)
	if len(streets) != 14 {
		t.Fatalf("%d streets", len(streets))
	}
	for i := 1; i < len(streets); i++ {
		if streets[i-1].Code >= streets[i].Code {
			t.Fatal("children not sorted by code")
		}
	}
	grid := m.ByLevel(LevelGrid)[100]
	path := m.Path(grid.Code)
	if len(path) != 4 || path[0].Level != LevelDistrict || path[3].Code != grid.Code {
		t.Fatalf("Path(%s) = %d areas", grid.Code, len(path))
	}
	for i := 1; i < len(path); i++ {
		if path[i].Parent != path[i-1].Code {
			t.Fatalf("Path breaks at %s", path[i].Code)
		}
	}
	if !m.Within(grid.Code, path[1].Code) || !m.Within(grid.Code, grid.Code) || !m.Within(path[2].Code, DemoDistrictCode) ||
		m.Within(path[1].Code, grid.Code) || m.Within("nope", DemoDistrictCode) || m.Within(grid.Code, streets[0].Code) == (path[1].Code != streets[0].Code) {
		t.Error("Within disagrees with Path")
	}
	if loc, _ := m.Location(grid.Code); !loc.Has(path[1].Code) || !loc.Has(grid.Code) || loc.Has("") || loc.Has(streets[0].Code) != (path[1].Code == streets[0].Code) {
		t.Error("Location.Has disagrees with Path")
	}
	if m.Path("nope") != nil || m.Children("nope") == nil && len(m.Children("nope")) != 0 {
		t.Error("unknown code")
	}
	if _, ok := m.Get("nope"); ok {
		t.Error("Get(unknown) ok")
	}
}

func TestLocateEdgeCases(t *testing.T) {
	m := demoMap(t)
	tests := []struct {
		name     string
		lon, lat float64
	}{
		{"far away", 0, 0},
		{"NaN", math.NaN(), 39.12},
		{"infinite", math.Inf(1), math.Inf(-1)},
		{"just outside the box", 116.0, 39.12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if loc, ok := m.Locate(tc.lon, tc.lat); ok || loc != (Location{}) {
				t.Errorf("Locate = %+v %v, want nothing", loc, ok)
			}
		})
	}
	// Every area's centroid locates to that area or one of its descendants.
	for _, a := range m.All() {
		loc, ok := m.Locate(a.Centroid[0], a.Centroid[1])
		if !ok {
			t.Fatalf("centroid of %s not located", a.Code)
		}
		want, _ := m.Location(a.Code)
		switch a.Level {
		case LevelGrid:
			if loc != want {
				t.Fatalf("centroid of %s located at %+v", a.Code, loc)
			}
		case LevelCommunity:
			if loc.Community != a.Code {
				t.Fatalf("centroid of %s located at %+v", a.Code, loc)
			}
		case LevelStreet:
			if loc.Street != a.Code {
				t.Fatalf("centroid of %s located at %+v", a.Code, loc)
			}
		}
	}
}

// TestLocateFallsBack: a community with no grid under it is still found.
func TestLocateFallsBack(t *testing.T) {
	m, err := NewMap([]Area{
		{Code: "1", Level: LevelDistrict, NameZH: "区", Boundary: square(0, 0, 2, 1)},
		{Code: "1a", Parent: "1", Level: LevelStreet, NameZH: "街", Boundary: square(0, 0, 2, 1)},
		{Code: "1a1", Parent: "1a", Level: LevelCommunity, NameZH: "社区1", Boundary: square(0, 0, 1, 1)},
		{Code: "1a2", Parent: "1a", Level: LevelCommunity, NameZH: "社区2", Boundary: square(1, 0, 2, 1)},
		{Code: "1a1g", Parent: "1a1", Level: LevelGrid, NameZH: "网格", Boundary: square(0, 0, 1, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		x, y float64
		want Location
	}{
		{0.5, 0.5, Location{District: "1", Street: "1a", Community: "1a1", Grid: "1a1g"}},
		{1.5, 0.5, Location{District: "1", Street: "1a", Community: "1a2"}},
	}
	for _, tc := range tests {
		if got, ok := m.Locate(tc.x, tc.y); !ok || got != tc.want {
			t.Errorf("Locate(%v,%v) = %+v %v, want %+v", tc.x, tc.y, got, ok, tc.want)
		}
	}
	if got := (Location{District: "1", Street: "1a", Community: "1a2"}).Code(); got != "1a2" {
		t.Errorf("Code() = %q", got)
	}
}

func TestCurrentSwap(t *testing.T) {
	var c Current
	if _, ok := c.Locate(117.2, 39.12); ok || c.Load() != nil {
		t.Fatal("empty Current answers")
	}
	m := demoMap(t)
	d, _ := m.Get(DemoDistrictCode)
	other, err := NewMap([]Area{{Code: "9", Level: LevelDistrict, NameZH: "别区", Boundary: square(0, 0, 1, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	c.Store(m)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				loc, ok := c.Locate(d.Centroid[0], d.Centroid[1])
				if ok && loc.District != DemoDistrictCode {
					t.Errorf("torn read: %+v", loc)
					return
				}
			}
		}()
	}
	c.Store(other)
	wg.Wait()
	if loc, ok := c.Locate(0.5, 0.5); !ok || loc.District != "9" {
		t.Errorf("after swap Locate = %+v %v", loc, ok)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		b    Boundary
		ok   bool
	}{
		{"square", square(0, 0, 1, 1), true},
		{"empty", Boundary{}, false},
		{"no rings", Boundary{Polygon{}}, false},
		{"spike", Boundary{Polygon{{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 0}}}}, false},
		{"hole outside", Boundary{Polygon{square(0, 0, 1, 1)[0][0], square(2, 2, 3, 3)[0][0]}}, false},
		{"hole crossing", Boundary{Polygon{square(0, 0, 1, 1)[0][0], {{0.5, 0.5}, {0.5, 2}, {0.6, 2}, {0.6, 0.5}, {0.5, 0.5}}}}, false},
		{"hole inside", Boundary{Polygon{square(0, 0, 1, 1)[0][0], {{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}, {0.2, 0.2}}}}, true},
		{"hole touching at a vertex", Boundary{Polygon{square(0, 0, 1, 1)[0][0], {{0, 0}, {0.2, 0.4}, {0.4, 0.2}, {0, 0}}}}, true},
		{"ring touching itself", Boundary{Polygon{{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}, {0, 0}}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.b.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestMapConcurrentReaders exercises every reader of one Map from several goroutines;
// run with -race to check the immutability claim (the lazily built layers included).
func TestMapConcurrentReaders(t *testing.T) {
	m := demoMap(t)
	want := string(m.SimplifiedGeoJSON(LevelStreet))
	m2 := demoMap(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if got := string(m2.SimplifiedGeoJSON(LevelStreet)); got != want {
				t.Error("SimplifiedGeoJSON differs between goroutines")
			}
			_ = m2.SimplifiedGeoJSON(Levels()[g])
			for _, a := range m2.Children(DemoDistrictCode) {
				if loc, ok := m2.Locate(a.Centroid[0], a.Centroid[1]); !ok || loc.Street != a.Code {
					t.Errorf("Locate(centroid of %s) = %+v", a.Code, loc)
				}
			}
		}(g)
	}
	wg.Wait()
}
