package governance

import (
	"fmt"
	"testing"
	"time"
)

func TestAggregate(t *testing.T) {
	var rows []map[string]any
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	// area A: 12 records in November (income 100 each), 3 in December
	for i := 0; i < 12; i++ {
		rows = append(rows, map[string]any{"area": "A", "at": base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), "income": 100.0})
	}
	for i := 0; i < 3; i++ {
		rows = append(rows, map[string]any{"area": "A", "at": "2026-12-05", "income": 50.0})
	}
	// area B: 10 records, one dominating the sum
	for i := 0; i < 9; i++ {
		rows = append(rows, map[string]any{"area": "B", "at": base, "income": "10"})
	}
	rows = append(rows, map[string]any{"area": "B", "at": base, "income": 10000})
	// area C: 9 records only
	for i := 0; i < 9; i++ {
		rows = append(rows, map[string]any{"area": "C", "at": base, "income": 1.0})
	}

	tests := []struct {
		name string
		q    AggQuery
		want map[string]string // group|period → "count sum avg" or "suppressed"
	}{
		{"by area, k default", AggQuery{GroupBy: []string{"area"}, Value: "income"}, map[string]string{
			"A|": "15 1350 90", "B|": "10 10090 1009", "C|": "suppressed",
		}},
		{"by area and month", AggQuery{GroupBy: []string{"area"}, Value: "income", TimeColumn: "at", Period: "month"}, map[string]string{
			"A|2026-11": "12 1200 100", "A|2026-12": "suppressed", "B|2026-11": "10 10090 1009", "C|2026-11": "suppressed",
		}},
		{"dominance hides sum", AggQuery{GroupBy: []string{"area"}, Value: "income", Dominance: 0.85}, map[string]string{
			"A|": "15 1350 90", "B|": "10 - -", "C|": "suppressed",
		}},
		{"k=5 counts only", AggQuery{GroupBy: []string{"area"}, K: 5}, map[string]string{
			"A|": "15 - -", "B|": "10 - -", "C|": "9 - -",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells, err := Aggregate(rows, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range cells {
				key := c.Group["area"] + "|" + c.Period
				if c.Suppressed {
					if c.Count != 0 || c.Sum != nil || c.Avg != nil {
						t.Errorf("%s: suppressed cell leaks %+v", key, c)
					}
					got[key] = "suppressed"
					continue
				}
				s, a := "-", "-"
				if c.Sum != nil {
					s, a = fmt.Sprint(*c.Sum), fmt.Sprint(*c.Avg)
				}
				got[key] = fmt.Sprintf("%d %s %s", c.Count, s, a)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	if _, err := Aggregate(rows, AggQuery{Period: "month"}); err == nil {
		t.Error("period without time column accepted")
	}
	if _, err := Aggregate(rows, AggQuery{TimeColumn: "at", Period: "fortnight"}); err == nil {
		t.Error("unknown period accepted")
	}
}
