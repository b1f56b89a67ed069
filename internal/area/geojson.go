package area

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// ContainTolerance is how far (in degrees, about 0.1 m) a child's vertex may lie
// outside its parent's boundary before import rejects it: shared borders exported by
// GIS tools are rarely bit-identical.
const ContainTolerance = 1e-6

// Import limits: a district's boundaries are far below these.
const (
	maxImportFeatures  = 200_000
	maxImportPositions = 20_000_000
	maxCodeRunes       = 64
	maxNameRunes       = 100
)

// geoFeatureCollection and geoFeature are the GeoJSON shapes written by EncodeGeoJSON.
type geoFeatureCollection struct {
	Type     string       `json:"type"`
	Features []geoFeature `json:"features"`
}

type geoFeature struct {
	Type       string        `json:"type"`
	ID         string        `json:"id"`
	Properties geoProperties `json:"properties"`
	Geometry   geoGeometry   `json:"geometry"`
}

type geoProperties struct {
	Code     string `json:"code"`
	Parent   string `json:"parent"`
	Level    Level  `json:"level"`
	NameZH   string `json:"name_zh"`
	NameEN   string `json:"name_en"`
	Centroid Point  `json:"centroid"`
}

type geoGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// EncodeGeoJSON writes the areas as one GeoJSON FeatureCollection (RFC 7946): one
// Feature per area with properties code, parent, level, name_zh, name_en and centroid,
// and a Polygon or MultiPolygon geometry. ParseGeoJSON reads it back.
func EncodeGeoJSON(w io.Writer, areas []Area) error {
	fc := geoFeatureCollection{Type: "FeatureCollection", Features: make([]geoFeature, 0, len(areas))}
	for _, a := range areas {
		f := geoFeature{Type: "Feature", ID: a.Code, Properties: geoProperties{
			Code: a.Code, Parent: a.Parent, Level: a.Level, NameZH: a.NameZH, NameEN: a.NameEN, Centroid: a.Centroid}}
		switch {
		case len(a.Boundary) == 1:
			f.Geometry = geoGeometry{Type: "Polygon", Coordinates: a.Boundary[0]}
		case a.Boundary == nil:
			f.Geometry = geoGeometry{Type: "MultiPolygon", Coordinates: Boundary{}} // empty, not null
		default:
			f.Geometry = geoGeometry{Type: "MultiPolygon", Coordinates: a.Boundary}
		}
		fc.Features = append(fc.Features, f)
	}
	if err := json.NewEncoder(w).Encode(fc); err != nil {
		return fmt.Errorf("encode geojson: %w", err)
	}
	return nil
}

// GeoJSON returns the areas of one level (all areas when l is "") as a GeoJSON
// FeatureCollection with full-resolution boundaries.
func (m *Map) GeoJSON(l Level) []byte {
	var buf bytes.Buffer
	areas := m.All()
	if l != "" {
		areas = m.ByLevel(l)
	}
	_ = EncodeGeoJSON(&buf, areas) // cannot fail: only plain values, finite coordinates
	return buf.Bytes()
}

// SimplifiedGeoJSON returns the areas of one level as a GeoJSON FeatureCollection
// simplified with DefaultTolerance(l), for the UI. It is computed once per map and
// level; the returned bytes are shared, do not modify them. Unknown levels give an
// empty collection.
func (m *Map) SimplifiedGeoJSON(l Level) []byte {
	d := l.Depth()
	if d < 0 {
		return []byte(`{"type":"FeatureCollection","features":[]}` + "\n")
	}
	m.simplified[d].once.Do(func() {
		var buf bytes.Buffer
		_ = EncodeGeoJSON(&buf, Simplify(m.ByLevel(l), DefaultTolerance(l)))
		m.simplified[d].json = buf.Bytes()
	})
	return m.simplified[d].json
}

// Raw GeoJSON shapes for import. Properties are decoded one by one so a wrong type
// gets a message naming the property.
type rawFeatureCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

