package httpapi

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
)

// AreaSummary is an area without its boundary, as listed by the API.
type AreaSummary struct {
	Code     string     `json:"code"`
	Parent   string     `json:"parent"`
	Level    area.Level `json:"level"`
	NameZH   string     `json:"name_zh"`
	NameEN   string     `json:"name_en"`
	Centroid area.Point `json:"centroid"` // [lon, lat] inside the area, for labels
}

// AreaGeometry is a GeoJSON Polygon or MultiPolygon geometry object.
type AreaGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// AreaDetail is one area with its full boundary, its ancestors and its children.
type AreaDetail struct {
	AreaSummary
	Path     []AreaSummary `json:"path"`     // ancestors from the district down, without the area itself
	Children []AreaSummary `json:"children"` // direct children, by code
	Geometry AreaGeometry  `json:"geometry"`
}

// AreaLocation answers a point lookup: the containing area at each level, finest last.
type AreaLocation struct {
	Lon      float64       `json:"lon"`
	Lat      float64       `json:"lat"`
	Found    bool          `json:"found"`
	Location area.Location `json:"location"`
	Areas    []AreaSummary `json:"areas"` // district, street, community, grid that contain the point
}

// AreaImportResult reports an import of boundaries.
type AreaImportResult struct {
	Version     int64 `json:"version"`
	Districts   int   `json:"districts"`
	Streets     int   `json:"streets"`
	Communities int   `json:"communities"`
	Grids       int   `json:"grids"`
}

func areaSummary(a area.Area) AreaSummary {
	return AreaSummary{Code: a.Code, Parent: a.Parent, Level: a.Level, NameZH: a.NameZH, NameEN: a.NameEN, Centroid: a.Centroid}
}

func areaGeometry(b area.Boundary) AreaGeometry {
	if len(b) == 1 {
		return AreaGeometry{Type: "Polygon", Coordinates: b[0]}
	}
	return AreaGeometry{Type: "MultiPolygon", Coordinates: b}
}

// AreaRoutes serves the district model: listing, one area, the simplified GeoJSON layer
// for the map, point lookup, and (administrators) replacing the boundaries with an
// imported GeoJSON file. Areas are reference geography, not records about people, so
// they carry no governance Dataset.
func AreaRoutes(s *Server, svc *area.Service) []Route {
	h := areaHandlers{s: s, svc: svc}
	people := citybrain.Roles()
	levels := "district, street, community or grid (区/街道/社区/网格)"
	return []Route{
		{Method: "GET", Path: "/api/v1/areas", Tag: "district", Roles: people, Summary: "List areas (区/街道/社区/网格), by code, filtered by level and parent",
			Query:    map[string]string{"level": levels, "parent": "code of the parent area", "limit": "1–1000, default 100", "cursor": "next_cursor of the previous page"},
			Response: Page[AreaSummary]{}, Handle: h.list},
		{Method: "GET", Path: "/api/v1/areas/{code}", Tag: "district", Roles: people, Summary: "Get one area with its boundary, ancestors and children",
			Response: AreaDetail{}, Handle: h.get},
		// Public: the citizens' report page pins a location on this map without an account.
		{Method: "GET", Path: "/api/v1/areas/geojson", Tag: "district", Auth: AuthPublic, Raw: true,
			Summary: "The areas of one level as a simplified GeoJSON FeatureCollection for the map (public: the citizens' report page uses it)",
			Query:   map[string]string{"level": levels + "; default street", "full": "true for full-resolution boundaries"},
			Handle:  h.geojson},
		{Method: "GET", Path: "/api/v1/areas/locate", Tag: "district", Roles: people, Summary: "Which district, street, community and grid contain a point",
			Query:    map[string]string{"lon": "longitude in degrees (WGS 84)", "lat": "latitude in degrees (WGS 84)"},
			Response: AreaLocation{}, Handle: h.locate},
		{Method: "POST", Path: "/api/v1/areas/import", Tag: "district", Roles: []string{citybrain.RoleAdmin}, MaxBody: 64 << 20,
			Summary:  "Replace all areas with a GeoJSON FeatureCollection (validated; see citybrain import areas)",
			Response: AreaImportResult{}, Handle: h.importAreas},
	}
}

type areaHandlers struct {
	s   *Server
	svc *area.Service
}

func parseLevelParam(r *http.Request, def area.Level) (area.Level, error) {
	v := r.URL.Query().Get("level")
	if v == "" {
		return def, nil
	}
	l, ok := area.ParseLevel(v)
	if !ok {
		return "", citybrain.FieldError("level", "层级 %q 无效 / level %q is not valid; use district, street, community or grid", v, v)
	}
	return l, nil
}

