package workorder

import (
	"testing"
	"time"
)

func TestSLAMatchAndDeadline(t *testing.T) {
	cal := defaultCalendar(t)
	p := DefaultSLAPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	start := shanghai(t, cal, "2026-03-02 10:00") // Monday
	tests := []struct {
		cat      string
		prio     Priority
		rule     string
		deadline string
		remind   string
	}{
		{"DRAINAGE", PriorityNormal, "排水 drainage", "2026-03-03 10:00", "2026-03-03 05:12"},
		{"DRAINAGE", PriorityEmergency, "紧急 emergency", "2026-03-02 12:00", "2026-03-02 11:36"},
		{"ROAD", PriorityEmergency, "紧急 emergency", "2026-03-02 12:00", "2026-03-02 11:36"},
		{"STREETLIGHT", PriorityNormal, "路灯 street lighting", "2026-03-03 10:00", "2026-03-03 05:12"},
		{"ROAD", PriorityNormal, "一般 general", "2026-03-11 10:00", "2026-03-09 15:42"},
		{"ROAD", PriorityComplex, "复杂 complex", "2026-03-23 10:00", "2026-03-18 10:00"},
	}
	for _, tc := range tests {
		t.Run(tc.cat+"/"+string(tc.prio), func(t *testing.T) {
			r, ok := p.Match(tc.cat, "", tc.prio)
			if !ok || r.Name != tc.rule {
				t.Fatalf("Match = %q, want %q", r.Name, tc.rule)
			}
			d, rem := p.Deadline(cal, start, r)
			if want := shanghai(t, cal, tc.deadline); !d.Equal(want) {
				t.Errorf("deadline %s, want %s", d.In(cal.Location()).Format("2006-01-02 15:04"), tc.deadline)
			}
			if want := shanghai(t, cal, tc.remind); !rem.Equal(want) {
				t.Errorf("remind %s, want %s", rem.In(cal.Location()).Format("2006-01-02 15:04"), tc.remind)
			}
		})
	}
	// A subcategory rule beats its category's rule; working hours are counted in office time.
	p.Rules = append([]SLARule{{Name: "井盖", Category: "ROAD", Subcategory: "ROAD.MANHOLE", Amount: 4, Unit: UnitWorkingHours}}, p.Rules...)
	r, _ := p.Match("ROAD", "ROAD.MANHOLE", PriorityNormal)
	if r.Name != "井盖" {
		t.Fatalf("subcategory rule not chosen: %q", r.Name)
	}
	d, _ := p.Deadline(cal, shanghai(t, cal, "2026-03-02 16:00"), r)
	if want := shanghai(t, cal, "2026-03-03 11:30"); !d.Equal(want) {
		t.Errorf("working-hours deadline %s, want %s", d, want)
	}
}

func TestSLAValidate(t *testing.T) {
	tests := []struct {
		name string
		p    SLAPolicy
	}{
		{"no catch-all", SLAPolicy{RemindAt: 0.8, Rules: []SLARule{{Category: "ROAD", Amount: 1, Unit: UnitWorkingDays}}}},
		{"zero amount", SLAPolicy{RemindAt: 0.8, Rules: []SLARule{{Amount: 0, Unit: UnitWorkingDays}}}},
		{"bad unit", SLAPolicy{RemindAt: 0.8, Rules: []SLARule{{Amount: 1, Unit: "weeks"}}}},
		{"bad remind", SLAPolicy{RemindAt: 1.5, Rules: []SLARule{{Amount: 1, Unit: UnitWorkingDays}}}},
		{"sub without cat", SLAPolicy{RemindAt: 0.8, Rules: []SLARule{{Amount: 1, Unit: UnitWorkingDays}, {Subcategory: "X", Amount: 1, Unit: UnitWorkingDays}}}},
		{"bad priority", SLAPolicy{RemindAt: 0.8, Rules: []SLARule{{Amount: 1, Unit: UnitWorkingDays}, {Priority: "asap", Amount: 1, Unit: UnitWorkingDays}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err == nil {
				t.Error("Validate accepted an invalid policy")
			}
		})
	}
	_ = time.Second
}
