package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/citybrain/citybrain/internal/alert"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/rule"
)

// cmdRulesTest runs scripted rule tests (the format of internal/rule/testdata/README.md)
// through the real rule engine and alert state machine, without a server or database.
func cmdRulesTest(_ context.Context, c *cli) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	quiet := fs.Bool("q", false, "print only failures and the summary")
	profiles := fs.String("profiles", "builtin", "profiles rules are checked against: builtin (the platform's device profiles, then the examples') or examples (only the example profiles of internal/rule/testdata)")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: citybrain rules test [flags] FILE...

规则测试：runs rule test scripts — rules, devices, readings, events, status changes and
operator actions at given times, then what must be pending or firing and which alerts
must exist — through the same rule engine and alert state machine as the server. No
server and no database are needed. docs/rules.md describes the format; examples are in
internal/rule/testdata/*.yaml.

Each expectation prints "ok" or "FAIL" with what was found instead. Rules are checked
against the platform's built-in device profiles (drain_level, air_quality,
smoke_detector, ...), as the server would check them, and names it does not know
against the example profiles of the shipped scripts (waterlogging, door_sensor,
motion_sensor, gas, generic). The shipped scripts use the example profiles only:
run them with --profiles examples.

Exit status: 0 when every expectation holds, 1 when one fails or a script cannot run,
2 for a usage mistake.

Example:
  citybrain rules test my-rules/*.yaml
  citybrain rules test --profiles examples internal/rule/testdata/*.yaml

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, msg: "citybrain rules test: " + err.Error()}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{code: 2, msg: "citybrain rules test: name at least one script file"}
	}
	builtin, err := device.BuiltinProfiles()
	if err != nil {
		return err
	}
	platform := deviceCatalog(builtin)
	catalog := func(code string) (rule.ProfileInfo, bool) {
		if p, ok := platform(code); ok {
			return p, true
		}
		return rule.ScriptProfiles(code)
	}
	switch *profiles {
	case "builtin":
	case "examples":
		catalog = rule.ScriptProfiles
	default:
		return &exitError{code: 2, msg: fmt.Sprintf("citybrain rules test: --profiles must be builtin or examples, not %q", *profiles)}
	}
	var files []string
	for _, arg := range fs.Args() {
		m, err := filepath.Glob(arg) // for shells that do not expand patterns
		if err != nil || len(m) == 0 {
			m = []string{arg}
		}
		files = append(files, m...)
	}
	var passed, failed, broken int
	for _, f := range files {
		s, err := rule.LoadScript(f)
		var res *rule.ScriptResult
		if err == nil {
			res, err = rule.RunScript(s, catalog, alert.NewScriptAlerts)
		}
		if err != nil {
			broken++
			fmt.Fprintf(c.stdout, "ERROR %s\n      %v\n", f, indent(err.Error()))
			continue
		}
		n := res.Failed()
		status := "PASS"
		if n > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(c.stdout, "%s %s — %s (%d checks, %d failed)\n", status, f, res.Name, len(res.Checks), n)
		for _, ck := range res.Checks {
			if ck.OK {
				passed++
				if !*quiet {
					fmt.Fprintf(c.stdout, "  ok    %s\n", ck.Line)
				}
				continue
			}
			failed++
			fmt.Fprintf(c.stdout, "  FAIL  %s\n        got: %s\n", ck.Line, ck.Got)
		}
	}
	fmt.Fprintf(c.stdout, "%d scripts: %d checks passed, %d failed, %d scripts could not run\n", len(files), passed, failed, broken)
	if failed > 0 || broken > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// indent continues a multi-line message under its first line.
func indent(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, r)
		if r == '\n' {
			out = append(out, []rune("      ")...)
		}
	}
	return string(out)
}
