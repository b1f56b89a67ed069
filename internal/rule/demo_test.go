package rule_test

import (
	"testing"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/rule"
)

// DeviceCatalog builds the rule catalog from the device profiles, as the wiring does.
func deviceCatalog(t *testing.T) rule.Catalog {
	ps, err := device.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	return func(code string) (rule.ProfileInfo, bool) {
		p := ps.Get(code)
		if p == nil {
			return rule.ProfileInfo{}, false
		}
		info := rule.ProfileInfo{AnyMeasurement: p.Generic}
		for _, m := range p.Measurements {
			info.Measurements = append(info.Measurements, m.Key)
		}
		info.Measurements = append(info.Measurements, device.KeyBattery, device.KeyRSSI, device.KeySignal)
		for _, e := range p.Events {
			info.Events = append(info.Events, e.Code)
		}
		return info, true
	}
}

// The demo rules are valid against the built-in device profiles.
func TestDemoRulesValid(t *testing.T) {
	catalog := deviceCatalog(t)
	seen := map[string]bool{}
	for _, r := range rule.DemoRules() {
		if err := rule.Validate(r, catalog); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
	}
	// and a misspelt measurement against the real catalog is refused
	bad := rule.DemoRules()[0]
	bad.Condition = "level > 30"
	if err := rule.Validate(bad, catalog); err == nil {
		t.Error("unknown measurement accepted")
	}
}
