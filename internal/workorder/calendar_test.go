package workorder

import (
	"testing"
	"time"
)

func shanghai(t *testing.T, cal *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, cal.Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func defaultCalendar(t *testing.T) *Calendar {
	t.Helper()
	cc, err := DefaultCalendarConfig()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := NewCalendar(cc)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func TestCalendar2026(t *testing.T) {
	cal := defaultCalendar(t)
	tests := []struct {
		day  string
		work bool
	}{
		{"2026-01-01", false}, {"2026-01-02", false}, {"2026-01-04", true}, // 元旦, make-up Sunday
		{"2026-02-13", true}, {"2026-02-14", true}, {"2026-02-15", false}, {"2026-02-16", false},
		{"2026-02-20", false}, {"2026-02-23", false}, {"2026-02-24", true}, {"2026-02-28", true}, // 春节
		{"2026-03-01", false},                       // ordinary Sunday
		{"2026-04-06", false}, {"2026-04-07", true}, // 清明
		{"2026-05-01", false}, {"2026-05-05", false}, {"2026-05-06", true}, {"2026-05-09", true}, // 劳动节
		{"2026-06-19", false}, {"2026-09-25", false}, {"2026-09-20", true}, // 端午, 中秋, 国庆 make-up
		{"2026-10-01", false}, {"2026-10-07", false}, {"2026-10-08", true}, {"2026-10-10", true}, {"2026-10-11", false},
		{"2027-02-08", false}, {"2027-02-09", true}, // provisional 2027
		{"2028-03-01", true}, {"2028-03-04", false}, // no data: weekdays only
	}
	for _, tc := range tests {
		t.Run(tc.day, func(t *testing.T) {
			if got := cal.IsWorkday(shanghai(t, cal, tc.day+" 10:00")); got != tc.work {
				t.Errorf("IsWorkday(%s) = %v, want %v", tc.day, got, tc.work)
			}
		})
	}
	if p := cal.Provisional(); len(p) != 1 || p[0] != "2027" {
		t.Errorf("Provisional() = %v, want [2027]", p)
	}
	if cal.DayLength() != 7*time.Hour {
		t.Errorf("DayLength = %v, want 7h", cal.DayLength())
	}
}

func TestAddWorkingTime(t *testing.T) {
	cal := defaultCalendar(t)
	tests := []struct {
		start string
		d     time.Duration
		want  string
	}{
		{"2026-03-02 10:00", time.Hour, "2026-03-02 11:00"},
		{"2026-03-02 11:30", time.Hour, "2026-03-02 14:00"},         // lunch break
		{"2026-03-02 07:00", time.Hour, "2026-03-02 10:00"},         // before office hours
		{"2026-03-02 17:00", time.Hour, "2026-03-03 09:30"},         // overnight
		{"2026-03-06 17:00", time.Hour, "2026-03-09 09:30"},         // Friday → Monday
		{"2026-02-13 17:00", time.Hour, "2026-02-14 09:30"},         // make-up Saturday works
		{"2026-02-14 17:00", time.Hour, "2026-02-24 09:30"},         // over 春节
		{"2026-03-02 10:00", 7 * 7 * time.Hour, "2026-03-11 10:00"}, // 7 working days
		{"2026-09-30 10:00", 7 * time.Hour, "2026-10-08 10:00"},     // over 国庆
		{"2026-03-02 10:00", 0, "2026-03-02 10:00"},
		{"2026-03-02 12:00", 3 * time.Hour, "2026-03-02 16:30"}, // exactly at a span end
	}
	for _, tc := range tests {
		t.Run(tc.start, func(t *testing.T) {
			got := cal.AddWorkingTime(shanghai(t, cal, tc.start), tc.d)
			want := shanghai(t, cal, tc.want)
			if !got.Equal(want) {
				t.Errorf("AddWorkingTime(%s, %v) = %s, want %s", tc.start, tc.d, got.Format("2006-01-02 15:04"), tc.want)
			}
		})
	}
	if got, want := cal.AddWorkingDays(shanghai(t, cal, "2026-03-02 10:00"), 7), shanghai(t, cal, "2026-03-11 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays = %s, want %s", got, want)
	}
}

func TestCalendarValidation(t *testing.T) {
	good, _ := DefaultCalendarConfig()
	tests := []struct {
		name string
		mod  func(c *CalendarConfig)
	}{
		{"no office hours", func(c *CalendarConfig) { c.OfficeHours = nil }},
		{"reversed span", func(c *CalendarConfig) { c.OfficeHours = [][2]string{{"12:00", "09:00"}} }},
		{"overlap", func(c *CalendarConfig) { c.OfficeHours = [][2]string{{"09:00", "12:00"}, {"11:00", "13:00"}} }},
		{"bad time", func(c *CalendarConfig) { c.OfficeHours = [][2]string{{"9", "12:00"}} }},
		{"bad zone", func(c *CalendarConfig) { c.Timezone = "Mars/Olympus" }},
		{"bad year", func(c *CalendarConfig) { c.Years = map[string]YearSchedule{"x": {}} }},
		{"bad holiday", func(c *CalendarConfig) {
			c.Years = map[string]YearSchedule{"2026": {Holidays: []HolidaySpan{{Name: "x", From: "2026-02-10", To: "2026-02-01"}}}}
		}},
		{"bad workday", func(c *CalendarConfig) { c.Years = map[string]YearSchedule{"2026": {Workdays: []string{"2026-13-01"}}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Years = map[string]YearSchedule{}
			for k, v := range good.Years {
				c.Years[k] = v
			}
			tc.mod(&c)
			if _, err := NewCalendar(c); err == nil {
				t.Error("NewCalendar accepted an invalid configuration")
			}
		})
	}
}
