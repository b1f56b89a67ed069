package area

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// The synthetic demo district. It is generated, not surveyed: a jittered, slightly
// rotated lattice of ~100 m cells (its gently curving lines read as roads) is cut to an
// irregular outline with a river on the east, split into streets, each street into
// communities and each community into grids by seeded k-means and weighted region
// growing (mostly Chebyshev distance in the lattice frame, so borders tend to follow
// the lattice lines as real ones follow roads). Every boundary is dissolved from the same lattice cells, so parents are
// exactly the union of their children and neighbours share edges vertex for vertex:
// no gaps, no overlaps.
const (
	// DemoDistrictCode is the code of the synthetic demo district.
	DemoDistrictCode = "120103"
	// DemoDistrictNameZH is its Chinese name; "合成示例" marks it as synthetic.
	DemoDistrictNameZH = "河西区(合成示例)"
	// DemoDistrictNameEN is its English name.
	DemoDistrictNameEN = "Hexi District (synthetic demo)"

	demoSeed        = 20260412
	demoNX, demoNY  = 104, 84 // lattice cells west–east and south–north
	demoCellKM      = 0.1     // lattice cell size, km
	demoCentreLon   = 117.20  // centre of the lattice
	demoCentreLat   = 39.12   //
	demoRotation    = 0.19    // radians, counter-clockwise
	demoStreets     = 14      // 街道
	demoCommunities = 149     // 社区
	demoGrids       = 604     // 网格
)

// Demo returns the synthetic demo district: 1 district, 14 streets, 149 communities
// and 604 grids centred near 117.20°E 39.12°N (about 10 km × 8 km). The result is the
// same on every call; the caller may keep or modify the returned slice (the boundaries
// are fresh on every call).
func Demo() []Area {
	g := newDemoGen()
	return g.build()
}

type demoGen struct {
	rng   *rand.Rand
	pos   []Point      // lattice vertex positions, lon/lat
	ctr   [][2]float64 // cell centres in km in the unrotated lattice frame (for distances)
	in    []bool       // cell belongs to the district
	cells []int32      // district cells
}

func vid(i, j int) int32 { return int32(j*(demoNX+1) + i) }
func cid(i, j int) int32 { return int32(j*demoNX + i) }

func newDemoGen() *demoGen {
	g := &demoGen{rng: rand.New(rand.NewPCG(demoSeed, demoSeed^0x9e3779b97f4a7c15))}
	nv := (demoNX + 1) * (demoNY + 1)
	km := make([][2]float64, nv)
	colPhase := make([]float64, demoNX+1)
	rowPhase := make([]float64, demoNY+1)
	for i := range colPhase {
		colPhase[i] = g.rng.Float64() * 2 * math.Pi
	}
	for j := range rowPhase {
		rowPhase[j] = g.rng.Float64() * 2 * math.Pi
	}
	sin, cos := math.Sin(demoRotation), math.Cos(demoRotation)
	kmPerLon := 111.32 * math.Cos(demoCentreLat*math.Pi/180)
	const kmPerLat = 110.57
	g.pos = make([]Point, nv)
	for j := 0; j <= demoNY; j++ {
		for i := 0; i <= demoNX; i++ {
			// Displacements stay below 0.3 cell, so every cell remains a simple quadrilateral.
			x := float64(i) + 0.2*math.Sin(float64(j)*0.13+colPhase[i]) + 0.08*(g.rng.Float64()-0.5)
			y := float64(j) + 0.2*math.Sin(float64(i)*0.11+rowPhase[j]) + 0.08*(g.rng.Float64()-0.5)
			x = (x - demoNX/2) * demoCellKM
			y = (y - demoNY/2) * demoCellKM
			xr, yr := x*cos-y*sin, x*sin+y*cos
			v := vid(i, j)
			km[v] = [2]float64{x, y} // lattice-aligned: distances follow the "roads"
			g.pos[v] = Point{round7(demoCentreLon + xr/kmPerLon), round7(demoCentreLat + yr/kmPerLat)}
		}
	}
	g.ctr = make([][2]float64, demoNX*demoNY)
	for j := 0; j < demoNY; j++ {
		for i := 0; i < demoNX; i++ {
			a, b, c, d := km[vid(i, j)], km[vid(i+1, j)], km[vid(i+1, j+1)], km[vid(i, j+1)]
			g.ctr[cid(i, j)] = [2]float64{(a[0] + b[0] + c[0] + d[0]) / 4, (a[1] + b[1] + c[1] + d[1]) / 4}
		}
	}
	g.outline()
	return g
}

