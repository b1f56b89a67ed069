// Package rule owns alert rules over device telemetry, device events and device status:
// their definition and validation, their compilation into bounded expr programs, and
// their incremental evaluation with time windows (condition held for a duration,
// absence of activity, rate of change, windowed aggregates, device offline).
//
// The Engine is fed readings, events and status changes as they arrive (it never polls a
// database) and answers with Signals: transitions of a (rule, device) pair between
// inactive, pending and firing. Deadlines (For, absence, offline) are checked by Sweep,
// driven by the caller's clock. The Engine's window state can be snapshotted to bytes and
// restored after a restart. DryRun replays history through a rule. Service keeps a
// Repository of rules and the Engine in step and runs dry runs over a History. Scripted
// rule tests live in testdata/ (see testdata/README.md); ParseScript and RunScript run
// them, for TestScripts and for `citybrain rules test`.
//
// Concurrency: an Engine is safe for concurrent use; all its methods serialise on one
// mutex, so signals come out in the order inputs went in. A Service serialises rule
// changes. Rule values are plain data.
package rule

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Kind is what a rule watches.
type Kind string

// Rule kinds.
const (
	// KindCondition fires when an expression over the latest measurements holds (for For).
	KindCondition Kind = "condition"
	// KindRate is a condition that uses delta() or rate(): change of a measurement over a window.
	KindRate Kind = "rate"
	// KindWindow is a condition that uses avg(), min(), max(), sum() or count() over a window.
	KindWindow Kind = "window"
	// KindAbsence fires when none of the Activity events arrived, and none of the Activity
	// measurements reported a non-zero value, for For, counting only time inside DailyWindow
	// when one is set. With Group "household" the silence is that of the whole household.
	KindAbsence Kind = "absence"
	// KindOffline fires when the device has been offline for longer than For.
	KindOffline Kind = "offline"
	// KindEvent fires when one of the Activity event types arrives and resolves when one of
	// ClearEvents arrives (or an operator resolves it).
	KindEvent Kind = "event"
)

// Kinds lists the valid rule kinds.
func Kinds() []Kind {
	return []Kind{KindCondition, KindRate, KindWindow, KindAbsence, KindOffline, KindEvent}
}

// Severity grades an alert.
type Severity string

// Severities in increasing order.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 1, warning 2, critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Duration is a time.Duration that reads and writes as a Go duration string ("2m", "12h")
// in JSON and YAML; JSON numbers are taken as seconds.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration like time.Duration, without trailing zero units ("2m", "1h30m").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "时长格式错误 / invalid duration %s", string(b))
	}
	*d = Duration(time.Duration(f * float64(time.Second)))
	return nil
}

// UnmarshalYAML reads a duration string (yaml.v3 calls it through the Unmarshaler interface).
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a Go duration and also accepts a day suffix ("1d", "2d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, citybrain.Errorf(citybrain.EINVALID, "时长格式错误 / invalid duration %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, citybrain.Errorf(citybrain.EINVALID, "时长格式错误 / invalid duration %q", s)
	}
	return days + v, nil
}

// DailyWindow limits absence counting to a time of day, in the engine's time zone.
// Start and End are "HH:MM"; an End before Start crosses midnight.
type DailyWindow struct {
	Start string `json:"start" yaml:"start"`
	End   string `json:"end" yaml:"end"`
}

// minutes returns the window's bounds in minutes after midnight.
func (w DailyWindow) minutes() (start, end int, err error) {
	start, err = hhmm(w.Start)
	if err != nil {
		return 0, 0, err
	}
	end, err = hhmm(w.End)
	if err != nil {
		return 0, 0, err
	}
	if start == end {
		return 0, 0, fmt.Errorf("start equals end")
	}
	return start, end, nil
}

