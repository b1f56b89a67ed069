package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
)

// TestShippedDataIsGenerated fails when data/reports.jsonl is not what the generator writes
// with its defaults, so the templates and the shipped data cannot drift apart. Regenerate
// with: go run ./internal/triage/gen
func TestShippedDataIsGenerated(t *testing.T) {
	lines, err := generate(12345, 320, 80)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	shipped, err := os.ReadFile("../data/reports.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), shipped) {
		t.Fatal("internal/triage/data/reports.jsonl is stale: run go run ./internal/triage/gen")
	}
}

func TestExpand(t *testing.T) {
	e := &expander{r: rand.New(rand.NewPCG(1, 2)), slots: map[string][]string{"x": {"甲"}}}
	for _, tc := range []struct{ in, want string }{
		{"a{x}b", "a甲b"},
		{"[只有]", "只有"},
		{"[[内]]", "内"},
	} {
		if got := e.expand(tc.in); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := splitTop("a|[b|c]|{d}"); len(got) != 3 || got[1] != "[b|c]" {
		t.Errorf("splitTop = %q", got)
	}
}