type rawFeature struct {
	Type       string                     `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// importProblems collects the problems found in an import, Chinese first.
type importProblems struct {
	field string // the field of the first problem
	list  []string
}

func (p *importProblems) add(field, zh, en string) {
	if len(p.list) == 0 {
		p.field = field
	}
	p.list = append(p.list, zh+" / "+en)
}

func (p *importProblems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	shown := p.list
	more := ""
	if len(shown) > 10 {
		more = fmt.Sprintf("\n……另有 %d 个问题 / ...and %d more problems", len(shown)-10, len(shown)-10)
		shown = shown[:10]
	}
	return citybrain.FieldError(p.field, "%s%s", strings.Join(shown, "\n"), more)
}

func featureName(i int, code string) (zh, en string) {
	if code == "" {
		return fmt.Sprintf("要素 features[%d]", i), fmt.Sprintf("feature features[%d]", i)
	}
	return fmt.Sprintf("要素 features[%d]（编码 %s）", i, code), fmt.Sprintf("feature features[%d] (code %s)", i, code)
}

// ParseGeoJSON reads real boundaries from a GeoJSON FeatureCollection and validates
// them. Each Feature needs properties code, level (district/street/community/grid or
// 区/街道/社区/网格), name_zh (or name), optional name_en (defaults to name_zh) and
// parent (required below district), and a Polygon or MultiPolygon geometry.
//
// It checks: closed rings of at least four positions with valid longitude/latitude,
// no self-intersections, unique codes, parents present and exactly one level up, and
// every vertex of a child inside its parent (within ContainTolerance). Consecutive
// duplicate positions are dropped and rings are re-oriented to RFC 7946 winding.
// The error is an EINVALID *citybrain.Error whose message names each bad feature by
// index and code and says what to fix (at most ten, then a count); ETOOLARGE when the
// input exceeds the import limits.
func ParseGeoJSON(r io.Reader) ([]Area, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var fc rawFeatureCollection
	if err := dec.Decode(&fc); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, citybrain.Errorf(citybrain.EINVALID, "GeoJSON 语法错误（第 %d 字节附近）：%v / GeoJSON syntax error near byte %d: %v", se.Offset, err, se.Offset, err)
		case errors.As(err, &te):
			return nil, citybrain.Errorf(citybrain.EINVALID, "GeoJSON 顶层须为 FeatureCollection 对象：%v / the top level must be a FeatureCollection object: %v", err, err)
		case errors.Is(err, io.EOF):
			return nil, citybrain.Errorf(citybrain.EINVALID, "文件为空 / the input is empty; give a GeoJSON FeatureCollection")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, citybrain.Errorf(citybrain.EINVALID, "GeoJSON 不完整（文件被截断？） / the GeoJSON ends too early (truncated file?)")
		}
		// A failing reader (I/O error, body over the size limit) is not a GeoJSON problem;
		// keep it wrapped so callers can tell.
		return nil, fmt.Errorf("read geojson: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, citybrain.FieldError("type", "顶层 type 为 %q，须为 \"FeatureCollection\" / the top-level type is %q; it must be \"FeatureCollection\"", fc.Type, fc.Type)
	}
	if len(fc.Features) == 0 {
		return nil, citybrain.FieldError("features", "features 为空，至少需要一个区 / features is empty; give at least one district")
	}
	if len(fc.Features) > maxImportFeatures {
		return nil, citybrain.Errorf(citybrain.ETOOLARGE, "要素过多：%d 个，上限 %d / too many features: %d, the limit is %d", len(fc.Features), maxImportFeatures, len(fc.Features), maxImportFeatures)
	}

	var probs importProblems
	areas := make([]Area, 0, len(fc.Features))
	index := make([]int, 0, len(fc.Features)) // feature index of each area
	positions := 0
	for i, raw := range fc.Features {
		a, n, ok := parseFeature(i, raw, &probs)
		positions += n
		if positions > maxImportPositions {
			return nil, citybrain.Errorf(citybrain.ETOOLARGE, "坐标点过多，上限 %d / too many positions; the limit is %d", maxImportPositions, maxImportPositions)
		}
		if ok {
			areas = append(areas, a)
			index = append(index, i)
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}

	byCode := make(map[string]int, len(areas))
	for k, a := range areas {
		if j, dup := byCode[a.Code]; dup {
			zh, en := featureName(index[k], a.Code)
			probs.add(fmt.Sprintf("features[%d].properties.code", index[k]),
				fmt.Sprintf("%s：编码与 features[%d] 重复，编码须唯一", zh, index[j]),
				fmt.Sprintf("%s: the code repeats features[%d]; codes must be unique", en, index[j]))
			continue
		}
		byCode[a.Code] = k
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	for k, a := range areas {
		zh, en := featureName(index[k], a.Code)
		field := fmt.Sprintf("features[%d].properties.parent", index[k])
		pk, ok := byCode[a.Parent]
		if !ok {
			if a.Level != LevelDistrict {
				probs.add(field,
					fmt.Sprintf("%s：上级编码 %q 不在文件中，%s须有上级%s", zh, a.Parent, a.Level.NameZH(), parentLevel(a.Level).NameZH()),
					fmt.Sprintf("%s: parent %q is not in the file; a %s needs its parent %s in the same file", en, a.Parent, a.Level, parentLevel(a.Level)))
			}
			continue
		}
		p := areas[pk]
		if p.Level.Depth() != a.Level.Depth()-1 {
			probs.add(fmt.Sprintf("features[%d].properties.level", index[k]),
				fmt.Sprintf("%s：层级为%s，但上级 %s 是%s；%s的上级须是%s", zh, a.Level.NameZH(), p.Code, p.Level.NameZH(), a.Level.NameZH(), parentLevel(a.Level).NameZH()),
				fmt.Sprintf("%s: it is a %s but its parent %s is a %s; a %s's parent must be a %s", en, a.Level, p.Code, p.Level, a.Level, parentLevel(a.Level)))
			continue
		}
		if pt, ri, ok := outsidePoint(a.Boundary, p.Boundary); ok {
			probs.add(fmt.Sprintf("features[%d].geometry", index[k]),
				fmt.Sprintf("%s：第%d个环的顶点 %v 在上级 %s 的边界之外；请修正边界或上级编码", zh, ri, pt, p.Code),
				fmt.Sprintf("%s: vertex %v of ring %d lies outside its parent %s; fix the boundary or the parent code", en, pt, ri, p.Code))
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return areas, nil
}

// parentLevel returns the level above l ("" for a district).
func parentLevel(l Level) Level {
	if d := l.Depth(); d > 0 {
		return Levels()[d-1]
	}
	return ""
}

// outsidePoint returns the first vertex of child outside parent and its ring number
// (counted over all polygons, from 1).
func outsidePoint(child, parent Boundary) (Point, int, bool) {
	minX, minY, maxX, maxY := parent.Bounds()
	ri := 0
	for _, poly := range child {
		for _, r := range poly {
			ri++
			for _, pt := range r {
				if pt[0] < minX-ContainTolerance || pt[0] > maxX+ContainTolerance ||
					pt[1] < minY-ContainTolerance || pt[1] > maxY+ContainTolerance ||
					!parent.ContainsWithin(pt, ContainTolerance) {
					return pt, ri, true
				}
			}
		}
	}
	return Point{}, 0, false
}

// parseFeature decodes and checks one feature on its own; it returns the number of
// positions read (for the import limit).
func parseFeature(i int, raw json.RawMessage, probs *importProblems) (Area, int, bool) {
	var f rawFeature
	base := fmt.Sprintf("features[%d]", i)
	if err := json.Unmarshal(raw, &f); err != nil {
		zh, en := featureName(i, "")
		probs.add(base, zh+"：不是有效的 Feature 对象", fmt.Sprintf("%s: not a valid Feature object: %v", en, err))
		return Area{}, 0, false
	}
	var a Area
	var bad []string // property problems: zh, en pairs
	prop := func(name string) (string, bool, error) {
		v, ok := f.Properties[name]
		if !ok || string(v) == "null" {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return strings.TrimSpace(s), true, nil
		}
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		if err := d.Decode(&n); err == nil {
			if _, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
				return n.String(), true, nil
			}
		}
		return "", true, fmt.Errorf("must be a string")
	}
	code, _, err := prop("code")
	a.Code = code
	zh, en := featureName(i, code)
	fail := func(field, z, e string, args ...any) {
		bad = append(bad, field, fmt.Sprintf(z, args...), fmt.Sprintf(e, args...))
	}
	if f.Type != "Feature" {
		fail(base+".type", "type 为 %q，须为 \"Feature\"", "type is %q; it must be \"Feature\"", f.Type)
	}
	switch {
	case err != nil:
		fail(base+".properties.code", "属性 code 须为字符串或非负整数", "property code must be a string or a non-negative integer")
	case code == "":
		fail(base+".properties.code", "缺少属性 code（区域编码）", "property code (the area code) is missing")
	case utf8.RuneCountInString(code) > maxCodeRunes || strings.ContainsAny(code, " \t\r\n/?#"):
		fail(base+".properties.code", "编码 %q 过长或含空白、/、?、#", "code %q is longer than %d characters or contains whitespace, /, ? or #", code, maxCodeRunes)
	}
	if p, _, err := prop("parent"); err != nil {
		fail(base+".properties.parent", "属性 parent 须为字符串", "property parent must be a string")
	} else {
		a.Parent = p
	}
	lv, has, err := prop("level")
	if l, ok := ParseLevel(lv); ok && err == nil {
		a.Level = l
	} else if !has {
		fail(base+".properties.level", "缺少属性 level", "property level is missing; use district, street, community or grid")
	} else {
		fail(base+".properties.level", "层级 %q 无效，须为 district/street/community/grid 或 区/街道/社区/网格", "level %q is not valid; use district, street, community or grid", lv)
	}
	name, _, err := prop("name_zh")
	if name == "" && err == nil {
		name, _, err = prop("name")
	}
	switch {
	case err != nil || name == "":
		fail(base+".properties.name_zh", "缺少中文名称 name_zh", "the Chinese name name_zh is missing")
	case utf8.RuneCountInString(name) > maxNameRunes:
		fail(base+".properties.name_zh", "名称超过 %d 个字", "name_zh is longer than %d characters", maxNameRunes)
	}
	a.NameZH = name
	if nen, _, err := prop("name_en"); err != nil || utf8.RuneCountInString(nen) > maxNameRunes {
		fail(base+".properties.name_en", "name_en 须为不超过 %d 字的字符串", "name_en must be a string of at most %d characters", maxNameRunes)
	} else if nen != "" {
		a.NameEN = nen
	} else {
		a.NameEN = name
	}
	if a.Level == LevelDistrict && a.Parent == a.Code && a.Code != "" {
		a.Parent = ""
	}
	if a.Parent == a.Code && a.Code != "" {
		fail(base+".properties.parent", "上级不能是自身", "parent is the feature itself; give the code of the area one level up")
	}

	positions := 0
	if f.Geometry == nil {
		fail(base+".geometry", "缺少 geometry，须为 Polygon 或 MultiPolygon", "geometry is missing; give a Polygon or MultiPolygon")
	} else {
		b, n, gz, ge := parseGeometry(f.Geometry.Type, f.Geometry.Coordinates)
		positions = n
		if gz != "" {
			bad = append(bad, base+".geometry", gz, ge)
		} else {
			a.Boundary = b
		}
	}
	for k := 0; k+2 < len(bad); k += 3 {
		probs.add(bad[k], zh+"："+bad[k+1], en+": "+bad[k+2])
	}
	if len(bad) > 0 {
		return Area{}, positions, false
	}
	a.Centroid = LabelPoint(a.Boundary)
	return a, positions, true
}

// parseGeometry decodes Polygon or MultiPolygon coordinates, drops consecutive
// duplicate positions, orients rings (exterior counter-clockwise, holes clockwise) and
// validates the result. On failure it returns the problem in Chinese and English.
func parseGeometry(typ string, coords json.RawMessage) (b Boundary, positions int, zh, en string) {
	var polys [][][][]float64
	switch typ {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(coords, &p); err != nil {
			return nil, 0, "Polygon 的 coordinates 须为环的数组，每个环为 [经度,纬度] 数组", "Polygon coordinates must be an array of rings, each an array of [lon, lat] positions"
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(coords, &polys); err != nil {
			return nil, 0, "MultiPolygon 的 coordinates 须为多边形的数组", "MultiPolygon coordinates must be an array of polygons, each an array of rings of [lon, lat] positions"
		}
	default:
		return nil, 0, fmt.Sprintf("几何类型 %q 不支持，须为 Polygon 或 MultiPolygon", typ),
			fmt.Sprintf("geometry type %q is not supported; use Polygon or MultiPolygon", typ)
	}
	if len(polys) == 0 {
		return nil, 0, "coordinates 为空", "coordinates are empty; give at least one polygon"
	}
	b = make(Boundary, 0, len(polys))
	for pi, p := range polys {
		if len(p) == 0 {
			return nil, positions, fmt.Sprintf("第%d个多边形没有环", pi+1), fmt.Sprintf("polygon %d has no rings", pi+1)
		}
		poly := make(Polygon, 0, len(p))
		for ri, r := range p {
			positions += len(r)
			if len(r) < 4 {
				return nil, positions, fmt.Sprintf("第%d个多边形第%d个环只有%d个坐标，闭合环至少需要4个（末尾重复首坐标）", pi+1, ri+1, len(r)),
					fmt.Sprintf("polygon %d ring %d has %d positions; a closed ring needs at least 4 (the last repeating the first)", pi+1, ri+1, len(r))
			}
			ring := make([]Point, 0, len(r))
			for k, pos := range r {
				if len(pos) < 2 {
					return nil, positions, fmt.Sprintf("第%d个多边形第%d个环的第%d个坐标须为 [经度,纬度]", pi+1, ri+1, k+1),
						fmt.Sprintf("polygon %d ring %d position %d must be [lon, lat]", pi+1, ri+1, k+1)
				}
				pt := Point{pos[0], pos[1]}
				if len(ring) > 0 && ring[len(ring)-1] == pt {
					continue
				}
				ring = append(ring, pt)
			}
			if len(ring) >= 2 && ring[0] != ring[len(ring)-1] {
				first, last := r[0], r[len(r)-1]
				return nil, positions, fmt.Sprintf("第%d个多边形第%d个环未闭合：首坐标 %v 与末坐标 %v 不同，请在末尾重复首坐标", pi+1, ri+1, first, last),
					fmt.Sprintf("polygon %d ring %d is not closed: the first position %v differs from the last %v; repeat the first position at the end", pi+1, ri+1, first, last)
			}
			a := ringSignedArea(ring)
			if (ri == 0 && a < 0) || (ri > 0 && a > 0) {
				for x, y := 0, len(ring)-1; x < y; x, y = x+1, y-1 {
					ring[x], ring[y] = ring[y], ring[x]
				}
			}
			poly = append(poly, ring)
		}
		b = append(b, poly)
	}
	if err := b.Validate(); err != nil {
		var g *GeometryError
		if errors.As(err, &g) {
			return nil, positions, g.whereZH() + g.ZH, g.whereEN() + g.EN
		}
		return nil, positions, err.Error(), err.Error()
	}
	return b, positions, "", ""
}
