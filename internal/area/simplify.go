package area

// DefaultTolerance returns the Douglas–Peucker tolerance in degrees used for the UI's
// overview layer of a level: about 100 m for districts, 80 m for streets, 40 m for
// communities and 15 m for grids — enough to straighten the 100 m steps of the demo's
// lattice borders while keeping shapes recognisable. Full boundaries stay available.
func DefaultTolerance(l Level) float64 {
	switch l {
	case LevelDistrict:
		return 1e-3
	case LevelStreet:
		return 8e-4
	case LevelCommunity:
		return 4e-4
	}
	return 1.5e-4
}

// Simplify returns copies of the areas with their boundaries simplified by
// Douglas–Peucker at tol degrees, preserving shared borders: a border shared by
// neighbours is cut at the vertices where three or more boundaries meet and each piece
// is simplified once, the same way for both sides, so the simplified areas still tile
// without gaps or overlaps where the originals shared vertices exactly. A ring that
// would collapse below four positions keeps its original positions. The inputs are
// not modified.
func Simplify(areas []Area, tol float64) []Area {
	type nb struct {
		n   [2]Point
		cnt int // distinct neighbours seen, capped at 3
	}
	deg := map[Point]*nb{}
	note := func(v, w Point) {
		e := deg[v]
		if e == nil {
			e = &nb{}
			deg[v] = e
		}
		for k := 0; k < e.cnt && k < 2; k++ {
			if e.n[k] == w {
				return
			}
		}
		if e.cnt < 2 {
			e.n[e.cnt] = w
		}
		if e.cnt < 3 {
			e.cnt++
		}
	}
	for _, a := range areas {
		for _, p := range a.Boundary {
			for _, r := range p {
				n := len(r) - 1 // closed: r[n] == r[0]
				for i := 0; i < n; i++ {
					note(r[i], r[(i+n-1)%n])
					note(r[i], r[(i+1)%n])
				}
			}
		}
	}
	pin := make(map[Point]bool)
	for v, e := range deg {
		if e.cnt != 2 {
			pin[v] = true
		}
	}
	// Rings with fewer than two pins get their lexicographically smallest and largest
	// vertices pinned; any ring sharing those vertices sees the same pins.
	for _, a := range areas {
		for _, p := range a.Boundary {
			for _, r := range p {
				k := 0
				for _, v := range r[:len(r)-1] {
					if pin[v] {
						k++
					}
				}
				if k >= 2 || len(r) < 2 {
					continue
				}
				lo, hi := r[0], r[0]
				for _, v := range r[:len(r)-1] {
					if less(v, lo) {
						lo = v
					}
					if less(hi, v) {
						hi = v
					}
				}
				pin[lo], pin[hi] = true, true
			}
		}
	}
	out := make([]Area, len(areas))
	for i, a := range areas {
		out[i] = a
		nb := make(Boundary, len(a.Boundary))
		for pi, p := range a.Boundary {
			np := make(Polygon, len(p))
			for ri, r := range p {
				np[ri] = simplifyRing(r, pin, tol)
			}
			nb[pi] = np
		}
		out[i].Boundary = nb
	}
	return out
}

func less(a, b Point) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }

// simplifyRing simplifies a closed ring arc by arc between pinned vertices.
func simplifyRing(r []Point, pin map[Point]bool, tol float64) []Point {
	n := len(r) - 1
	if n < 3 {
		return r
	}
	start := -1
	for i := 0; i < n; i++ {
		if pin[r[i]] {
			start = i
			break
		}
	}
	if start < 0 {
		return r
	}
	res := make([]Point, 0, len(r))
	arc := make([]Point, 0, len(r))
	i := start
	for {
		arc = append(arc[:0], r[i])
		j := (i + 1) % n
		for ; !pin[r[j]] && j != start; j = (j + 1) % n {
			arc = append(arc, r[j])
		}
		arc = append(arc, r[j])
		res = append(res, simplifyArc(arc, tol)...)
		res = res[:len(res)-1] // the arc's end starts the next arc
		i = j
		if i == start {
			break
		}
	}
	res = append(res, res[0])
	if len(res) < 4 || ringSignedArea(res) == 0 {
		return r
	}
	return res
}

// simplifyArc runs Douglas–Peucker on an arc in a canonical direction (from the
// lexicographically smaller end), so the two rings sharing the arc get identical results.
func simplifyArc(arc []Point, tol float64) []Point {
	if len(arc) <= 2 {
		return append([]Point(nil), arc...)
	}
	rev := less(arc[len(arc)-1], arc[0])
	a := make([]Point, len(arc))
	for k := range arc {
		if rev {
			a[k] = arc[len(arc)-1-k]
		} else {
			a[k] = arc[k]
		}
	}
	keep := make([]bool, len(a))
	keep[0], keep[len(a)-1] = true, true
	type span struct{ lo, hi int }
	stack := []span{{0, len(a) - 1}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		best, bd := -1, tol
		for k := s.lo + 1; k < s.hi; k++ {
			if d := distToSegment(a[k], a[s.lo], a[s.hi]); d > bd {
				best, bd = k, d
			}
		}
		if best >= 0 {
			keep[best] = true
			stack = append(stack, span{s.lo, best}, span{best, s.hi})
		}
	}
	out := make([]Point, 0, len(a))
	for k := range a {
		if keep[k] {
			out = append(out, a[k])
		}
	}
	if rev {
		for x, y := 0, len(out)-1; x < y; x, y = x+1, y-1 {
			out[x], out[y] = out[y], out[x]
		}
	}
	return out
}
