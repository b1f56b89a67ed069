package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeviceImportExportCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	in := filepath.Join(dir, "devices.csv")
	if err := os.WriteFile(in, []byte("id,name,profile,area,lon,lat\nsm-1,烟感1,smoke_detector,g1,117.2,39.1\nsm-2,,smoke_detector,g1,,\nbad/id,,noise,g1,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets.csv")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"device", "import", in, "--data", data, "--secrets", secrets, "--quiet"}, nil, nil, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d (want 1: one bad row)\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "line 4 (bad/id)") || !strings.Contains(errb.String(), "2 created") {
		t.Fatalf("report:\n%s", errb.String())
	}
	f, _ := os.Open(secrets)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 3 || recs[1][0] != "sm-1" || len(recs[1][2]) != 43 {
		t.Fatalf("secrets %v %v", recs, err)
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"device", "export", "--data", data}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("export exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "sm-1,烟感1,smoke_detector,g1,117.2,39.1") || strings.Count(out.String(), "\n") != 3 {
		t.Fatalf("export:\n%s", out.String())
	}
	if code := run(context.Background(), []string{"device", "import", "--data", data}, nil, nil, &out, &errb); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
}
