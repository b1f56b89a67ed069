package workorder

import (
	"time"

	"github.com/citybrain/citybrain"
)

// Priority is a work order's urgency class; it selects the SLA together with the category.
type Priority string

// Priorities. Emergency means life or property at risk (feedback within 2 h by default);
// complex means the case needs coordination between units (15 working days by default).
const (
	PriorityEmergency Priority = "emergency" // 紧急
	PriorityUrgent    Priority = "urgent"    // 较急
	PriorityNormal    Priority = "normal"    // 一般
	PriorityComplex   Priority = "complex"   // 复杂
)

// ValidPriority reports whether p is a known priority.
func ValidPriority(p Priority) bool {
	switch p {
	case PriorityEmergency, PriorityUrgent, PriorityNormal, PriorityComplex:
		return true
	}
	return false
}

// SLA units: how an SLA amount is counted.
const (
	UnitWorkingHours  = "working_hours"  // office hours on working days
	UnitWorkingDays   = "working_days"   // multiples of one working day's office time
	UnitCalendarHours = "calendar_hours" // wall-clock hours, nights and holidays included
)

// SLARule sets the feedback deadline for orders matching Category, Subcategory and Priority;
// an empty field matches anything. The most specific matching rule wins: a priority match
// counts 4, a subcategory match 2 and a category match 1, ties go to the earlier rule.
type SLARule struct {
	Name        string   `json:"name"`
	Category    string   `json:"category,omitempty"`
	Subcategory string   `json:"subcategory,omitempty"`
	Priority    Priority `json:"priority,omitempty"`
	Amount      float64  `json:"amount"`
	Unit        string   `json:"unit"`
	// RemindAt is the fraction of the SLA after which a reminder (催办) is sent; 0 uses the
	// policy's default.
	RemindAt float64 `json:"remind_at,omitempty"`
}

// SLAPolicy is the configurable set of deadline rules.
type SLAPolicy struct {
	Rules []SLARule `json:"rules"`
	// RemindAt is the default fraction of the SLA at which 催办 is sent (0.8).
	RemindAt float64 `json:"remind_at"`
}

// DefaultSLAPolicy returns the defaults of the 12345 practice: emergencies feedback within
// 2 hours, water/drainage/heating and gas/streetlights within 24 hours, complex cases 15
// working days, everything else 7 working days; reminders at 80 %.
func DefaultSLAPolicy() SLAPolicy {
	return SLAPolicy{RemindAt: 0.8, Rules: []SLARule{
		{Name: "紧急 emergency", Priority: PriorityEmergency, Amount: 2, Unit: UnitCalendarHours},
		{Name: "供水 water supply", Category: "WATER_SUPPLY", Amount: 24, Unit: UnitCalendarHours},
		{Name: "排水 drainage", Category: "DRAINAGE", Amount: 24, Unit: UnitCalendarHours},
		{Name: "供热燃气 heating and gas", Category: "HEATING_GAS", Amount: 24, Unit: UnitCalendarHours},
		{Name: "路灯 street lighting", Category: "STREETLIGHT", Amount: 24, Unit: UnitCalendarHours},
		{Name: "较急 urgent", Priority: PriorityUrgent, Amount: 3, Unit: UnitWorkingDays},
		{Name: "复杂 complex", Priority: PriorityComplex, Amount: 15, Unit: UnitWorkingDays},
		{Name: "一般 general", Amount: 7, Unit: UnitWorkingDays},
	}}
}

// Validate checks the policy; a policy must have a catch-all rule so every order gets a deadline.
func (p SLAPolicy) Validate() error {
	if p.RemindAt < 0 || p.RemindAt >= 1 {
		return citybrain.FieldError("remind_at", "催办比例须在0到1之间 remind_at must be in [0,1)")
	}
	catchAll := false
	for i, r := range p.Rules {
		if r.Amount <= 0 {
			return citybrain.FieldError("rules", "第%d条时限须为正 rule %d: amount must be positive", i+1, i+1)
		}
		switch r.Unit {
		case UnitWorkingHours, UnitWorkingDays, UnitCalendarHours:
		default:
			return citybrain.FieldError("rules", "第%d条单位无效 rule %d: unit must be working_hours, working_days or calendar_hours", i+1, i+1)
		}
		if r.Priority != "" && !ValidPriority(r.Priority) {
			return citybrain.FieldError("rules", "第%d条优先级无效 rule %d: unknown priority %q", i+1, i+1, r.Priority)
		}
		if r.Subcategory != "" && r.Category == "" {
			return citybrain.FieldError("rules", "第%d条有小类须有大类 rule %d: subcategory needs a category", i+1, i+1)
		}
		if r.RemindAt < 0 || r.RemindAt >= 1 {
			return citybrain.FieldError("rules", "第%d条催办比例无效 rule %d: remind_at must be in [0,1)", i+1, i+1)
		}
		if r.Category == "" && r.Subcategory == "" && r.Priority == "" {
			catchAll = true
		}
	}
	if !catchAll {
		return citybrain.FieldError("rules", "缺少兜底规则 a rule without category and priority is required")
	}
	return nil
}

// Match returns the rule for an order.
func (p SLAPolicy) Match(category, subcategory string, prio Priority) (SLARule, bool) {
	best, bestScore := -1, -1
	for i, r := range p.Rules {
		score := 0
		if r.Priority != "" {
			if r.Priority != prio {
				continue
			}
			score += 4
		}
		if r.Category != "" {
			if r.Category != category {
				continue
			}
			score++
		}
		if r.Subcategory != "" {
			if r.Subcategory != subcategory {
				continue
			}
			score += 2
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return SLARule{}, false
	}
	return p.Rules[best], true
}

// Deadline returns the feedback deadline and the reminder instant for a rule counted from start.
func (p SLAPolicy) Deadline(cal *Calendar, start time.Time, r SLARule) (deadline, remind time.Time) {
	frac := r.RemindAt
	if frac == 0 {
		frac = p.RemindAt
	}
	if frac == 0 {
		frac = 0.8
	}
	switch r.Unit {
	case UnitCalendarHours:
		total := time.Duration(r.Amount * float64(time.Hour))
		return start.Add(total), start.Add(time.Duration(frac * float64(total)))
	case UnitWorkingHours:
		total := time.Duration(r.Amount * float64(time.Hour))
		return cal.AddWorkingTime(start, total), cal.AddWorkingTime(start, time.Duration(frac*float64(total)))
	default:
		total := time.Duration(r.Amount * float64(cal.DayLength()))
		return cal.AddWorkingTime(start, total), cal.AddWorkingTime(start, time.Duration(frac*float64(total)))
	}
}