func hhmm(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// Rule is one alert rule. Profile names the device profile it applies to; AreaScope
// restricts it to devices whose area code starts with (or whose area path contains) one of
// the listed codes, empty meaning everywhere.
type Rule struct {
	ID          string   `json:"id" yaml:"id"`
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description,omitempty" yaml:"description"`
	Profile     string   `json:"profile" yaml:"profile"`
	AreaScope   []string `json:"area_scope,omitempty" yaml:"area_scope"`
	Kind        Kind     `json:"kind" yaml:"kind"`
	// Condition is an expr expression over the profile's measurement names, for example
	// `level_cm > 30` or `avg("pm25", "15m") > 75`. Used by condition, rate and window rules.
	Condition string `json:"condition,omitempty" yaml:"condition"`
	// For is how long the condition must hold before the alert fires; for absence rules how
	// long the device must stay silent, for offline rules how long it must stay offline.
	For      Duration `json:"for" yaml:"for"`
	Severity Severity `json:"severity" yaml:"severity"`
	Enabled  bool     `json:"enabled" yaml:"enabled"`
	// Activity lists, for absence rules, the event types and measurement names that count
	// as a sign of life; for event rules, the event types that fire the rule.
	Activity []string `json:"activity,omitempty" yaml:"activity"`
	// ClearEvents lists, for event rules, the event types that resolve the alert.
	ClearEvents []string `json:"clear_events,omitempty" yaml:"clear_events"`
	// DailyWindow, for absence rules, counts silence only inside this time of day.
	DailyWindow *DailyWindow `json:"daily_window,omitempty" yaml:"daily_window"`
	// Group, for absence rules, watches a group of devices as one entity: "household"
	// counts activity from every device of the household (a door and a motion sensor).
	Group string `json:"group,omitempty" yaml:"group"`
	// OpenWorkOrder asks for a work order of WorkOrderCategory when the alert fires.
	OpenWorkOrder     bool      `json:"open_work_order,omitempty" yaml:"open_work_order"`
	WorkOrderCategory string    `json:"work_order_category,omitempty" yaml:"work_order_category"`
	CreatedAt         time.Time `json:"created_at,omitzero" yaml:"-"`
	UpdatedAt         time.Time `json:"updated_at,omitzero" yaml:"-"`
}

// AnyProfile as a rule's Profile makes an offline rule, or a household absence rule,
// apply to devices of every profile.
const AnyProfile = "*"

// GroupHousehold groups an absence rule's devices by household.
const GroupHousehold = "household"

// ProfileInfo is what validation needs to know about a device profile.
type ProfileInfo struct {
	// Measurements are the numeric measurement names the profile reports.
	Measurements []string
	// Events are the event types the profile emits (empty: not checked).
	Events []string
	// AnyMeasurement is set for the generic profile, which accepts any measurement name.
	AnyMeasurement bool
}

// Catalog looks up a device profile by code; nil means profiles are not checked.
type Catalog func(profile string) (ProfileInfo, bool)

// Limits bound what a rule may contain.
const (
	MaxNameRunes      = 100
	MaxDescRunes      = 1000
	MaxConditionRunes = 1000
	MaxAreaScope      = 50
	MaxListItems      = 20
	MaxFor            = 30 * 24 * time.Hour
)

// Normalize fills defaults: kind condition, severity warning, trimmed strings.
func (r *Rule) Normalize() {
	r.ID = strings.TrimSpace(r.ID)
	r.Name = strings.TrimSpace(r.Name)
	r.Profile = strings.TrimSpace(r.Profile)
	r.Condition = strings.TrimSpace(r.Condition)
	if r.Kind == "" {
		r.Kind = KindCondition
	}
	if r.Severity == "" {
		r.Severity = SeverityWarning
	}
	var scope []string
	for _, s := range r.AreaScope {
		if s = strings.TrimSpace(s); s != "" {
			scope = append(scope, s)
		}
	}
	r.AreaScope = scope
}

// Validate checks a rule as it would be saved: required fields, limits, the kind's needs,
// and the condition compiled against the profile from catalog (nil catalog: any names).
// An invalid condition returns a *ConditionError pointing at the mistake.
func Validate(r Rule, catalog Catalog) error {
	_, err := compile(r, catalog)
	return err
}

// validateFields checks everything except the expression itself.
func validateFields(r Rule, catalog Catalog) (ProfileInfo, error) {
	var p ProfileInfo
	switch n := utf8.RuneCountInString(r.Name); {
	case n == 0:
		return p, citybrain.FieldError("name", "规则名称不能为空 / name is required")
	case n > MaxNameRunes:
		return p, citybrain.FieldError("name", "规则名称过长（最多 %d 字）/ name longer than %d characters", MaxNameRunes, MaxNameRunes)
	}
	if utf8.RuneCountInString(r.Description) > MaxDescRunes {
		return p, citybrain.FieldError("description", "描述过长（最多 %d 字）/ description longer than %d characters", MaxDescRunes, MaxDescRunes)
	}
	if r.Profile == "" {
		return p, citybrain.FieldError("profile", "必须指定设备类型 / profile is required")
	}
	switch r.Group {
	case "":
	case GroupHousehold:
		if r.Kind != KindAbsence {
			return p, citybrain.FieldError("group", "只有无活动规则可以按住户分组 / only absence rules can be grouped by household")
		}
	default:
		return p, citybrain.FieldError("group", "分组只能为空或 household / group must be empty or household")
	}
	if r.Profile == AnyProfile {
		if r.Kind != KindOffline && !(r.Kind == KindAbsence && r.Group == GroupHousehold) {
			return p, citybrain.FieldError("profile", "只有离线规则和按住户的无活动规则可以作用于所有设备类型（*）/ only offline rules and household absence rules may apply to every profile (*)")
		}
		p.AnyMeasurement = true
	} else if catalog != nil {
		info, ok := catalog(r.Profile)
		if !ok {
			return p, citybrain.FieldError("profile", "未知设备类型 %q / unknown profile %q", r.Profile, r.Profile)
		}
		p = info
	} else {
		p.AnyMeasurement = true
	}
	if len(r.AreaScope) > MaxAreaScope {
		return p, citybrain.FieldError("area_scope", "区域范围最多 %d 项 / at most %d area codes", MaxAreaScope, MaxAreaScope)
	}
	if r.Severity.Rank() == 0 {
		return p, citybrain.FieldError("severity", "级别须为 info、warning 或 critical / severity must be info, warning or critical, not %q", r.Severity)
	}
	if r.For < 0 || r.For.D() > MaxFor {
		return p, citybrain.FieldError("for", "持续时长须在 0 到 30 天之间 / for must be between 0 and 30 days")
	}
	if len(r.Activity) > MaxListItems || len(r.ClearEvents) > MaxListItems {
		return p, citybrain.FieldError("activity", "事件类型最多 %d 项 / at most %d event types", MaxListItems, MaxListItems)
	}
	if r.OpenWorkOrder && strings.TrimSpace(r.WorkOrderCategory) == "" {
		return p, citybrain.FieldError("work_order_category", "需要派单时必须指定工单类别 / a work-order category is required when open_work_order is set")
	}
	switch r.Kind {
	case KindCondition, KindRate, KindWindow:
		if r.Condition == "" {
			return p, citybrain.FieldError("condition", "必须填写条件表达式 / condition is required")
		}
		if utf8.RuneCountInString(r.Condition) > MaxConditionRunes {
			return p, citybrain.FieldError("condition", "条件表达式过长（最多 %d 字）/ condition longer than %d characters", MaxConditionRunes, MaxConditionRunes)
		}
	case KindAbsence:
		if len(r.Activity) == 0 {
			return p, citybrain.FieldError("activity", "无活动规则须列出表示活动的事件或测量量 / an absence rule needs activity event types or measurements")
		}
		if r.For <= 0 {
			return p, citybrain.FieldError("for", "无活动规则须指定时长 / an absence rule needs a duration in for")
		}
		if r.DailyWindow != nil {
			if _, _, err := r.DailyWindow.minutes(); err != nil {
				return p, citybrain.FieldError("daily_window", "每日时段格式应为 HH:MM / daily window must be HH:MM–HH:MM: %v", err)
			}
		}
		if err := checkNames(r.Activity, p, true, "activity"); err != nil {
			return p, err
		}
	case KindOffline:
		if r.For <= 0 {
			return p, citybrain.FieldError("for", "离线规则须指定时长 / an offline rule needs a duration in for")
		}
	case KindEvent:
		if len(r.Activity) == 0 {
			return p, citybrain.FieldError("activity", "事件规则须列出触发事件类型 / an event rule needs the event types that fire it")
		}
		if err := checkNames(r.Activity, p, false, "activity"); err != nil {
			return p, err
		}
		if err := checkNames(r.ClearEvents, p, false, "clear_events"); err != nil {
			return p, err
		}
	default:
		return p, citybrain.FieldError("kind", "未知规则类型 %q / unknown rule kind %q (condition, rate, window, absence, offline, event)", r.Kind, r.Kind)
	}
	if r.Kind != KindCondition && r.Kind != KindRate && r.Kind != KindWindow && r.Condition != "" {
		return p, citybrain.FieldError("condition", "%s 规则不使用条件表达式 / a %s rule takes no condition", r.Kind, r.Kind)
	}
	return p, nil
}

// checkNames rejects event types (and, when measurements is set, measurement names) the
// profile does not know. Profiles that list no events accept any event type.
func checkNames(names []string, p ProfileInfo, measurements bool, field string) error {
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return citybrain.FieldError(field, "事件类型不能为空 / empty event type")
		}
		if len(p.Events) == 0 || p.AnyMeasurement || contains(p.Events, n) {
			continue
		}
		if measurements && contains(p.Measurements, n) {
			continue
		}
		return citybrain.FieldError(field, "设备类型不支持 %q / the profile has no event or measurement %q", n, n)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