// outline picks the district's cells: an irregular blob, cut on the east by a river,
// reduced to its largest 4-connected piece with enclosed gaps filled.
func (g *demoGen) outline() {
	ph := [3]float64{g.rng.Float64() * 6.28, g.rng.Float64() * 6.28, g.rng.Float64() * 6.28}
	raw := make([]bool, demoNX*demoNY)
	for j := 0; j < demoNY; j++ {
		for i := 0; i < demoNX; i++ {
			u := (float64(i) + 0.5 - demoNX/2) / (demoNX / 2)
			v := (float64(j) + 0.5 - demoNY/2) / (demoNY / 2)
			th := math.Atan2(v, u)
			r := 0.97 * (1 + 0.09*math.Sin(2*th+ph[0]) + 0.06*math.Sin(3*th+ph[1]) + 0.035*math.Sin(5*th+ph[2]))
			river := float64(i) > demoNX*0.87+4*math.Sin(float64(j)/7)+2*math.Sin(float64(j)/3.1)
			raw[cid(i, j)] = math.Hypot(u, v) < r && !river
		}
	}
	// largest 4-connected component
	comp := make([]int32, len(raw))
	for i := range comp {
		comp[i] = -1
	}
	best, bestN := int32(-1), 0
	for c := range raw {
		if !raw[c] || comp[c] >= 0 {
			continue
		}
		n := 0
		g.flood(int32(c), func(x int32) bool { return raw[x] && comp[x] < 0 }, func(x int32) { comp[x] = int32(c); n++ })
		if n > bestN {
			best, bestN = int32(c), n
		}
	}
	// fill holes: everything not reachable from the lattice border through outside cells
	outside := make([]bool, len(raw))
	isOut := func(x int32) bool { return comp[x] != best && !outside[x] }
	for j := 0; j < demoNY; j++ {
		for i := 0; i < demoNX; i++ {
			if (i == 0 || j == 0 || i == demoNX-1 || j == demoNY-1) && isOut(cid(i, j)) {
				g.flood(cid(i, j), isOut, func(x int32) { outside[x] = true })
			}
		}
	}
	g.in = make([]bool, len(raw))
	for c := range raw {
		if !outside[c] {
			g.in[c] = true
			g.cells = append(g.cells, int32(c))
		}
	}
}

// neighbours calls f with the 4-neighbours of cell c inside the lattice.
func neighbours(c int32, f func(int32)) {
	i, j := int(c)%demoNX, int(c)/demoNX
	if j > 0 {
		f(cid(i, j-1))
	}
	if i < demoNX-1 {
		f(cid(i+1, j))
	}
	if j < demoNY-1 {
		f(cid(i, j+1))
	}
	if i > 0 {
		f(cid(i-1, j))
	}
}

func (g *demoGen) flood(start int32, ok func(int32) bool, visit func(int32)) {
	stack := []int32{start}
	visit(start)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		neighbours(c, func(n int32) {
			if ok(n) {
				visit(n)
				stack = append(stack, n)
			}
		})
	}
}

