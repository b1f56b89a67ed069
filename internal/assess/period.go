package assess

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// Period is a half-open time range [From, To) with the name it was given.
type Period struct {
	Name string    `json:"name"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ParsePeriod reads "2026-Q3", "2026-09" (month), "2026" (year) or "2026-07-01..2026-09-30"
// (inclusive dates), in the given location (the district's, Asia/Shanghai).
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	bad := citybrain.FieldError("period", "考核周期格式应为 2026-Q3、2026-09、2026 或 2026-07-01..2026-09-30 / period must look like 2026-Q3, 2026-09, 2026 or 2026-07-01..2026-09-30, got %q", s)
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, ".."); ok {
		f, err1 := time.ParseInLocation("2006-01-02", a, loc)
		t, err2 := time.ParseInLocation("2006-01-02", b, loc)
		if err1 != nil || err2 != nil || t.Before(f) {
			return Period{}, bad
		}
		return Period{Name: s, From: f, To: t.AddDate(0, 0, 1)}, nil
	}
	if y, q, ok := strings.Cut(s, "-Q"); ok {
		yy, err1 := strconv.Atoi(y)
		qq, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || qq < 1 || qq > 4 || yy < 2000 || yy > 2100 {
			return Period{}, bad
		}
		f := time.Date(yy, time.Month(3*(qq-1)+1), 1, 0, 0, 0, 0, loc)
		return Period{Name: s, From: f, To: f.AddDate(0, 3, 0)}, nil
	}
	if t, err := time.ParseInLocation("2006-01", s, loc); err == nil {
		return Period{Name: s, From: t, To: t.AddDate(0, 1, 0)}, nil
	}
	if t, err := time.ParseInLocation("2006", s, loc); err == nil && len(s) == 4 {
		return Period{Name: s, From: t, To: t.AddDate(1, 0, 0)}, nil
	}
	return Period{}, bad
}

// Previous returns the period of the same kind just before p.
func (p Period) Previous() Period {
	name := p.Name
	switch {
	case strings.Contains(name, "-Q"):
		f := p.From.AddDate(0, -3, 0)
		return Period{Name: fmt.Sprintf("%d-Q%d", f.Year(), (int(f.Month())-1)/3+1), From: f, To: p.From}
	case len(name) == 7:
		f := p.From.AddDate(0, -1, 0)
		return Period{Name: f.Format("2006-01"), From: f, To: p.From}
	case len(name) == 4:
		f := p.From.AddDate(-1, 0, 0)
		return Period{Name: f.Format("2006"), From: f, To: p.From}
	}
	d := p.To.Sub(p.From)
	f := p.From.Add(-d)
	return Period{Name: f.Format("2006-01-02") + ".." + p.From.AddDate(0, 0, -1).Format("2006-01-02"), From: f, To: p.From}
}

// Quarter returns the quarter containing t.
func Quarter(t time.Time) string {
	return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}
