package org

import "testing"

func TestSeed(t *testing.T) {
	ds, err := Departments()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 15 {
		t.Fatalf("want 15 departments, got %d", len(ds))
	}
	found := false
	for _, d := range ds {
		if d.Code == "WATER" && d.NameZH == "区水务局" {
			found = true
		}
	}
	if !found {
		t.Fatal("WATER missing")
	}
	if _, err := ParseTSV("nope"); err == nil {
		t.Fatal("want error for missing header")
	}
}