// partition splits the connected cell set into k connected regions of similar size:
// k-means on the cell centres places the seeds, then regions grow from them by
// multiplicatively weighted distance (the weights make the borders irregular).
func (g *demoGen) partition(cells []int32, k int) [][]int32 {
	if k <= 1 {
		return [][]int32{append([]int32(nil), cells...)}
	}
	member := make(map[int32]bool, len(cells))
	for _, c := range cells {
		member[c] = true
	}
	// k-means seeds
	perm := g.rng.Perm(len(cells))
	seeds := make([][2]float64, k)
	for r := range seeds {
		seeds[r] = g.ctr[cells[perm[r]]]
	}
	for iter := 0; iter < 8; iter++ {
		sum := make([][3]float64, k)
		for _, c := range cells {
			p := g.ctr[c]
			br, bd := 0, math.Inf(1)
			for r, s := range seeds {
				if d := sq(p[0]-s[0]) + sq(p[1]-s[1]); d < bd {
					br, bd = r, d
				}
			}
			sum[br][0] += p[0]
			sum[br][1] += p[1]
			sum[br][2]++
		}
		for r := range seeds {
			if sum[r][2] > 0 {
				seeds[r] = [2]float64{sum[r][0] / sum[r][2], sum[r][1] / sum[r][2]}
			}
		}
	}
	// snap seeds to distinct member cells
	taken := map[int32]bool{}
	seedCell := make([]int32, k)
	for r, s := range seeds {
		bc, bd := int32(-1), math.Inf(1)
		for _, c := range cells {
			if taken[c] {
				continue
			}
			p := g.ctr[c]
			if d := sq(p[0]-s[0]) + sq(p[1]-s[1]); d < bd {
				bc, bd = c, d
			}
		}
		taken[bc] = true
		seedCell[r] = bc
		seeds[r] = g.ctr[bc]
	}
	w := make([]float64, k)
	for r := range w {
		w[r] = 0.85 + 0.3*g.rng.Float64()
	}
	owner := make(map[int32]int, len(cells))
	q := &growQueue{}
	for r, c := range seedCell {
		heap.Push(q, growItem{prio: 0, cell: c, region: r})
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(growItem)
		if _, done := owner[it.cell]; done {
			continue
		}
		owner[it.cell] = it.region
		s := seeds[it.region]
		neighbours(it.cell, func(n int32) {
			if _, done := owner[n]; done || !member[n] {
				return
			}
			p := g.ctr[n]
			dx, dy := math.Abs(p[0]-s[0]), math.Abs(p[1]-s[1])
			// Mostly Chebyshev distance: borders run along lattice lines like real
			// boundaries along roads, with a little Euclidean to avoid ties.
			d := math.Max(dx, dy) + 0.25*math.Min(dx, dy)
			heap.Push(q, growItem{prio: d / w[it.region], cell: n, region: it.region})
		})
	}
	out := make([][]int32, k)
	for _, c := range cells { // cells order keeps the result deterministic
		out[owner[c]] = append(out[owner[c]], c)
	}
	return out
}

func sq(x float64) float64 { return x * x }

type growItem struct {
	prio   float64
	cell   int32
	region int
}

type growQueue []growItem

// Len, Less, Swap, Push and Pop implement heap.Interface: the lowest priority first,
// ties broken by cell index so growth is deterministic.
func (q growQueue) Len() int { return len(q) }

// Less orders by priority, then cell.
func (q growQueue) Less(i, j int) bool {
	if q[i].prio != q[j].prio {
		return q[i].prio < q[j].prio
	}
	return q[i].cell < q[j].cell
}

