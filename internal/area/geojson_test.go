package area

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
)

func TestGeoJSONRoundTrip(t *testing.T) {
	want := Demo()
	var buf bytes.Buffer
	if err := EncodeGeoJSON(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := ParseGeoJSON(&buf)
	if err != nil {
		t.Fatalf("ParseGeoJSON(EncodeGeoJSON(Demo())): %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the areas (%d in, %d out)", len(want), len(got))
	}
}

func TestMapGeoJSONLevels(t *testing.T) {
	m := demoMap(t)
	for _, l := range Levels() {
		t.Run(string(l), func(t *testing.T) {
			var fc struct {
				Type     string `json:"type"`
				Features []struct {
					Properties map[string]any `json:"properties"`
					Geometry   struct {
						Type string `json:"type"`
					} `json:"geometry"`
				} `json:"features"`
			}
			full, simp := m.GeoJSON(l), m.SimplifiedGeoJSON(l)
			if err := json.Unmarshal(simp, &fc); err != nil {
				t.Fatal(err)
			}
			if fc.Type != "FeatureCollection" || len(fc.Features) != m.Count(l) {
				t.Fatalf("type %q with %d features, want FeatureCollection with %d", fc.Type, len(fc.Features), m.Count(l))
			}
			for _, f := range fc.Features {
				for _, k := range []string{"code", "parent", "level", "name_zh", "name_en"} {
					if _, ok := f.Properties[k]; !ok {
						t.Fatalf("feature without property %s: %v", k, f.Properties)
					}
				}
				if f.Properties["level"] != string(l) {
					t.Fatalf("level %v in the %s layer", f.Properties["level"], l)
				}
			}
			if len(simp) >= len(full) {
				t.Errorf("simplified layer %d bytes, full %d: nothing simplified", len(simp), len(full))
			}
			areas, err := ParseGeoJSON(bytes.NewReader(simp))
			if l == LevelDistrict && err != nil {
				t.Errorf("simplified district layer does not parse: %v", err)
			}
			_ = areas
		})
	}
	if !bytes.Equal(m.SimplifiedGeoJSON(LevelStreet), m.SimplifiedGeoJSON(LevelStreet)) {
		t.Error("SimplifiedGeoJSON not stable")
	}
}

// fc builds a FeatureCollection from features given as property maps and geometries.
func fc(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
}

func feat(props, geom string) string {
	return `{"type":"Feature","properties":` + props + `,"geometry":` + geom + `}`
}

const (
	square10 = `{"type":"Polygon","coordinates":[[[117,39],[117.1,39],[117.1,39.1],[117,39.1],[117,39]]]}`
	westHalf = `{"type":"Polygon","coordinates":[[[117,39],[117.05,39],[117.05,39.1],[117,39.1],[117,39]]]}`
	eastHalf = `{"type":"Polygon","coordinates":[[[117.05,39],[117.1,39],[117.1,39.1],[117.05,39.1],[117.05,39]]]}`
	district = `{"code":"120199","level":"district","name_zh":"测试区","name_en":"Test District"}`
	streetW  = `{"code":"120199001","parent":"120199","level":"street","name_zh":"西街道"}`
	streetE  = `{"code":"120199002","parent":"120199","level":"街道","name_zh":"东街道","name_en":"East Street"}`
)

func TestParseGeoJSONValid(t *testing.T) {
	hole := `{"type":"MultiPolygon","coordinates":[[[[117,39],[117.05,39],[117.05,39.1],[117,39.1],[117,39]],[[117.01,39.01],[117.01,39.02],[117.02,39.02],[117.02,39.01],[117.01,39.01]]],[[[117.06,39],[117.1,39],[117.1,39.05],[117.06,39]]]]}`
	in := fc(feat(district, square10), feat(streetW, westHalf), feat(streetE, eastHalf),
		feat(`{"code":120199003,"parent":"120199","level":"street","name":"第三街道"}`, hole))
	// the third street overlaps the others; import checks containment, not sibling overlap
	areas, err := ParseGeoJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMap(areas)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.Get("120199001")
	if !ok || s.NameEN != "西街道" || s.Level != LevelStreet {
		t.Errorf("street W = %+v", s)
	}
	s3, _ := m.Get("120199003")
	if len(s3.Boundary) != 2 || len(s3.Boundary[0]) != 2 || s3.NameZH != "第三街道" {
		t.Errorf("multipolygon street = %+v", s3)
	}
	if ringSignedArea(s3.Boundary[0][1]) >= 0 {
		t.Error("hole not oriented clockwise")
	}
	if s3.Boundary.Contains(117.015, 39.015) {
		t.Error("a point in the hole is reported inside")
	}
	if loc, ok := m.Locate(117.07, 39.09); !ok || loc.Street != "120199002" || loc.District != "120199" {
		t.Errorf("Locate = %+v %v", loc, ok)
	}
}

func TestParseGeoJSONErrors(t *testing.T) {
	open := `{"type":"Polygon","coordinates":[[[117,39],[117.1,39],[117.1,39.1],[117,39.1]]]}`
	short := `{"type":"Polygon","coordinates":[[[117,39],[117.1,39],[117,39]]]}`
	bow := `{"type":"Polygon","coordinates":[[[117,39],[117.1,39.1],[117.1,39],[117,39.03],[117,39]]]}`
	badLat := `{"type":"Polygon","coordinates":[[[117,39],[117.1,39],[117.1,99],[117,39]]]}`
	swapped := `{"type":"Polygon","coordinates":[[[39,117],[39.1,117],[39.1,117.1],[39,117]]]}`
	outside := `{"type":"Polygon","coordinates":[[[117.05,39],[117.2,39],[117.2,39.1],[117.05,39.1],[117.05,39]]]}`
	tests := []struct {
		name  string
		in    string
		code  string
		field string
		want  []string // substrings of the message
	}{
		{"empty", ``, citybrain.EINVALID, "", []string{"empty"}},
		{"syntax", `{"type":`, citybrain.EINVALID, "", []string{"GeoJSON"}},
		{"not a collection", `{"type":"Feature"}`, citybrain.EINVALID, "type", []string{"FeatureCollection"}},
		{"array", `[1,2]`, citybrain.EINVALID, "", []string{"FeatureCollection"}},
		{"no features", fc(), citybrain.EINVALID, "features", []string{"at least one"}},
		{"open ring", fc(feat(district, open)), citybrain.EINVALID, "features[0].geometry", []string{"features[0]", "120199", "not closed", "repeat the first position"}},
		{"short ring", fc(feat(district, short)), citybrain.EINVALID, "features[0].geometry", []string{"120199", "at least 4"}},
		{"self-intersecting", fc(feat(district, bow)), citybrain.EINVALID, "features[0].geometry", []string{"120199", "intersects itself"}},
		{"latitude out of range", fc(feat(district, badLat)), citybrain.EINVALID, "features[0].geometry", []string{"latitude in -90..90"}},
		{"lat/lon swapped", fc(feat(district, swapped)), citybrain.EINVALID, "features[0].geometry", []string{"[lon, lat]"}},
		{"point geometry", fc(feat(district, `{"type":"Point","coordinates":[117,39]}`)), citybrain.EINVALID, "features[0].geometry", []string{"Point", "Polygon or MultiPolygon"}},
		{"no geometry", fc(`{"type":"Feature","properties":` + district + `}`), citybrain.EINVALID, "features[0].geometry", []string{"geometry is missing"}},
		{"no code", fc(feat(`{"level":"district","name_zh":"区"}`, square10)), citybrain.EINVALID, "features[0].properties.code", []string{"features[0]", "code"}},
		{"bad level", fc(feat(`{"code":"1","level":"city","name_zh":"市"}`, square10)), citybrain.EINVALID, "features[0].properties.level", []string{"city", "district, street, community or grid"}},
		{"no name", fc(feat(`{"code":"1","level":"district"}`, square10)), citybrain.EINVALID, "features[0].properties.name_zh", []string{"name_zh"}},
		{"duplicate code", fc(feat(district, square10), feat(district, square10)), citybrain.EINVALID, "features[1].properties.code", []string{"features[1]", "repeats features[0]", "unique"}},
		{"missing parent", fc(feat(district, square10), feat(`{"code":"120199001","parent":"999","level":"street","name_zh":"街"}`, westHalf)), citybrain.EINVALID, "features[1].properties.parent", []string{"features[1]", "120199001", `parent "999"`}},
		{"street without parent", fc(feat(streetW, westHalf)), citybrain.EINVALID, "features[0].properties.parent", []string{"120199001", "needs its parent"}},
		{"level skip", fc(feat(district, square10), feat(`{"code":"g1","parent":"120199","level":"grid","name_zh":"第1网格"}`, westHalf)), citybrain.EINVALID, "features[1].properties.level", []string{"g1", "is a grid but its parent 120199 is a district"}},
		{"child outside parent", fc(feat(district, square10), feat(streetW, outside)), citybrain.EINVALID, "features[1].geometry", []string{"features[1]", "120199001", "outside its parent 120199", "fix the boundary"}},
		{"feature not an object", fc(`7`), citybrain.EINVALID, "features[0]", []string{"features[0]", "not a valid Feature"}},
		{"several problems", fc(feat(district, open), feat(streetW, short)), citybrain.EINVALID, "features[0].geometry", []string{"features[0]", "features[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			areas, err := ParseGeoJSON(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, %d areas", len(areas))
			}
			var ce *citybrain.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *citybrain.Error", err, err)
			}
			if ce.Code != tc.code || ce.Field != tc.field {
				t.Errorf("code %q field %q, want %q %q (%v)", ce.Code, ce.Field, tc.code, tc.field, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ce.Message, w) {
					t.Errorf("message %q does not mention %q", ce.Message, w)
				}
			}
		})
	}
}

