package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesTestCommand(t *testing.T) {
	dir := t.TempDir()
	// a built-in profile (drain_level) and one wrong expectation
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`name: 积水 / level
rules:
  - {id: wl-high, name: 积水, profile: drain_level, condition: level_cm > 30, severity: critical}
devices:
  - {id: ws-1, profile: drain_level, area: D1}
readings:
  - "ws-1 level_cm: 10 35 35 10"
expect:
  - "at 1m: firing wl-high ws-1"
  - "at 3m: alert wl-high ws-1 firing"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("rules:\n  - {id: x, name: x, profile: drain_level, condition: levl > 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"shipped scripts pass", []string{"rules", "test", "-q", "--profiles", "examples", filepath.Join("..", "..", "internal", "rule", "testdata", "*.yaml")}, 0,
			[]string{"PASS ", " 0 failed, 0 scripts could not run"}},
		{"a failed expectation", []string{"rules", "test", bad}, 1,
			[]string{"FAIL " + bad, "  ok    at 1m: firing wl-high ws-1", "  FAIL  at 3m: alert wl-high ws-1 firing\n        got: resolved", "2 checks passed, 1 failed"}},
		{"a rule that does not compile", []string{"rules", "test", broken}, 1, []string{"ERROR " + broken, "levl", "1 scripts could not run"}},
		{"no file", []string{"rules", "test"}, 2, nil},
		{"unknown profile set", []string{"rules", "test", "--profiles", "nope", bad}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, nil, strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
