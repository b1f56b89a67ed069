package area

import (
	"fmt"
	"math"
	"sort"
)

// ringCrossings reports whether a ray from (x, y) towards +x crosses the ring an odd
// number of times. Each edge is evaluated from its lower end so that two rings sharing
// an edge compute the same crossing abscissa: a point on a shared edge then belongs to
// exactly one of the two neighbours.
func ringCrossings(r []Point, x, y float64) bool {
	in := false
	for i := 1; i < len(r); i++ {
		x1, y1 := r[i-1][0], r[i-1][1]
		x2, y2 := r[i][0], r[i][1]
		if (y1 > y) != (y2 > y) {
			if y1 > y2 {
				x1, y1, x2, y2 = x2, y2, x1, y1
			}
			if x < x1+(y-y1)*(x2-x1)/(y2-y1) {
				in = !in
			}
		}
	}
	return in
}

// ringSignedArea returns the shoelace area of a closed ring: positive when
// counter-clockwise.
func ringSignedArea(r []Point) float64 {
	if len(r) < 3 {
		return 0
	}
	s := 0.0
	ox, oy := r[0][0], r[0][1] // relative to the first vertex for precision
	for i := 1; i < len(r); i++ {
		s += (r[i-1][0]-ox)*(r[i][1]-oy) - (r[i][0]-ox)*(r[i-1][1]-oy)
	}
	return s / 2
}

// LabelPoint returns a representative point inside b: the area-weighted centroid when
// it lies inside, otherwise the middle of the widest interior span of the horizontal
// line through the centroid (or through the middle of the bounding box).
func LabelPoint(b Boundary) Point {
	var sx, sy, sa float64
	var ox, oy float64
	first := true
	for _, p := range b {
		for _, r := range p {
			for i := 1; i < len(r); i++ {
				if first {
					ox, oy = r[0][0], r[0][1]
					first = false
				}
				x0, y0 := r[i-1][0]-ox, r[i-1][1]-oy
				x1, y1 := r[i][0]-ox, r[i][1]-oy
				c := x0*y1 - x1*y0
				sa += c
				sx += (x0 + x1) * c
				sy += (y0 + y1) * c
			}
		}
	}
	if first {
		return Point{}
	}
	if sa != 0 {
		c := Point{round7(sx/(3*sa) + ox), round7(sy/(3*sa) + oy)}
		if b.Contains(c[0], c[1]) {
			return c
		}
		if pt, ok := widestSpan(b, c[1]); ok {
			return pt
		}
	}
	_, minY, _, maxY := b.Bounds()
	if pt, ok := widestSpan(b, (minY+maxY)/2); ok {
		return pt
	}
	return b[0][0][0]
}

// widestSpan intersects the horizontal line at y with b and returns the middle of the
// widest span inside b.
func widestSpan(b Boundary, y float64) (Point, bool) {
	var xs []float64
	for _, p := range b {
		for _, r := range p {
			for i := 1; i < len(r); i++ {
				x1, y1 := r[i-1][0], r[i-1][1]
				x2, y2 := r[i][0], r[i][1]
				if (y1 > y) != (y2 > y) {
					if y1 > y2 {
						x1, y1, x2, y2 = x2, y2, x1, y1
					}
					xs = append(xs, x1+(y-y1)*(x2-x1)/(y2-y1))
				}
			}
		}
	}
	sort.Float64s(xs)
	best, bx := -1.0, 0.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > best {
			best, bx = w, (xs[i]+xs[i+1])/2
		}
	}
	if best <= 0 {
		return Point{}, false
	}
	return Point{bx, y}, true
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// orient returns the sign of the cross product (b-a)×(c-a): >0 when c is left of a→b.
func orient(a, b, c Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// onSegment reports whether c, known to be collinear with a-b, lies within its box.
func onSegment(a, b, c Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}

// segRelation classifies how segments a-b and c-d meet.
type segRelation int

const (
	segApart   segRelation = iota
	segTouch               // they meet at exactly one point that is an endpoint of one of them
	segCross               // they cross at a point interior to both
	segOverlap             // collinear with an overlap of positive length
)

func segIntersect(a, b, c, d Point) segRelation {
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1 == 0 && o2 == 0 { // collinear
		if !onSegment(a, b, c) && !onSegment(a, b, d) && !onSegment(c, d, a) && !onSegment(c, d, b) {
			return segApart
		}
		// overlap length: project on the dominant axis
		ax := 0
		if math.Abs(b[0]-a[0]) < math.Abs(b[1]-a[1]) {
			ax = 1
		}
		lo1, hi1 := math.Min(a[ax], b[ax]), math.Max(a[ax], b[ax])
		lo2, hi2 := math.Min(c[ax], d[ax]), math.Max(c[ax], d[ax])
		if math.Min(hi1, hi2)-math.Max(lo1, lo2) > 0 {
			return segOverlap
		}
		return segTouch
	}
	if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) {
		return segCross
	}
	if (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b)) {
		return segTouch
	}
	return segApart
}