func FuzzParseGeoJSON(f *testing.F) {
	f.Add(fc(feat(district, square10), feat(streetW, westHalf), feat(streetE, eastHalf)))
	f.Add(fc(feat(district, `{"type":"MultiPolygon","coordinates":[[[[117,39],[117.05,39],[117.05,39.1],[117,39]]],[[[118,39],[118.05,39],[118.05,39.1],[118,39]]]]}`)))
	f.Add(fc(feat(district, `{"type":"Polygon","coordinates":[[[117,39],[117.1,39.1],[117.1,39],[117,39.1],[117,39]]]}`)))
	f.Add(fc(feat(`{"code":1,"level":"网格","parent":null,"name":"x"}`, `{"type":"Polygon","coordinates":[[[0,0,5],[1,0],[1,1],[0,0]]]}`)))
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature"}]}`)
	f.Add(`{"type":"FeatureCollection","features":null}`)
	f.Add(`not json`)
	var demo bytes.Buffer
	d := Demo()
	_ = EncodeGeoJSON(&demo, d[:1])
	f.Add(demo.String())
	f.Fuzz(func(t *testing.T, in string) {
		areas, err := ParseGeoJSON(strings.NewReader(in))
		if err != nil {
			if c := citybrain.ErrorCode(err); c != citybrain.EINVALID && c != citybrain.ETOOLARGE {
				t.Fatalf("error code %q for bad input: %v", c, err)
			}
			return
		}
		for _, a := range areas {
			if err := a.Boundary.Validate(); err != nil {
				t.Fatalf("accepted an invalid boundary for %s: %v", a.Code, err)
			}
		}
		if _, err := NewMap(areas); err != nil {
			t.Fatalf("accepted areas NewMap rejects: %v", err)
		}
		var buf bytes.Buffer
		if err := EncodeGeoJSON(&buf, areas); err != nil {
			t.Fatal(err)
		}
		again, err := ParseGeoJSON(&buf)
		if err != nil {
			t.Fatalf("re-parsing the encoded areas: %v", err)
		}
		if !reflect.DeepEqual(again, areas) {
			t.Fatal("encode/parse round trip changed the areas")
		}
	})
}
