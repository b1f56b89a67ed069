package governance

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// DefaultK is the minimum number of records behind a published aggregate cell, as
// statistics offices use (cells built from fewer are suppressed).
const DefaultK = 10

// AggQuery asks for counts, sums and averages of Value grouped by GroupBy columns
// (e.g. area) and, optionally, by the Period of TimeColumn.
type AggQuery struct {
	GroupBy    []string `json:"group_by"`
	Value      string   `json:"value,omitempty"`       // numeric column for sum and avg; "" = counts only
	TimeColumn string   `json:"time_column,omitempty"` // column holding a time (time.Time, RFC 3339 or 2006-01-02)
	Period     string   `json:"period,omitempty"`      // hour, day, week, month or year
	// K is the suppression threshold; 0 means DefaultK. Values below DefaultK are
	// accepted only from trusted callers (the HTTP layer never lets clients lower it).
	K int `json:"k,omitempty"`
	// Dominance suppresses a sum when one record contributes more than this share of
	// it (the (1,k) dominance rule); 0 disables, a typical value is 0.85.
	Dominance float64 `json:"dominance,omitempty"`
	Location  *time.Location
}

// AggCell is one group of the answer. A suppressed cell shows neither count nor sum.
type AggCell struct {
	Group      map[string]string `json:"group"`
	Period     string            `json:"period,omitempty"`
	Count      int               `json:"count,omitempty"`
	Sum        *float64          `json:"sum,omitempty"`
	Avg        *float64          `json:"avg,omitempty"`
	Suppressed bool              `json:"suppressed,omitempty"`
}

// Aggregate answers q over rows, suppressing every cell with fewer than K records.
// Rows whose value is missing or not numeric count but do not add to sum and avg;
// avg is over the rows that had a value.
func Aggregate(rows []map[string]any, q AggQuery) ([]AggCell, error) {
	k := q.K
	if k <= 0 {
		k = DefaultK
	}
	if q.Period != "" && q.TimeColumn == "" {
		return nil, citybrain.FieldError("time_column", "按时段统计须指定时间列 a period needs a time column")
	}
	if q.Period != "" {
		// Check the period before any row: with no parsable time no row would reach periodOf.
		if _, err := periodOf(time.Time{}, q.Period); err != nil {
			return nil, err
		}
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	type acc struct {
		cell     AggCell
		n        int
		sum, max float64
		nv       int
	}
	groups := map[string]*acc{}
	var order []string
	for _, row := range rows {
		var key strings.Builder
		g := make(map[string]string, len(q.GroupBy))
		for _, c := range q.GroupBy {
			s := scalarString(row[c])
			g[c] = s
			key.WriteString(s)
			key.WriteByte(0)
		}
		period := ""
		if q.TimeColumn != "" && q.Period != "" {
			t, ok := asTime(row[q.TimeColumn])
			if !ok {
				continue
			}
			p, err := periodOf(t.In(loc), q.Period)
			if err != nil {
				return nil, err
			}
			period = p
			key.WriteString(p)
		}
		a := groups[key.String()]
		if a == nil {
			a = &acc{cell: AggCell{Group: g, Period: period}}
			groups[key.String()] = a
			order = append(order, key.String())
		}
		a.n++
		if q.Value != "" {
			if v, ok := asFloat(row[q.Value]); ok {
				a.sum += v
				a.nv++
				if math.Abs(v) > a.max {
					a.max = math.Abs(v)
				}
			}
		}
	}
	sort.Strings(order)
	out := make([]AggCell, 0, len(order))
	for _, key := range order {
		a := groups[key]
		c := a.cell
		if a.n < k {
			c.Suppressed = true
			out = append(out, c)
			continue
		}
		c.Count = a.n
		if q.Value != "" && a.nv >= k {
			dominated := q.Dominance > 0 && a.sum != 0 && a.max > q.Dominance*math.Abs(a.sum)
			if !dominated {
				s, avg := a.sum, a.sum/float64(a.nv)
				c.Sum, c.Avg = &s, &avg
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func periodOf(t time.Time, p string) (string, error) {
	switch p {
	case "hour":
		return t.Format("2006-01-02T15"), nil
	case "day":
		return t.Format("2006-01-02"), nil
	case "week":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w), nil
	case "month":
		return t.Format("2006-01"), nil
	case "year":
		return t.Format("2006"), nil
	}
	return "", citybrain.FieldError("period", "时段须为 hour/day/week/month/year, not %q", p)
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02", "2006/01/02"} {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				return t, true
			}
		}
	case float64:
		if x > 1e12 {
			return time.UnixMilli(int64(x)), true
		}
		return time.Unix(int64(x), 0), true
	}
	return time.Time{}, false
}
