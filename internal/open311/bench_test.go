package open311_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/open311"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/workorder"
)

// benchOrders is how many work orders the Open311 benchmark stores (override with
// CITYBRAIN_BENCH_ORDERS). CITYBRAIN_BENCH_DIR keeps the loaded SQLite file between runs.
func benchOrders() int {
	if v, err := strconv.Atoi(os.Getenv("CITYBRAIN_BENCH_ORDERS")); err == nil && v > 0 {
		return v
	}
	return 1000000
}

var benchCats = []string{"ROAD", "STREETLIGHT", "WATER_SUPPLY", "DRAINAGE", "HEATING_GAS", "SANITATION", "GREENING", "STREET_ORDER", "NOISE", "POLLUTION",
	"TRAFFIC", "MARKET", "PROPERTY", "ELDERLY_CARE", "FIRE_SAFETY", "PUBLIC_SECURITY", "HEALTH", "EDUCATION", "LABOR", "OTHER"}

// benchEnd is the newest order's time; orders spread evenly over the year before it.
var benchEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func openBenchDB(b *testing.B, n int) *store.DB {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv("CITYBRAIN_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	db, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var have int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM workorders`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have >= n {
		return db
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(7, 8))
	states := []workorder.State{workorder.StateDispatched, workorder.StateAcknowledged, workorder.StateInProgress, workorder.StateClosed,
		workorder.StateRated, workorder.StateRated, workorder.StateClosed}
	span := 365 * 24 * time.Hour
	from := benchEnd.Add(-span)
	const chunk = 10000
	for lo := have; lo < n; lo += chunk {
		batch := make([]*workorder.Order, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			at := from.Add(time.Duration(float64(span) * float64(i) / float64(n)))
			st := states[rng.IntN(len(states))]
			o := &workorder.Order{TrackingNo: fmt.Sprintf("%s%07d", at.Format("20060102"), i), TokenHash: fmt.Sprintf("bench-%d", i),
				Source: workorder.SourceOpen311, Category: benchCats[rng.IntN(len(benchCats))], Priority: workorder.PriorityNormal, State: st,
				Description: "路灯不亮已经三天了，晚上走路很不安全，请尽快派人维修。", HasLocation: true,
				Lon: 117.1 + rng.Float64()*0.2, Lat: 39.0 + rng.Float64()*0.2, Address: "河西区友谊路100号", LeadDept: "URBAN_MGMT",
				Street: fmt.Sprintf("S%02d", rng.IntN(12)), CreatedAt: at, UpdatedAt: at, Deadline: at.Add(7 * 24 * time.Hour),
				Media:     []string{"https://img.example.cn/p.jpg"},
				Reporters: []workorder.Reporter{{Name: "市民", Channel: workorder.SourceOpen311, ReportedAt: at}}}
			if !st.IsOpen() {
				o.Resolution, o.ClosedAt, o.RespondedAt = workorder.ResolutionFixed, at.Add(48*time.Hour), at.Add(24*time.Hour)
			}
			batch = append(batch, o)
		}
		if err := db.BulkInsertOrders(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d work orders in %s", n-have, time.Since(start).Round(time.Second))
	return db
}

// cpuTime is the process's user+system CPU time, to report CPU per request apart from the
// wall-clock latency that other processes on a shared machine inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkOpen311GetRequestsFiltered measures GET /open311/v2/requests.json with filters
// (service_code of one or two services, status, a 7–90-day window, the default limit 1000 or a
// page of 100) against 1,000,000 stored work orders in SQLite, through the handler.
func BenchmarkOpen311GetRequestsFiltered(b *testing.B) {
	n := benchOrders()
	db := openBenchDB(b, n)
	clock := &citybrain.FixedClock{T: benchEnd}
	svc, err := workorder.New(context.Background(), workorder.Options{Repo: db, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	h, err := open311.New(svc, keys, open311.Config{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	statuses := []string{"open", "closed", "open,closed", ""}
	queries := make([]string, 256)
	for i := range queries {
		q := url.Values{}
		c := benchCats[rng.IntN(len(benchCats))]
		if rng.IntN(3) == 0 {
			c += "," + benchCats[rng.IntN(len(benchCats))]
		}
		q.Set("service_code", c)
		if s := statuses[rng.IntN(len(statuses))]; s != "" {
			q.Set("status", s)
		}
		days := 7 + rng.IntN(84)
		end := benchEnd.Add(-time.Duration(rng.IntN(270*24)) * time.Hour)
		q.Set("start_date", end.Add(-time.Duration(days)*24*time.Hour).Format(time.RFC3339))
		q.Set("end_date", end.Format(time.RFC3339))
		if rng.IntN(2) == 0 {
			q.Set("page_size", "100")
			q.Set("page", strconv.Itoa(1+rng.IntN(3)))
		}
		queries[i] = "/open311/v2/requests.json?" + q.Encode()
	}
	lat := make([]time.Duration, 0, b.N)
	bytes := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", queries[i%len(queries)], nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != 200 {
			b.Fatalf("%s: %d %s", queries[i%len(queries)], rec.Code, rec.Body)
		}
		bytes += rec.Body.Len()
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	percentiles(b, lat)
	b.ReportMetric(float64(bytes)/float64(b.N)/1024, "KiB/resp")
}

// BenchmarkOpen311PostRequest measures POST /open311/v2/requests.json (api_key check,
// attribute validation, duplicate lookup, tracking number, dispatch, SLA) with the 1,000,000
// orders stored.
func BenchmarkOpen311PostRequest(b *testing.B) {
	db := openBenchDB(b, benchOrders())
	clock := &citybrain.FixedClock{T: benchEnd}
	svc, err := workorder.New(context.Background(), workorder.Options{Repo: db, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	h, err := open311.New(svc, keys, open311.Config{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		form := url.Values{"api_key": {"citizen-key"}, "service_code": {"DRAINAGE"}, "description": {"小区门口下水道堵塞，污水外溢"},
			"lat": {strconv.FormatFloat(39.0+rng.Float64()*0.2, 'f', 6, 64)}, "long": {strconv.FormatFloat(117.1+rng.Float64()*0.2, 'f', 6, 64)},
			"attribute[sewage]": {"yes"}, "media_url": {"https://img.example.cn/a.jpg"}}
		req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	percentiles(b, lat)
}