// Swap swaps two items.
func (q growQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

// Push appends an item.
func (q *growQueue) Push(x any) { *q = append(*q, x.(growItem)) }

// Pop removes the last item.
func (q *growQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// allocate splits total among parts in proportion to their sizes (largest remainder),
// giving each at least lo and at most its size.
func allocate(sizes []int, total, lo int) []int {
	sum := 0
	for _, s := range sizes {
		sum += s
	}
	out := make([]int, len(sizes))
	type rem struct {
		i int
		r float64
	}
	var rems []rem
	got := 0
	for i, s := range sizes {
		exact := float64(total) * float64(s) / float64(sum)
		out[i] = max(lo, int(exact))
		out[i] = min(out[i], s)
		got += out[i]
		rems = append(rems, rem{i, exact - math.Floor(exact)})
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; got < total && k < 10*len(rems); k++ {
		i := rems[k%len(rems)].i
		if out[i] < sizes[i] {
			out[i]++
			got++
		}
	}
	for k := 0; got > total && k < 10*len(rems); k++ {
		i := rems[len(rems)-1-k%len(rems)].i
		if out[i] > lo {
			out[i]--
			got--
		}
	}
	return out
}

// orderRegions sorts regions north to south in bands of band km, then west to east,
// so codes run in reading order on a map.
func (g *demoGen) orderRegions(regs [][]int32, band float64) {
	c := func(r []int32) (float64, float64) {
		var x, y float64
		for _, cell := range r {
			x += g.ctr[cell][0]
			y += g.ctr[cell][1]
		}
		return x / float64(len(r)), y / float64(len(r))
	}
	sort.SliceStable(regs, func(a, b int) bool {
		xa, ya := c(regs[a])
		xb, yb := c(regs[b])
		ba, bb := math.Floor(-ya/band), math.Floor(-yb/band)
		if ba != bb {
			return ba < bb
		}
		return xa < xb
	})
}

func (g *demoGen) build() []Area {
	district := Area{Code: DemoDistrictCode, Level: LevelDistrict, NameZH: DemoDistrictNameZH, NameEN: DemoDistrictNameEN,
		Boundary: g.dissolve(g.cells)}
	out := []Area{district}

	streets := g.partition(g.cells, demoStreets)
	g.orderRegions(streets, 2.5)
	sizes := make([]int, len(streets))
	for i, s := range streets {
		sizes[i] = len(s)
	}
	nComm := allocate(sizes, demoCommunities, 4)
	var comms [][]int32
	var commParent []int
	for si, s := range streets {
		parts := g.partition(s, nComm[si])
		g.orderRegions(parts, 0.8)
		for _, p := range parts {
			comms = append(comms, p)
			commParent = append(commParent, si)
		}
	}
	csizes := make([]int, len(comms))
	for i, c := range comms {
		csizes[i] = len(c)
	}
	nGrid := allocate(csizes, demoGrids, 2)

	names := demoCommunityNames(g.rng, len(comms))
	streetNames := demoStreetNames()
	commIndex := make([]int, len(streets)) // running community number per street
	for si, s := range streets {
		out = append(out, Area{
			Code: fmt.Sprintf("%s%03d", DemoDistrictCode, si+1), Parent: DemoDistrictCode, Level: LevelStreet,
			NameZH: streetNames[si][0] + "街道", NameEN: streetNames[si][1] + " Street", Boundary: g.dissolve(s)})
	}
	for ci, c := range comms {
		si := commParent[ci]
		commIndex[si]++
		streetCode := fmt.Sprintf("%s%03d", DemoDistrictCode, si+1)
		code := fmt.Sprintf("%s%03d", streetCode, commIndex[si])
		out = append(out, Area{Code: code, Parent: streetCode, Level: LevelCommunity,
			NameZH: names[ci][0] + "社区", NameEN: names[ci][1] + " Community", Boundary: g.dissolve(c)})
		grids := g.partition(c, nGrid[ci])
		g.orderRegions(grids, 0.3)
		for gi, gr := range grids {
			out = append(out, Area{Code: fmt.Sprintf("%s%02d", code, gi+1), Parent: code, Level: LevelGrid,
				NameZH: fmt.Sprintf("第%d网格", gi+1), NameEN: fmt.Sprintf("Grid %d", gi+1), Boundary: g.dissolve(gr)})
		}
	}
	for i := range out {
		out[i].Centroid = LabelPoint(out[i].Boundary)
	}
	return out
}

type latEdge struct {
	from, to int32
	dir      int // 0 east, 1 north, 2 west, 3 south (in lattice index space)
	used     bool
}

// dissolve returns the outline of a set of lattice cells: exterior rings
// counter-clockwise, holes clockwise. Where the set touches itself at a corner, the
// trace turns left, which splits the outline there into separate simple rings.
func (g *demoGen) dissolve(cells []int32) Boundary {
	set := make(map[int32]bool, len(cells))
	for _, c := range cells {
		set[c] = true
	}
	var edges []latEdge
	out := map[int32][]int{}
	add := func(a, b int32, dir int) {
		out[a] = append(out[a], len(edges))
		edges = append(edges, latEdge{from: a, to: b, dir: dir})
	}
	for _, c := range cells {
		i, j := int(c)%demoNX, int(c)/demoNX
		if j == 0 || !set[cid(i, j-1)] {
			add(vid(i, j), vid(i+1, j), 0)
		}
		if i == demoNX-1 || !set[cid(i+1, j)] {
			add(vid(i+1, j), vid(i+1, j+1), 1)
		}
		if j == demoNY-1 || !set[cid(i, j+1)] {
			add(vid(i+1, j+1), vid(i, j+1), 2)
		}
		if i == 0 || !set[cid(i-1, j)] {
			add(vid(i, j+1), vid(i, j), 3)
		}
	}
	var outers, holes [][]Point
	for e0 := range edges {
		if edges[e0].used {
			continue
		}
		ring := []Point{g.pos[edges[e0].from]}
		cur := e0
		for {
			edges[cur].used = true
			v := edges[cur].to
			next := -1
			for _, turn := range [3]int{1, 0, 3} { // left, straight, right
				want := (edges[cur].dir + turn) % 4
				for _, e := range out[v] {
					if edges[e].dir == want && (!edges[e].used || e == e0) {
						next = e
						break
					}
				}
				if next >= 0 {
					break
				}
			}
			if next < 0 || next == e0 {
				break
			}
			ring = append(ring, g.pos[v])
			cur = next
		}
		ring = append(ring, ring[0])
		if ringSignedArea(ring) > 0 {
			outers = append(outers, ring)
		} else {
			holes = append(holes, ring)
		}
	}
	b := make(Boundary, len(outers))
	for i, o := range outers {
		b[i] = Polygon{o}
	}
	for _, h := range holes {
		mid := Point{(h[0][0] + h[1][0]) / 2, (h[0][1] + h[1][1]) / 2}
		for i := range b {
			if ringCrossings(b[i][0], mid[0], mid[1]) {
				b[i] = append(b[i], h)
				break
			}
		}
	}
	sort.SliceStable(b, func(i, j int) bool {
		return math.Abs(ringSignedArea(b[i][0])) > math.Abs(ringSignedArea(b[j][0]))
	})
	return b
}

// demoStreetNames returns the 14 street names: Chinese stem and pinyin.
func demoStreetNames() [][2]string {
	return [][2]string{
		{"新华", "Xinhua"}, {"光明路", "Guangminglu"}, {"友谊路", "Youyilu"}, {"和平里", "Hepingli"},
		{"建设路", "Jianshelu"}, {"胜利", "Shengli"}, {"朝阳", "Chaoyang"}, {"长江道", "Changjiangdao"},
		{"黄河道", "Huanghedao"}, {"文化", "Wenhua"}, {"东风", "Dongfeng"}, {"柳林", "Liulin"},
		{"中山路", "Zhongshanlu"}, {"滨河", "Binhe"},
	}
}

// demoCommunityNames draws n distinct community names (without the 社区 suffix).
func demoCommunityNames(rng *rand.Rand, n int) [][2]string {
	stems := [][2]string{
		{"幸福", "Xingfu"}, {"和谐", "Hexie"}, {"康宁", "Kangning"}, {"安居", "Anju"}, {"春华", "Chunhua"},
		{"秋实", "Qiushi"}, {"明珠", "Mingzhu"}, {"锦绣", "Jinxiu"}, {"富民", "Fumin"}, {"育才", "Yucai"},
		{"文苑", "Wenyuan"}, {"翠湖", "Cuihu"}, {"华苑", "Huayuan"}, {"金桥", "Jinqiao"}, {"银河", "Yinhe"},
		{"红旗", "Hongqi"}, {"向阳", "Xiangyang"}, {"丽水", "Lishui"}, {"馨雅", "Xinya"}, {"怡景", "Yijing"},
		{"泰山", "Taishan"}, {"紫金", "Zijin"}, {"东兴", "Dongxing"}, {"西营", "Xiying"}, {"南楼", "Nanlou"},
		{"北苑", "Beiyuan"}, {"天香", "Tianxiang"}, {"柳荫", "Liuyin"}, {"桃李", "Taoli"}, {"梅江", "Meijiang"},
		{"永安", "Yong'an"}, {"长乐", "Changle"}, {"德胜", "Desheng"}, {"广厦", "Guangsha"}, {"绿洲", "Lüzhou"},
	}
	suffixes := [][2]string{
		{"里", "li"}, {"园", "yuan"}, {"新村", "xincun"}, {"花园", "huayuan"},
		{"家园", "jiayuan"}, {"东里", "dongli"}, {"西里", "xili"}, {"北里", "beili"},
	}
	var all [][2]string
	for _, s := range stems {
		for _, x := range suffixes {
			all = append(all, [2]string{s[0] + x[0], s[1] + x[1]})
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:n]
}
