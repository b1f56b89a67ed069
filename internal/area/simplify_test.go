package area

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSimplifyKeepsTiling simplifies the demo grids together with the district and
// checks that the simplified layer still tiles: it has fewer vertices, every ring is
// valid, the grids' areas add up to the district's and no sampled point lies in two
// grids or in none inside the district.
func TestSimplifyKeepsTiling(t *testing.T) {
	m := demoMap(t)
	for _, tol := range []float64{DefaultTolerance(LevelGrid), DefaultTolerance(LevelCommunity), DefaultTolerance(LevelStreet), DefaultTolerance(LevelDistrict)} {
		in := append(m.ByLevel(LevelGrid), m.ByLevel(LevelDistrict)...)
		out := Simplify(in, tol)
		before, after := 0, 0
		for i := range in {
			before += in[i].Boundary.NumPoints()
			after += out[i].Boundary.NumPoints()
			if err := out[i].Boundary.Validate(); err != nil {
				t.Fatalf("tol %g: %s simplified is invalid: %v", tol, out[i].Code, err)
			}
		}
		if after >= before {
			t.Errorf("tol %g: %d points before, %d after", tol, before, after)
		}
		grids, d := out[:len(out)-1], out[len(out)-1]
		sum := 0.0
		for _, g := range grids {
			sum += g.Boundary.Area()
		}
		if da := d.Boundary.Area(); math.Abs(sum-da) > 1e-9*da {
			t.Errorf("tol %g: grids cover %.12g, district %.12g", tol, sum, da)
		}
		minX, minY, maxX, maxY := d.Boundary.Bounds()
		rng := rand.New(rand.NewPCG(3, 4))
		for n := 0; n < 3000; n++ {
			x, y := minX+rng.Float64()*(maxX-minX), minY+rng.Float64()*(maxY-minY)
			k := 0
			for _, g := range grids {
				if g.Boundary.Contains(x, y) {
					k++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[d.Boundary.Contains(x, y)]; k != want {
				t.Fatalf("tol %g: (%v,%v) in %d simplified grids, want %d", tol, x, y, k, want)
			}
		}
		t.Logf("tol %g: %d → %d positions", tol, before, after)
	}
}

func TestSimplifyArc(t *testing.T) {
	tests := []struct {
		name string
		in   []Point
		tol  float64
		want int
	}{
		{"straight line", []Point{{0, 0}, {1, 0.00001}, {2, 0}, {3, -0.00001}, {4, 0}}, 0.001, 2},
		{"corner kept", []Point{{0, 0}, {1, 0}, {2, 0}, {2, 1}, {2, 2}}, 0.001, 3},
		{"tolerance zero keeps all", []Point{{0, 0}, {1, 0.1}, {2, 0}}, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := simplifyArc(tc.in, tc.tol)
			if len(got) != tc.want || got[0] != tc.in[0] || got[len(got)-1] != tc.in[len(tc.in)-1] {
				t.Errorf("simplifyArc = %v, want %d points with the same ends", got, tc.want)
			}
			rev := make([]Point, len(tc.in))
			for i := range tc.in {
				rev[i] = tc.in[len(tc.in)-1-i]
			}
			back := simplifyArc(rev, tc.tol)
			for i := range back {
				if back[i] != got[len(got)-1-i] {
					t.Fatalf("reversed arc simplifies differently: %v vs %v", back, got)
				}
			}
		})
	}
}
