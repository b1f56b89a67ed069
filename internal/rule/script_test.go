package rule_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/rule"
)

// TestScripts runs every rule test script in testdata/ (see testdata/README.md) through
// rule.RunScript, the runner `citybrain rules test` uses too.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("want at least 8 scripts in testdata, found %d", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			s, err := rule.LoadScript(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := rule.RunScript(s, rule.ScriptProfiles, alert.NewScriptAlerts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Checks) == 0 {
				t.Fatal("the script checks nothing")
			}
			for _, c := range res.Checks {
				if !c.OK {
					t.Errorf("%s\n  got: %s", c.Line, c.Got)
				}
			}
		})
	}
}

// TestScriptFailures proves the runner reports what breaks: a wrong expectation of each
// kind fails with what was found, a bad line is a parse error, a bad rule an error.
func TestScriptFailures(t *testing.T) {
	base := `
rules:
  - {id: wl-high, name: 积水, profile: waterlogging, condition: level_cm > 30, severity: critical}
devices:
  - {id: ws-1, profile: waterlogging, area: D1}
readings:
  - "ws-1 level_cm: 10 35 35 10"
`
	tests := []struct {
		name, expect string
		failed       int
		got          string
	}{
		{"all pass", "expect:\n  - \"at 1m: firing wl-high ws-1\"\n  - \"at 3m: none\"\n  - \"at 3m: alert wl-high ws-1 resolved\"\nalerts: 1\n", 0, ""},
		{"state missing", "expect:\n  - \"at 0m: firing wl-high ws-1\"\n", 1, "none"},
		{"unexpected state", "expect:\n  - \"at 2m: none\"\n", 1, "firing wl-high ws-1"},
		{"wrong alert status", "expect:\n  - \"at 2m: alert wl-high ws-1 resolved\"\n", 1, "firing"},
		{"wrong count", "alerts: 2\n", 1, "1: #1 wl-high ws-1 resolved"},
		{"action without alert", "actions:\n  - \"at 0m: ack wl-high ws-1\"\n", 1, "action failed: no open alert for wl-high ws-1"},
		{"between steps", "step: 2m\nexpect:\n  - \"at 1m: firing wl-high ws-1\"\n", 1, "the time falls between steps of 2m: set step"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := rule.ParseScript([]byte(base + tc.expect))
			if err != nil {
				t.Fatal(err)
			}
			res, err := rule.RunScript(s, rule.ScriptProfiles, alert.NewScriptAlerts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() != tc.failed {
				t.Fatalf("failed %d, want %d: %+v", res.Failed(), tc.failed, res.Checks)
			}
			for _, c := range res.Checks {
				if !c.OK && c.Got != tc.got {
					t.Errorf("got %q, want %q", c.Got, tc.got)
				}
			}
		})
	}
	for _, bad := range []string{
		"readings:\n  - \"ws-1 level_cm 10 20\"\n",
		"expect:\n  - \"at 1m: burning wl-high ws-1\"\n",
		"events:\n  - \"1m: ws-1 door_open\"\n",
		"readings:\n  - \"ws-1 level_cm: 10 abc\"\n",
	} {
		if _, err := rule.ParseScript([]byte("name: bad\n" + bad)); err == nil {
			t.Errorf("parse accepted %q", bad)
		}
	}
	s, err := rule.ParseScript([]byte(strings.Replace(base, "level_cm > 30", "levl > 30", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rule.RunScript(s, rule.ScriptProfiles, alert.NewScriptAlerts); err == nil || !strings.Contains(err.Error(), "wl-high") {
		t.Errorf("bad rule: %v", err)
	}
}