func (h areaHandlers) list(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := PageParams(r)
	if err != nil {
		return err
	}
	level, err := parseLevelParam(r, "")
	if err != nil {
		return err
	}
	m := h.svc.Map()
	var src []area.Area
	if p := r.URL.Query().Get("parent"); p != "" {
		if _, ok := m.Get(p); !ok {
			return citybrain.Errorf(citybrain.ENOTFOUND, "上级区域 %s 不存在 / parent area %s not found", p, p)
		}
		src = m.Children(p)
	} else {
		src = m.All()
	}
	items := make([]AreaSummary, 0, min(limit, len(src)))
	sort.Slice(src, func(i, j int) bool { return src[i].Code < src[j].Code })
	next := ""
	for _, a := range src {
		if (level != "" && a.Level != level) || a.Code <= cursor {
			continue
		}
		if len(items) == limit {
			next = EncodeCursor(items[len(items)-1].Code)
			break
		}
		items = append(items, areaSummary(a))
	}
	return JSON(w, http.StatusOK, Page[AreaSummary]{Items: items, NextCursor: next})
}

func (h areaHandlers) get(w http.ResponseWriter, r *http.Request) error {
	code := r.PathValue("code")
	m := h.svc.Map()
	a, ok := m.Get(code)
	if !ok {
		return citybrain.Errorf(citybrain.ENOTFOUND, "区域 %s 不存在 / area %s not found", code, code)
	}
	d := AreaDetail{AreaSummary: areaSummary(a), Path: []AreaSummary{}, Children: []AreaSummary{}, Geometry: areaGeometry(a.Boundary)}
	path := m.Path(code)
	for _, p := range path[:len(path)-1] {
		d.Path = append(d.Path, areaSummary(p))
	}
	for _, c := range m.Children(code) {
		d.Children = append(d.Children, areaSummary(c))
	}
	return JSON(w, http.StatusOK, d)
}

func (h areaHandlers) geojson(w http.ResponseWriter, r *http.Request) error {
	level, err := parseLevelParam(r, area.LevelStreet)
	if err != nil {
		return err
	}
	full := false
	if v := r.URL.Query().Get("full"); v != "" {
		if full, err = strconv.ParseBool(v); err != nil {
			return citybrain.FieldError("full", "full 须为 true 或 false / full must be true or false, got %q", v)
		}
	}
	m := h.svc.Map()
	var body []byte
	if full {
		body = m.GeoJSON(level)
	} else {
		body = m.SimplifiedGeoJSON(level)
	}
	w.Header().Set("Content-Type", "application/geo+json; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func parseCoord(r *http.Request, name string, lim float64) (float64, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return 0, citybrain.FieldError(name, "缺少参数 %s / query parameter %s is required (degrees, WGS 84)", name, name)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < -lim || f > lim || f != f {
		return 0, citybrain.FieldError(name, "%s 须为 -%g 到 %g 之间的度数 / %s must be degrees between -%g and %g, got %q", name, lim, lim, name, lim, lim, v)
	}
	return f, nil
}

func (h areaHandlers) locate(w http.ResponseWriter, r *http.Request) error {
	lon, err := parseCoord(r, "lon", 180)
	if err != nil {
		return err
	}
	lat, err := parseCoord(r, "lat", 90)
	if err != nil {
		return err
	}
	m := h.svc.Map()
	loc, ok := m.Locate(lon, lat)
	res := AreaLocation{Lon: lon, Lat: lat, Found: ok, Location: loc, Areas: []AreaSummary{}}
	if ok {
		for _, a := range m.Path(loc.Code()) {
			res.Areas = append(res.Areas, areaSummary(a))
		}
	}
	return JSON(w, http.StatusOK, res)
}

func (h areaHandlers) importAreas(w http.ResponseWriter, r *http.Request) error {
	areas, err := area.ParseGeoJSON(r.Body)
	if err != nil {
		return err
	}
	source := "api"
	if a := citybrain.ActorFrom(r.Context()); a != nil {
		source = "api:" + a.Username
	}
	m, err := h.svc.Replace(r.Context(), areas, source)
	if err != nil {
		return err
	}
	return JSON(w, http.StatusOK, AreaImportResult{Version: h.svc.Version(), Districts: m.Count(area.LevelDistrict),
		Streets: m.Count(area.LevelStreet), Communities: m.Count(area.LevelCommunity), Grids: m.Count(area.LevelGrid)})
}
