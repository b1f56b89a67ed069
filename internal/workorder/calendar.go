package workorder

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// CalendarConfig is the editable working calendar: the timezone, the office hours of a
// working day and, per year, the public holidays and the 调休 make-up working days (weekend
// days that are working days). It is plain data so administrators can edit it and it can be
// stored as JSON.
//
// The shipped schedule (seed/calendar_cn.json) holds China's 2026 official schedule as
// recalled by the author from 国务院办公厅关于2026年部分节假日安排的通知: 元旦 Jan 1–3 (make-up
// Sun Jan 4), 春节 Feb 15–23 (make-up Sat Feb 14, Sat Feb 28), 清明 Apr 4–6, 劳动节 May 1–5
// (make-up Sat May 9), 端午 Jun 19–21, 中秋 Sep 25–27, 国庆 Oct 1–7 (make-up Sun Sep 20, Sat
// Oct 10). The Jan 4 make-up day is the least certain item. 2027 is marked provisional: only
// the statutory days on computed lunar dates, no make-up days, until the notice is published.
type CalendarConfig struct {
	Timezone    string                  `json:"timezone"`
	OfficeHours [][2]string             `json:"office_hours"`
	Years       map[string]YearSchedule `json:"years"`
}

// YearSchedule is one year's holidays and make-up working days.
type YearSchedule struct {
	Source      string        `json:"source"`
	Provisional bool          `json:"provisional"`
	Holidays    []HolidaySpan `json:"holidays"`
	Workdays    []string      `json:"workdays"`
}

// HolidaySpan is a named run of days off, inclusive, as YYYY-MM-DD dates.
type HolidaySpan struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// DefaultCalendarConfig returns the shipped calendar (Asia/Shanghai, 09:00–12:00 and
// 13:30–17:30, China 2026 official and 2027 provisional).
func DefaultCalendarConfig() (CalendarConfig, error) {
	b, err := seedFS.ReadFile("seed/calendar_cn.json")
	if err != nil {
		return CalendarConfig{}, fmt.Errorf("read seed calendar: %w", err)
	}
	var c CalendarConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return CalendarConfig{}, fmt.Errorf("decode seed calendar: %w", err)
	}
	return c, nil
}

type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil { y, m, d := t.Date(); return civil{y, m, d} }

type span struct{ start, end int } // minutes after midnight

// Calendar answers working-time questions. It is immutable and safe for concurrent use.
type Calendar struct {
	cfg      CalendarConfig
	loc      *time.Location
	spans    []span
	holidays map[civil]string
	workdays map[civil]bool
	dayLen   time.Duration
}

// NewCalendar validates cfg and builds a Calendar.
func NewCalendar(cfg CalendarConfig) (*Calendar, error) {
	c := &Calendar{cfg: cfg, holidays: map[civil]string{}, workdays: map[civil]bool{}}
	if cfg.Timezone == "" {
		cfg.Timezone = "Asia/Shanghai"
		c.cfg.Timezone = cfg.Timezone
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		if cfg.Timezone != "Asia/Shanghai" {
			return nil, citybrain.FieldError("timezone", "时区无效 unknown timezone %q", cfg.Timezone)
		}
		// China has had no daylight saving time since 1991; a fixed zone is exact.
		loc = time.FixedZone("CST", 8*3600)
	}
	c.loc = loc
	if len(cfg.OfficeHours) == 0 {
		return nil, citybrain.FieldError("office_hours", "办公时间为空 office hours missing")
	}
	last := -1
	for _, oh := range cfg.OfficeHours {
		a, err1 := parseHM(oh[0])
		b, err2 := parseHM(oh[1])
		if err1 != nil || err2 != nil || b <= a || a < last {
			return nil, citybrain.FieldError("office_hours", "办公时间无效 invalid office hours %v (HH:MM, ascending, not overlapping)", oh)
		}
		last = b
		c.spans = append(c.spans, span{a, b})
		c.dayLen += time.Duration(b-a) * time.Minute
	}
	for ys, y := range cfg.Years {
		if _, err := strconv.Atoi(ys); err != nil {
			return nil, citybrain.FieldError("years", "年份无效 invalid year %q", ys)
		}
		for _, h := range y.Holidays {
			from, err1 := time.ParseInLocation("2006-01-02", h.From, loc)
			to, err2 := time.ParseInLocation("2006-01-02", h.To, loc)
			if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 40*24*time.Hour {
				return nil, citybrain.FieldError("holidays", "假期日期无效 invalid holiday %s %s–%s", h.Name, h.From, h.To)
			}
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				c.holidays[civilOf(d)] = h.Name
			}
		}
		for _, w := range y.Workdays {
			d, err := time.ParseInLocation("2006-01-02", w, loc)
			if err != nil {
				return nil, citybrain.FieldError("workdays", "调休日期无效 invalid make-up day %q", w)
			}
			c.workdays[civilOf(d)] = true
		}
	}
	return c, nil
}

func parseHM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("bad time %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// Config returns the configuration the calendar was built from.
func (c *Calendar) Config() CalendarConfig { return c.cfg }

// Location returns the calendar's timezone.
func (c *Calendar) Location() *time.Location { return c.loc }

// DayLength returns the office time of one working day (7 h by default).
func (c *Calendar) DayLength() time.Duration { return c.dayLen }

// IsWorkday reports whether the calendar day of t (in the calendar's timezone) is a working
// day: a make-up day, or a weekday that is not a holiday.
func (c *Calendar) IsWorkday(t time.Time) bool {
	d := civilOf(t.In(c.loc))
	if c.workdays[d] {
		return true
	}
	if _, ok := c.holidays[d]; ok {
		return false
	}
	wd := t.In(c.loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Holiday returns the holiday name of t's day, if any.
func (c *Calendar) Holiday(t time.Time) (string, bool) {
	n, ok := c.holidays[civilOf(t.In(c.loc))]
	return n, ok
}

// Provisional lists the years whose schedule is marked provisional.
func (c *Calendar) Provisional() []string {
	var out []string
	for y, s := range c.cfg.Years {
		if s.Provisional {
			out = append(out, y)
		}
	}
	sort.Strings(out)
	return out
}

// AddWorkingTime returns the instant at which d of office time has elapsed after start,
// counting only office hours on working days. A start outside office hours begins counting
// at the next office period.
func (c *Calendar) AddWorkingTime(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	t := start.In(c.loc)
	remaining := d
	for i := 0; i < 3700; i++ { // ten years of days bounds a bad configuration
		y, m, dd := t.Date()
		midnight := time.Date(y, m, dd, 0, 0, 0, 0, c.loc)
		if c.IsWorkday(midnight) {
			for _, s := range c.spans {
				ss := midnight.Add(time.Duration(s.start) * time.Minute)
				se := midnight.Add(time.Duration(s.end) * time.Minute)
				if !t.Before(se) {
					continue
				}
				from := t
				if from.Before(ss) {
					from = ss
				}
				avail := se.Sub(from)
				if remaining <= avail {
					return from.Add(remaining)
				}
				remaining -= avail
				t = se
			}
		}
		t = time.Date(y, m, dd+1, 0, 0, 0, 0, c.loc)
	}
	return t
}

// AddWorkingDays returns start plus n working days, where a working day is one day's office
// time (DayLength): a report at 10:00 on a Monday with 7 working days is due at 10:00 on the
// Wednesday of the following week when there are no holidays.
func (c *Calendar) AddWorkingDays(start time.Time, n float64) time.Time {
	return c.AddWorkingTime(start, time.Duration(n*float64(c.dayLen)))
}