// distToSegment returns the planar distance from p to the segment a-b.
func distToSegment(p, a, b Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((p[0]-a[0])*dx + (p[1]-a[1])*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	return math.Hypot(p[0]-(a[0]+t*dx), p[1]-(a[1]+t*dy))
}

// ContainsWithin reports whether the point is inside b or within tol degrees of its
// boundary. Import uses it to check that children lie in their parent.
func (b Boundary) ContainsWithin(p Point, tol float64) bool {
	if b.Contains(p[0], p[1]) {
		return true
	}
	for _, poly := range b {
		for _, r := range poly {
			for i := 1; i < len(r); i++ {
				if distToSegment(p, r[i-1], r[i]) <= tol {
					return true
				}
			}
		}
	}
	return false
}

// GeometryError describes what is wrong with a boundary and where: Polygon and Ring
// count from 1 (ring 1 is the exterior); 0 means the whole boundary or polygon.
type GeometryError struct {
	Polygon, Ring int
	ZH, EN        string // the problem in Chinese and in English
}

// Error implements error.
func (e *GeometryError) Error() string {
	return fmt.Sprintf("%s%s / %s%s", e.whereZH(), e.ZH, e.whereEN(), e.EN)
}

func (e *GeometryError) whereZH() string {
	switch {
	case e.Ring > 0:
		return fmt.Sprintf("第%d个多边形第%d个环", e.Polygon, e.Ring)
	case e.Polygon > 0:
		return fmt.Sprintf("第%d个多边形", e.Polygon)
	}
	return ""
}

func (e *GeometryError) whereEN() string {
	switch {
	case e.Ring > 0:
		return fmt.Sprintf("polygon %d ring %d: ", e.Polygon, e.Ring)
	case e.Polygon > 0:
		return fmt.Sprintf("polygon %d: ", e.Polygon)
	}
	return ""
}

// Validate checks that b is a valid (multi)polygon: at least one polygon; each ring
// closed with at least four positions, finite longitude/latitude in range, no
// repeated consecutive positions, non-zero area; no ring touching or crossing itself;
// rings of one polygon not crossing each other (touching at a point is allowed); every
// hole inside its exterior. It does not check that the polygons of a MultiPolygon are
// disjoint. The error is a *GeometryError.
func (b Boundary) Validate() error {
	if len(b) == 0 {
		return &GeometryError{ZH: "边界为空，至少需要一个多边形", EN: "the boundary is empty; give at least one polygon"}
	}
	for pi, p := range b {
		if err := validatePolygon(p, pi+1); err != nil {
			return err
		}
	}
	return nil
}

func validatePolygon(p Polygon, pi int) error {
	if len(p) == 0 {
		return &GeometryError{Polygon: pi, ZH: "没有环，至少需要外环", EN: "has no rings; give at least the exterior ring"}
	}
	for ri, r := range p {
		g := func(zh, en string, args ...any) error {
			return &GeometryError{Polygon: pi, Ring: ri + 1, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
		}
		if len(r) < 4 {
			return g("只有%d个坐标，闭合环至少需要4个", "has %d positions; a closed ring needs at least 4", len(r))
		}
		for i, pt := range r {
			if math.IsNaN(pt[0]) || math.IsInf(pt[0], 0) || math.IsNaN(pt[1]) || math.IsInf(pt[1], 0) ||
				pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
				return g("第%d个坐标 %v 无效：经度须在 -180..180，纬度须在 -90..90，顺序为[经度,纬度]",
					"position %d %v is invalid: longitude must be in -180..180 and latitude in -90..90, in the order [lon, lat]", i+1, pt)
			}
			if i > 0 && pt == r[i-1] {
				return g("第%d个坐标与前一个重复，请删除重复点", "position %d repeats the previous one; remove the duplicate", i+1)
			}
		}
		if r[0] != r[len(r)-1] {
			return g("未闭合：首坐标 %v 与末坐标 %v 不同，请在末尾重复首坐标",
				"is not closed: the first position %v differs from the last %v; repeat the first position at the end", r[0], r[len(r)-1])
		}
		if ringSignedArea(r) == 0 {
			return g("面积为零（所有点共线）", "has zero area (all positions are collinear)")
		}
	}
	if err := checkIntersections(p, pi); err != nil {
		return err
	}
	for ri := 1; ri < len(p); ri++ {
		for _, pt := range p[ri] {
			if !(Boundary{Polygon{p[0]}}).ContainsWithin(pt, 0) {
				return &GeometryError{Polygon: pi, Ring: ri + 1,
					ZH: fmt.Sprintf("是内环（洞），但坐标 %v 在外环之外", pt),
					EN: fmt.Sprintf("is a hole but its position %v lies outside the exterior ring", pt)}
			}
		}
	}
	return nil
}

type edge struct {
	a, b       Point
	ring, idx  int // ring index, edge index within the ring
	minX, maxX float64
}

// checkIntersections sweeps the polygon's edges along x and reports the first pair of
// edges that meet where they must not.
func checkIntersections(p Polygon, pi int) error {
	var es []edge
	ringLen := make([]int, len(p))
	for ri, r := range p {
		ringLen[ri] = len(r) - 1
		for i := 1; i < len(r); i++ {
			es = append(es, edge{a: r[i-1], b: r[i], ring: ri, idx: i - 1,
				minX: math.Min(r[i-1][0], r[i][0]), maxX: math.Max(r[i-1][0], r[i][0])})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].minX < es[j].minX })
	for i := range es {
		e := &es[i]
		for j := i + 1; j < len(es) && es[j].minX <= e.maxX; j++ {
			f := &es[j]
			if math.Max(e.a[1], e.b[1]) < math.Min(f.a[1], f.b[1]) || math.Max(f.a[1], f.b[1]) < math.Min(e.a[1], e.b[1]) {
				continue
			}
			rel := segIntersect(e.a, e.b, f.a, f.b)
			if rel == segApart {
				continue
			}
			if e.ring != f.ring {
				if rel == segTouch {
					continue
				}
				return &GeometryError{Polygon: pi,
					ZH: fmt.Sprintf("第%d个环与第%d个环相交（靠近 %v）", e.ring+1, f.ring+1, e.a),
					EN: fmt.Sprintf("ring %d crosses ring %d (near %v)", e.ring+1, f.ring+1, e.a)}
			}
			n := ringLen[e.ring]
			d := e.idx - f.idx
			adjacent := d == 1 || d == -1 || (n > 2 && (d == n-1 || d == -(n-1)))
			if adjacent && rel == segTouch {
				continue
			}
			return &GeometryError{Polygon: pi, Ring: e.ring + 1,
				ZH: fmt.Sprintf("自相交：第%d条边与第%d条边相交（靠近 %v）", e.idx+1, f.idx+1, e.a),
				EN: fmt.Sprintf("intersects itself: edge %d meets edge %d (near %v)", e.idx+1, f.idx+1, e.a)}
		}
	}
	return nil
}
