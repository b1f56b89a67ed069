package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/workorder"
	"github.com/xuri/excelize/v2"
)

// TestAssessExportCommand stores a quarter of orders for two streets, then runs
// `citybrain assess export`: it computes the period (nothing stored yet) and prints unit,
// score, grade and rank; --format xlsx --out writes a workbook; a bad period exits 2.
func TestAssessExportCommand(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	db, err := store.OpenSQLite(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	for i := 0; i < 50; i++ {
		street, late := "S-GOOD", 0
		if i%2 == 1 {
			street, late = "S-BAD", 60
		}
		c := time.Date(2026, 7, 1, 9, 0, 0, 0, cst).Add(time.Duration(i) * 36 * time.Hour)
		o := &workorder.Order{TrackingNo: "X" + time.Duration(i).String(), TokenHash: "tok" + time.Duration(i).String(), Source: "test", Category: "ROAD",
			Priority: workorder.PriorityNormal, State: workorder.StateClosed, Resolution: workorder.ResolutionFixed, Description: "d", Street: street,
			CreatedAt: c, UpdatedAt: c, Deadline: c.Add(48 * time.Hour), RespondedAt: c.Add(time.Duration(10+late) * time.Hour), ClosedAt: c.Add(time.Duration(12+late) * time.Hour)}
		if err := db.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"assess", "export", "--data", data, "--period", "2026-Q3", "--format", "csv"}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "unit,name,score,grade,rank,cases" {
		t.Fatalf("output %q (%v)", out.String(), err)
	}
	// S-GOOD answers everything on time: 100, A, first; S-BAD is late on every order.
	if rows[1][0] != "S-GOOD" || rows[1][2] != "100.00" || rows[1][3] != "A" || rows[1][4] != "1" || rows[2][0] != "S-BAD" || rows[2][4] != "2" {
		t.Errorf("ranking %q", rows)
	}
	xlsx := filepath.Join(t.TempDir(), "q3.xlsx")
	if code := run(ctx, []string{"assess", "export", "--data", data, "--period", "2026-Q3", "--format", "xlsx", "--out", xlsx}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("xlsx exit %d: %s", code, errb.String())
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetCellValue("考核结果", "B2"); v != "S-GOOD" {
		t.Errorf("xlsx B2 %q", v)
	}
	if code := run(ctx, []string{"assess", "export", "--data", data, "--period", "2026-Q7"}, nil, nil, &out, &errb); code != 2 {
		t.Errorf("bad period: exit %d", code)
	}
}
