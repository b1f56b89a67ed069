package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/citybrain/citybrain/internal/area"
)

func TestSplitFileArg(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("data", "", "")
	fs.Bool("check", false, "")
	tests := []struct {
		args []string
		file string
		rest []string
	}{
		{nil, "", nil},
		{[]string{"a.geojson"}, "a.geojson", []string{}},
		{[]string{"a.geojson", "--data", "d"}, "a.geojson", []string{"--data", "d"}},
		{[]string{"--data", "d", "a.geojson"}, "a.geojson", []string{"--data", "d"}},
		{[]string{"--data", "data", "a.geojson"}, "a.geojson", []string{"--data", "data"}},
		{[]string{"--check", "--data", "check", "a.geojson"}, "a.geojson", []string{"--check", "--data", "check"}},
		{[]string{"--check", "a.geojson"}, "a.geojson", []string{"--check"}},
		{[]string{"--data=d", "a.geojson"}, "a.geojson", []string{"--data=d"}},
		{[]string{"--data", "d"}, "", []string{"--data", "d"}},
		{[]string{"--check"}, "", []string{"--check"}},
		{[]string{"-"}, "-", []string{}},
	}
	for _, tc := range tests {
		file, rest := splitFileArg(fs, tc.args)
		if file != tc.file || (len(rest) != 0 || len(tc.rest) != 0) && !reflect.DeepEqual(rest, tc.rest) {
			t.Errorf("splitFileArg(%q) = %q %q, want %q %q", tc.args, file, rest, tc.file, tc.rest)
		}
	}
}

// TestImportAreasCommand drives `citybrain import areas` end to end on a SQLite data
// dir: a template from --print-demo, --check, a bad file refused with the feature named,
// a good file stored, and a platform running on the same store reloading it.
func TestImportAreasCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"import", "areas"}, args...), nil, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, demoJSON, stderr := cmd("--print-demo")
	if code != 0 {
		t.Fatalf("--print-demo: %d %s", code, stderr)
	}
	demo := filepath.Join(dir, "demo.geojson")
	if err := os.WriteFile(demo, []byte(demoJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := cmd("--check", demo); code != 0 || !strings.Contains(out, "604") {
		t.Fatalf("--check demo: %d %q %s", code, out, stderr)
	}

	small := []area.Area{
		{Code: "130102", Level: area.LevelDistrict, NameZH: "测试区", NameEN: "Test District",
			Boundary: area.Boundary{area.Polygon{{{114.5, 38}, {114.6, 38}, {114.6, 38.1}, {114.5, 38.1}, {114.5, 38}}}}},
		{Code: "130102001", Parent: "130102", Level: area.LevelStreet, NameZH: "测试街道", NameEN: "Test Street",
			Boundary: area.Boundary{area.Polygon{{{114.5, 38}, {114.6, 38}, {114.6, 38.1}, {114.5, 38.1}, {114.5, 38}}}}},
		{Code: "130102002", Parent: "130102", Level: area.LevelStreet, NameZH: "越界街道", NameEN: "Outside Street",
			Boundary: area.Boundary{area.Polygon{{{114.6, 38}, {114.7, 38}, {114.7, 38.1}, {114.6, 38.1}, {114.6, 38}}}}},
	}
	var buf bytes.Buffer
	if err := area.EncodeGeoJSON(&buf, small); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad.geojson")
	if err := os.WriteFile(badFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = cmd("--data", data, badFile)
	if code != 1 || !strings.Contains(stderr, "features[2]") || !strings.Contains(stderr, "130102002") || !strings.Contains(stderr, "outside its parent") {
		t.Fatalf("bad file: exit %d, stderr %s", code, stderr)
	}
	if code, _, stderr := cmd("--data", data, filepath.Join(dir, "missing.geojson")); code != 1 || !strings.Contains(stderr, "cannot open") {
		t.Fatalf("missing file: exit %d, stderr %s", code, stderr)
	}
	if code, _, _ := cmd("--data", data); code != 2 {
		t.Fatalf("no file: exit %d, want 2", code)
	}

	// A platform running on the store (demo mode stores the synthetic district).
	cfg := &config{Data: data, HTTP: "127.0.0.1:0", MQTT: "off", MQTTTLSAddr: "127.0.0.1:0", LogLevel: "error", MaxPayload: 64 << 10,
		AdminPassword: "admin-password-1"}
	a, err := start(context.Background(), cfg, true, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if n := a.areaMap.Load().Count(area.LevelGrid); n != 604 {
		t.Fatalf("demo start: %d grids", n)
	}
	d, _ := a.areaMap.Load().Get(area.DemoDistrictCode)
	if loc, ok := a.areaMap.Locate(d.Centroid[0], d.Centroid[1]); !ok || loc.District != area.DemoDistrictCode {
		t.Fatalf("demo Locate: %+v %v", loc, ok)
	}

	goodFile := filepath.Join(dir, "good.geojson")
	buf.Reset()
	if err := area.EncodeGeoJSON(&buf, small[:2]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goodFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := cmd(goodFile, "--data", data)
	if code != 0 || !strings.Contains(out, "1 街道 streets") {
		t.Fatalf("import: exit %d out %q err %s", code, out, stderr)
	}
	changed, err := a.areas.Refresh(context.Background())
	if err != nil || !changed {
		t.Fatalf("running platform Refresh after import: %v %v", changed, err)
	}
	if loc, ok := a.areaMap.Locate(114.55, 38.05); !ok || loc.Street != "130102001" {
		t.Fatalf("after reload Locate: %+v %v", loc, ok)
	}
	if _, ok := a.areaMap.Load().Get(area.DemoDistrictCode); ok {
		t.Fatal("the demo district survived the import")
	}
}
