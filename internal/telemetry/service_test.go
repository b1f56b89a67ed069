package telemetry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

// t0 is 2026-11-28T00:00:00Z in epoch ms.
const t0 = int64(1795824000000)

func openTest(t *testing.T, st Store, opt Options) *Service {
	t.Helper()
	if opt.Now == nil {
		now := time.UnixMilli(t0 + 48*hourMs)
		opt.Now = func() time.Time { return now }
	}
	if opt.MaintainEvery == 0 {
		opt.MaintainEvery = -1
	}
	s, err := Open(context.Background(), st, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// gatedStore is a MemStore whose InsertRaw waits for the gate to open, to hold the writer
// busy while a test fills the queue, and fails for readings of device "fail".
type gatedStore struct {
	*MemStore
	gate     chan struct{}
	mu       sync.Mutex
	batches  []int // committed batch sizes
	attempts []int // attempted batch sizes
}

func (g *gatedStore) InsertRaw(ctx context.Context, rs []Reading) error {
	<-g.gate
	g.mu.Lock()
	g.attempts = append(g.attempts, len(rs))
	g.mu.Unlock()
	for _, r := range rs {
		if r.DeviceID == "fail" {
			return errors.New("disk on fire")
		}
	}
	g.mu.Lock()
	g.batches = append(g.batches, len(rs))
	g.mu.Unlock()
	return g.MemStore.InsertRaw(ctx, rs)
}

func TestAppendValidation(t *testing.T) {
	s := openTest(t, NewMemStore(), Options{QueueLimit: 10})
	cases := []struct {
		name  string
		rs    []Reading
		code  string
		field string
	}{
		{"empty device", []Reading{{"", "m", 1, 1}}, citybrain.EINVALID, "device_id"},
		{"empty measurement", []Reading{{"d", "", 1, 1}}, citybrain.EINVALID, "measurement"},
		{"zero ts", []Reading{{"d", "m", 0, 1}}, citybrain.EINVALID, "ts"},
		{"nan", []Reading{{"d", "m", 1, math.NaN()}}, citybrain.EINVALID, "value"},
		{"inf", []Reading{{"d", "m", 1, math.Inf(-1)}}, citybrain.EINVALID, "value"},
		{"ok", []Reading{{"d", "m", 1, 1}}, "", ""},
		{"nothing", nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Append(context.Background(), c.rs)
			if got := citybrain.ErrorCode(err); got != c.code || citybrain.ErrorField(err) != c.field {
				t.Fatalf("Append = %v (code %q field %q), want code %q field %q", err, got, citybrain.ErrorField(err), c.code, c.field)
			}
		})
	}
	big := make([]Reading, 11)
	for i := range big {
		big[i] = Reading{"d", "m", int64(i + 1), 1}
	}
	if err := s.Append(context.Background(), big); citybrain.ErrorCode(err) != citybrain.ETOOLARGE {
		t.Fatalf("Append of more than QueueLimit = %v, want ETOOLARGE", err)
	}
}

func TestAppendBackpressure(t *testing.T) {
	g := &gatedStore{MemStore: NewMemStore(), gate: make(chan struct{})}
	s := openTest(t, g, Options{QueueLimit: 5})
	ctx := context.Background()
	// Five single readings fill the queue while the writer is stuck in InsertRaw.
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func(i int) { errs <- s.Append(ctx, []Reading{{"d", "m", int64(i + 1), float64(i)}}) }(i)
	}
	for s.Stats().Queued < 5 {
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := s.Append(short, []Reading{{"d", "m", 99, 1}})
	if citybrain.ErrorCode(err) != citybrain.ETOOMANY {
		t.Fatalf("Append on a full queue = %v, want ETOOMANY", err)
	}
	close(g.gate)
	for i := 0; i < 5; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("accepted Append failed: %v", err)
		}
	}
	pts, err := s.Query(ctx, Query{DeviceID: "d", Measurement: "m", From: time.UnixMilli(1), To: time.UnixMilli(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 5 {
		t.Fatalf("stored %d readings, want the 5 accepted (the refused one not stored): %v", len(pts), pts)
	}
	if st := s.Stats(); st.Refused != 1 || st.Queued != 0 || st.Appended != 5 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestGroupCommitAndFailureIsolation(t *testing.T) {
	g := &gatedStore{MemStore: NewMemStore(), gate: make(chan struct{})}
	s := openTest(t, g, Options{})
	ctx := context.Background()
	const callers = 50
	errs := make(chan error, callers+1)
	// The first call occupies the writer; the rest queue up and are committed together.
	go func() { errs <- s.Append(ctx, []Reading{{"first", "m", 1, 1}}) }()
	for s.Stats().Queued < 1 {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < callers; i++ {
		dev := fmt.Sprintf("d%d", i)
		if i == 7 {
			dev = "fail"
		}
		go func() { errs <- s.Append(ctx, []Reading{{dev, "m", 1, 1}, {dev, "m", 2, 2}}) }()
	}
	for len(s.queue) < callers { // all queued behind the writer, which is stuck on "first"
		time.Sleep(time.Millisecond)
	}
	close(g.gate)
	failed := 0
	for i := 0; i < callers+1; i++ {
		if err := <-errs; err != nil {
			failed++
			if citybrain.ErrorCode(err) != citybrain.EUNAVAILABLE {
				t.Errorf("failed Append code %q, want EUNAVAILABLE", citybrain.ErrorCode(err))
			}
		}
	}
	if failed != 1 {
		t.Fatalf("%d Appends failed, want only the one for the failing device", failed)
	}
	for i := 0; i < callers; i++ {
		if i == 7 {
			continue
		}
		l, _ := s.Latest(ctx, fmt.Sprintf("d%d", i))
		if l["m"] != (Point{2, 2}) {
			t.Fatalf("Latest(d%d) = %v", i, l)
		}
	}
	// The 50 queued calls were gathered into one transaction attempt of 100 readings, which
	// failed and was retried call by call.
	want := []int{1, 2 * callers}
	for i := 0; i < callers; i++ {
		want = append(want, 2)
	}
	if fmt.Sprint(g.attempts) != fmt.Sprint(want) {
		t.Fatalf("InsertRaw attempts %v, want %v", g.attempts, want)
	}
}

func TestConcurrentAppendsBatch(t *testing.T) {
	g := &gatedStore{MemStore: NewMemStore(), gate: make(chan struct{})}
	close(g.gate)
	s := openTest(t, g, Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if err := s.Append(ctx, []Reading{{fmt.Sprintf("w%d", w), "m", int64(i + 1), float64(i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range g.batches {
		total += n
	}
	if total != 1600 {
		t.Fatalf("stored %d readings, want 1600", total)
	}
	for w := 0; w < 8; w++ {
		l, _ := s.Latest(ctx, fmt.Sprintf("w%d", w))
		if l["m"].TS != 200 {
			t.Fatalf("Latest(w%d) = %v", w, l)
		}
	}
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	st := NewMemStore()
	s, err := Open(context.Background(), st, Options{MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), []Reading{{"d", "m", 5, 1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Append(context.Background(), []Reading{{"d", "m", 6, 1}}); citybrain.ErrorCode(err) != citybrain.EUNAVAILABLE {
		t.Fatalf("Append after Close = %v, want EUNAVAILABLE", err)
	}
	if err := s.Compact(context.Background()); citybrain.ErrorCode(err) != citybrain.EUNAVAILABLE {
		t.Fatalf("Compact after Close = %v, want EUNAVAILABLE", err)
	}
	if pts, _ := st.RawRange(context.Background(), SeriesKey{"d", "m"}, 0, 100); len(pts) != 1 {
		t.Fatalf("raw = %v", pts)
	}
}

func TestRetention(t *testing.T) {
	now := time.UnixMilli(t0 + 40*24*hourMs)
	st := NewMemStore()
	s := openTest(t, st, Options{Now: func() time.Time { return now }, RawRetention: 24 * time.Hour, MinuteRetention: 10 * 24 * time.Hour, HourRetention: 35 * 24 * time.Hour})
	ctx := context.Background()
	var rs []Reading
	for day := int64(0); day < 40; day++ {
		rs = append(rs, Reading{"d", "m", t0 + day*24*hourMs + 30*minuteMs, float64(day)})
	}
	rs = append(rs, Reading{"d", "m", t0 + 40*24*hourMs - 30*minuteMs, 40}) // last hour: stays raw
	if err := s.Append(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	from, to := time.UnixMilli(t0), time.UnixMilli(t0+41*24*hourMs)
	cases := []struct {
		name string
		q    Query
		want int
	}{
		{"raw points: last 24 h (day 39 and the open hour)", Query{DeviceID: "d", Measurement: "m", From: from, To: to}, 2},
		{"minute rollups: days 30-39 and the raw point", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: time.Minute, Agg: AggCount}, 11},
		{"hour rollups: days 5-39 (the raw point falls in day 39)", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: 24 * time.Hour, Agg: AggCount}, 35},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pts, err := s.Query(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != c.want {
				t.Fatalf("%d points, want %d: %v", len(pts), c.want, pts)
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	s := openTest(t, NewMemStore(), Options{MaxPoints: 100})
	ctx := context.Background()
	from, to := time.UnixMilli(t0), time.UnixMilli(t0+hourMs)
	cases := []struct {
		name  string
		q     Query
		code  string
		field string
	}{
		{"no device", Query{Measurement: "m", From: from, To: to}, citybrain.EINVALID, "device_id"},
		{"no measurement", Query{DeviceID: "d", From: from, To: to}, citybrain.EINVALID, "measurement"},
		{"no from", Query{DeviceID: "d", Measurement: "m", To: to}, citybrain.EINVALID, "from"},
		{"reversed", Query{DeviceID: "d", Measurement: "m", From: to, To: from}, citybrain.EINVALID, "to"},
		{"negative step", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: -time.Second}, citybrain.EINVALID, "step"},
		{"agg without step", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Agg: AggMax}, citybrain.EINVALID, "step"},
		{"bad agg", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: time.Minute, Agg: "median"}, citybrain.EINVALID, "agg"},
		{"too many buckets", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: time.Second}, citybrain.ETOOLARGE, ""},
		{"ok", Query{DeviceID: "d", Measurement: "m", From: from, To: to, Step: time.Minute}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Query(ctx, c.q)
			if citybrain.ErrorCode(err) != c.code || citybrain.ErrorField(err) != c.field {
				t.Fatalf("Query = %v, want code %q field %q", err, c.code, c.field)
			}
		})
	}
	if _, err := s.QueryGroup(ctx, GroupQuery{Groups: map[string][]string{"a": {"d"}}, Measurement: "m", From: from, To: to}); citybrain.ErrorField(err) != "step" {
		t.Fatalf("QueryGroup without step = %v", err)
	}
	many := make([]string, maxRawGroupDevices+1)
	for i := range many {
		many[i] = fmt.Sprint("d", i)
	}
	for _, c := range []struct {
		step time.Duration
		code string
	}{{30 * time.Second, citybrain.ETOOLARGE}, {time.Minute, ""}} {
		_, err := s.QueryGroup(ctx, GroupQuery{Groups: map[string][]string{"a": many}, Measurement: "m", From: from, To: to, Step: c.step})
		if citybrain.ErrorCode(err) != c.code {
			t.Fatalf("QueryGroup of %d devices, step %v = %v, want code %q", len(many), c.step, err, c.code)
		}
	}
	// Too many raw points.
	var rs []Reading
	for i := 0; i < 101; i++ {
		rs = append(rs, Reading{"d", "m", t0 + int64(i), 1})
	}
	if err := s.Append(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, Query{DeviceID: "d", Measurement: "m", From: from, To: to}); citybrain.ErrorCode(err) != citybrain.ETOOLARGE {
		t.Fatalf("Query of 101 points with MaxPoints 100 = %v, want ETOOLARGE", err)
	}
}

func TestLatestKeepsNewest(t *testing.T) {
	s := openTest(t, NewMemStore(), Options{})
	ctx := context.Background()
	for _, rs := range [][]Reading{
		{{"d", "level", 200, 2}, {"d", "battery", 100, 90}},
		{{"d", "level", 150, 1.5}}, // older, late: Latest keeps 200
		{{"d", "battery", 300, 89}},
	} {
		if err := s.Append(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := s.Latest(ctx, "d")
	want := map[string]Point{"level": {200, 2}, "battery": {300, 89}}
	if len(l) != 2 || l["level"] != want["level"] || l["battery"] != want["battery"] {
		t.Fatalf("Latest = %v, want %v", l, want)
	}
	if s.LastSeen("d") != 300 || s.LastSeen("nobody") != 0 {
		t.Fatalf("LastSeen = %d", s.LastSeen("d"))
	}
	if l, _ := s.Latest(ctx, "nobody"); len(l) != 0 {
		t.Fatalf("Latest(nobody) = %v", l)
	}
}

func TestBackgroundMaintenance(t *testing.T) {
	st := NewMemStore()
	now := time.UnixMilli(t0 + 3*hourMs)
	s := openTest(t, st, Options{Now: func() time.Time { return now }, MaintainEvery: 5 * time.Millisecond})
	ctx := context.Background()
	if err := s.Append(ctx, []Reading{{"d", "m", t0 + 10, 1}, {"d", "m", t0 + 3*hourMs - 1, 2}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Compacted == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cs, _ := st.ChunkRange(ctx, SeriesKey{"d", "m"}, 0, math.MaxInt64)
	raw, _ := st.RawRange(ctx, SeriesKey{"d", "m"}, 0, math.MaxInt64)
	if len(cs) != 1 || len(raw) != 1 {
		t.Fatalf("after background compaction: %d chunks, %d raw points; want 1 and 1 (the open hour)", len(cs), len(raw))
	}
}

func TestGroupMembers(t *testing.T) {
	ms := []Member{
		{DeviceID: "b", Profile: "air", District: "d", Street: "s1", Community: "c1", Grid: "g1"},
		{DeviceID: "a", Profile: "air", District: "d", Street: "s1", Community: "c2"},
		{DeviceID: "c", Profile: "water", District: "d", Street: "s2"},
		{DeviceID: "x", Profile: "water"}, // no area
	}
	cases := []struct {
		by   string
		want string
	}{
		{GroupStreet, "map[s1:[a b] s2:[c]]"},
		{GroupCommunity, "map[c1:[b] c2:[a]]"},
		{GroupGrid, "map[g1:[b]]"},
		{GroupProfile, "map[air:[a b] water:[c x]]"},
	}
	for _, c := range cases {
		got, err := GroupMembers(ms, c.by)
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("GroupMembers(%s) = %v, %v; want %s", c.by, got, err, c.want)
		}
	}
	if _, err := GroupMembers(ms, "city"); citybrain.ErrorField(err) != "group" {
		t.Errorf("GroupMembers(city) = %v", err)
	}
	if !ms[0].In("c1") || !ms[0].In("d") || ms[0].In("c2") || ms[3].In("") {
		t.Error("Member.In")
	}
}
