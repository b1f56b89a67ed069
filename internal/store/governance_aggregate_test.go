package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// The group keys of an aggregate are shown to the reader, so grouping must not undo the
// masking: a worker of another department who sees names and identity numbers masked in
// the rows must not read them in full as group keys (suppressed cells included).
func TestGovernanceAggregateGroupKeysFollowDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &citybrain.FixedClock{T: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
		svc := newGovService(t, db, clock, &auditSink{})
		officer := &citybrain.Actor{UserID: 10, Username: "civil", Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4}
		worker := &citybrain.Actor{UserID: 20, Username: "worker", Role: citybrain.RoleWorker, Area: "HX-01-02", Clearance: 2}
		var b strings.Builder
		b.WriteString("姓名,身份证号,社区,年龄\n")
		ids := []string{"11010519491231002X", "34052419800101001X"}
		for i := 0; i < 12; i++ {
			fmt.Fprintf(&b, "张%s,%s,东湖社区,%d\n", []string{"三", "伟"}[i%2], ids[i%2], 60+i)
		}
		if _, err := svc.Import(ctx, officer, governance.ImportInput{Name: "residents_agg", Title: "居民"}, strings.NewReader(b.String()), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Classify(ctx, officer, "residents_agg", governance.DatasetPatch{AcceptSuggestions: true}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			group string
			leak  []string // values that must not appear as keys
			want  map[string]int
		}{
			{"姓名", []string{"张三", "张伟"}, map[string]int{"张*": 12}},
			{"身份证号", ids, nil},
			{"社区", nil, map[string]int{"东湖社区": 12}},
		}
		for _, tc := range tests {
			t.Run(tc.group, func(t *testing.T) {
				cells, err := svc.Aggregate(ctx, worker, "residents_agg", governance.AggQuery{GroupBy: []string{tc.group}})
				if citybrain.ErrorCode(err) == citybrain.EDENIED {
					return // refusing the column is as safe as masking it
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cells {
					for _, v := range tc.leak {
						if c.Group[tc.group] == v {
							t.Fatalf("group key %q shown in full to a reader who sees it masked: %+v", v, cells)
						}
					}
				}
				for k, n := range tc.want {
					found := false
					for _, c := range cells {
						if c.Group[tc.group] == k && c.Count == n {
							found = true
						}
					}
					if !found {
						t.Fatalf("no cell %s=%q with count %d: %+v", tc.group, k, n, cells)
					}
				}
			})
		}
		// The owner sees the names in full, so its keys are the names (both cells under k).
		cells, err := svc.Aggregate(ctx, officer, "residents_agg", governance.AggQuery{GroupBy: []string{"姓名"}})
		if err != nil || len(cells) != 2 || cells[0].Group["姓名"] != "张三" || !cells[0].Suppressed {
			t.Fatalf("owner's aggregate %+v %v", cells, err)
		}
		if _, err := svc.Aggregate(ctx, worker, "residents_agg", governance.AggQuery{GroupBy: []string{"社区"}, TimeColumn: "年龄", Period: "decade"}); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("unknown period: %v", err)
		}
	})
}

// PUT /api/v1/governance/policy with {} (or null) used to put a policy without permits in
// force: default deny then hid every record of every dataset from everyone.
func TestGovernanceRefusesPolicyWithoutPermits(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	clock := &citybrain.FixedClock{T: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	svc := newGovService(t, db, clock, &auditSink{})
	admin := &citybrain.Actor{UserID: 1, Role: citybrain.RoleAdmin, Clearance: 5}
	before := svc.Policy()
	if _, err := svc.SetPolicy(ctx, admin, governance.Policy{}); citybrain.ErrorCode(err) != citybrain.EINVALID || citybrain.ErrorField(err) != "permits" {
		t.Fatalf("empty policy: %v", err)
	}
	if after := svc.Policy(); after.Version != before.Version || len(after.Policy.Permits) == 0 {
		t.Fatalf("policy in force changed to %+v", after)
	}
	if _, err := svc.SetPolicy(ctx, admin, governance.DefaultPolicy()); err != nil {
		t.Fatalf("whole policy: %v", err)
	}
}
