package telemetry

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citybrain/citybrain"
)

// Options tune a Service. Zero values take the defaults named on each field.
type Options struct {
	// Now tells the time for compaction and retention (default time.Now).
	Now func() time.Time
	// QueueLimit bounds the readings accepted but not yet committed (default 100,000).
	// Append blocks while the queue is full; an Append of more readings is refused.
	QueueLimit int
	// MaxBatch is the number of readings the writer gathers into one transaction
	// (default 10,000); a single larger Append still commits in one transaction.
	MaxBatch int
	// CompactDelay and CompactStep set the compaction horizon: a pass moves every raw point
	// older than now − CompactDelay, rounded down to a multiple of CompactStep, into its
	// hour's chunk and rollups (defaults 1 minute and 5 minutes). An open hour is compacted
	// piecewise, its chunk and rollups rewritten as it fills, so the raw table holds only
	// minutes of points and queries over many devices read rollups almost entirely.
	CompactDelay time.Duration
	CompactStep  time.Duration
	// MaintainEvery is the period of the background compaction and retention pass
	// (default 1 minute; negative disables it, for tests that call Compact themselves).
	MaintainEvery time.Duration
	// RawRetention keeps raw points and chunks (default 30 days).
	RawRetention time.Duration
	// MinuteRetention keeps per-minute rollups (default 2 years).
	MinuteRetention time.Duration
	// HourRetention keeps per-hour rollups (default 2 years).
	HourRetention time.Duration
	// MaxPoints caps the points one query returns or scans per series (default 100,000).
	MaxPoints int
	// CompactSlice is the number of series compacted per transaction (default 200); the
	// writer commits waiting appends between slices.
	CompactSlice int
	// OnCommit, if set, is called by the writer goroutine after each commit with the
	// readings just made durable (duplicates included). It must not block or keep rs.
	OnCommit func(rs []Reading)
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = 100_000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 10_000
	}
	if o.CompactDelay <= 0 {
		o.CompactDelay = time.Minute
	}
	if o.CompactStep <= 0 || o.CompactStep%time.Millisecond != 0 {
		o.CompactStep = 5 * time.Minute
	}
	if o.MaintainEvery == 0 {
		o.MaintainEvery = time.Minute
	}
	if o.RawRetention <= 0 {
		o.RawRetention = 30 * 24 * time.Hour
	}
	if o.MinuteRetention <= 0 {
		o.MinuteRetention = 2 * 365 * 24 * time.Hour
	}
	if o.HourRetention <= 0 {
		o.HourRetention = 2 * 365 * 24 * time.Hour
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 100_000
	}
	if o.CompactSlice <= 0 {
		o.CompactSlice = 200
	}
}

// Stats are counters since the Service opened.
type Stats struct {
	Appended  int64 // readings in successful Append calls
	Commits   int64 // group-commit transactions
	Queued    int64 // readings waiting now
	Refused   int64 // Append calls refused for backpressure
	Compacted int64 // series-hours compacted
}

// Service is the telemetry engine: see the package comment for its concurrency contract.
type Service struct {
	store Store
	opt   Options

	sem   *semaphore
	queue chan *appendReq
	jobs  chan job

	mu      sync.RWMutex // guards closed and sending on queue
	closed  bool
	closing chan struct{}
	done    chan struct{}

	latestMu sync.RWMutex
	latest   map[string]map[string]Point

	appended, commits, refused, compacted atomic.Int64

	// Owned by the writer goroutine: the compaction horizon of the last complete pass,
	// whether a reading older than it arrived since, and the hour retention last ran.
	passBefore    int64
	lateArrival   bool
	retentionHour int64
}

type appendReq struct {
	rs   []Reading
	done chan error
}

type job struct {
	run  func(ctx context.Context) error
	done chan error
}

// Open loads the latest values from the store and starts the writer goroutine.
// Close stops it.
func Open(ctx context.Context, store Store, opt Options) (*Service, error) {
	opt.defaults()
	s := &Service{
		store:   store,
		opt:     opt,
		sem:     newSemaphore(opt.QueueLimit),
		queue:   make(chan *appendReq, opt.QueueLimit),
		jobs:    make(chan job),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		latest:  make(map[string]map[string]Point),
	}
	if err := s.loadLatest(ctx); err != nil {
		return nil, err
	}
	go s.writer()
	return s, nil
}

func (s *Service) loadLatest(ctx context.Context) error {
	raw, err := s.store.LatestRaw(ctx)
	if err != nil {
		return fmt.Errorf("telemetry: load latest: %w", err)
	}
	s.updateLatest(raw)
	done, err := s.store.LatestCompacted(ctx)
	if err != nil {
		return fmt.Errorf("telemetry: load latest compacted: %w", err)
	}
	s.updateLatest(done)
	return nil
}

func (s *Service) updateLatest(rs []Reading) {
	s.latestMu.Lock()
	defer s.latestMu.Unlock()
	for _, r := range rs {
		m := s.latest[r.DeviceID]
		if m == nil {
			m = make(map[string]Point)
			s.latest[r.DeviceID] = m
		}
		if cur, ok := m[r.Measurement]; !ok || r.TS > cur.TS {
			m[r.Measurement] = Point{r.TS, r.Value}
		}
	}
}

// Latest returns the latest point per measurement of a device (a copy; empty for a device
// that never reported). The point's TS is the measurement's last-seen time.
func (s *Service) Latest(ctx context.Context, deviceID string) (map[string]Point, error) {
	s.latestMu.RLock()
	defer s.latestMu.RUnlock()
	out := make(map[string]Point, len(s.latest[deviceID]))
	for k, v := range s.latest[deviceID] {
		out[k] = v
	}
	return out, nil
}

// LastSeen returns the greatest timestamp over a device's measurements, or 0.
func (s *Service) LastSeen(deviceID string) int64 {
	s.latestMu.RLock()
	defer s.latestMu.RUnlock()
	var max int64
	for _, p := range s.latest[deviceID] {
		if p.TS > max {
			max = p.TS
		}
	}
	return max
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{
		Appended:  s.appended.Load(),
		Commits:   s.commits.Load(),
		Queued:    int64(s.opt.QueueLimit - s.sem.available()),
		Refused:   s.refused.Load(),
		Compacted: s.compacted.Load(),
	}
}

func validateReadings(rs []Reading) error {
	for i, r := range rs {
		switch {
		case r.DeviceID == "":
			return citybrain.FieldError("device_id", "reading %d: 设备编号为空 device id is empty", i)
		case r.Measurement == "":
			return citybrain.FieldError("measurement", "reading %d: 测量项为空 measurement is empty", i)
		case r.TS <= 0:
			return citybrain.FieldError("ts", "reading %d: 时间戳无效 timestamp %d is not a positive epoch-ms time", i, r.TS)
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			return citybrain.FieldError("value", "reading %d: 数值无效 %s is not a finite number", i, r.Measurement)
		}
	}
	return nil
}

// Append stores readings durably: when it returns nil they survive kill -9 and are
// queryable, and Latest reflects them. Duplicate (device, measurement, ts) are stored once
// (the first value wins). Concurrent calls are group-committed in one transaction. When
// QueueLimit readings are already waiting, Append blocks until there is room or ctx is done,
// then returns an ETOOMANY error; an error means the readings were not acknowledged (they
// may still have been stored, and a redelivery is deduplicated).
func (s *Service) Append(ctx context.Context, rs []Reading) error {
	if len(rs) == 0 {
		return nil
	}
	if err := validateReadings(rs); err != nil {
		return err
	}
	if len(rs) > s.opt.QueueLimit {
		return citybrain.Errorf(citybrain.ETOOLARGE, "一次提交 %d 条读数，超过上限 %d too many readings in one call", len(rs), s.opt.QueueLimit)
	}
	if err := s.sem.acquire(ctx, len(rs)); err != nil {
		s.refused.Add(1)
		return citybrain.Errorf(citybrain.ETOOMANY, "写入队列已满，请稍后重试 ingestion queue full, retry later (%v)", err)
	}
	req := &appendReq{rs: rs, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.sem.release(len(rs))
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "遥测服务已关闭 telemetry service is closed")
	}
	s.queue <- req // never blocks: the semaphore keeps fewer requests than the capacity
	s.mu.RUnlock()
	select {
	case err := <-req.done:
		if err == nil {
			s.appended.Add(int64(len(rs)))
		}
		return err
	case <-ctx.Done():
		s.refused.Add(1)
		return citybrain.Errorf(citybrain.ETOOMANY, "存储繁忙，未确认写入 storage busy, readings not acknowledged (%v)", ctx.Err())
	}
}

// Close stops accepting appends, commits those already queued, waits for the writer and
// returns. It does not close the store.
func (s *Service) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	<-s.done
	return nil
}

// Compact runs one compaction pass now, in the writer goroutine, and waits for it.
func (s *Service) Compact(ctx context.Context) error { return s.runJob(ctx, s.compactPass) }

// EnforceRetention deletes what is older than the retention periods, now.
func (s *Service) EnforceRetention(ctx context.Context) error {
	return s.runJob(ctx, s.retentionPass)
}

func (s *Service) runJob(ctx context.Context, fn func(context.Context) error) error {
	j := job{run: fn, done: make(chan error, 1)}
	select {
	case s.jobs <- j:
	case <-s.done:
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "遥测服务已关闭 telemetry service is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the only goroutine that writes to the store.
func (s *Service) writer() {
	defer close(s.done)
	ctx := context.Background()
	var tick <-chan time.Time
	if s.opt.MaintainEvery > 0 {
		t := time.NewTicker(s.opt.MaintainEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r := <-s.queue:
			s.commit(ctx, r)
		case j := <-s.jobs:
			j.done <- j.run(ctx)
		case <-tick:
			// Background failures are retried on the next tick; the data stays in raw.
			// A pass scans the raw table only when an hour closed or a late reading came.
			if s.compactPass(ctx) == nil {
				if h := bucketOf(s.opt.Now().UnixMilli(), hourMs); h != s.retentionHour {
					if s.retentionPass(ctx) == nil {
						s.retentionHour = h
					}
				}
			}
		case <-s.closing:
			for {
				select {
				case r := <-s.queue:
					s.commit(ctx, r)
				default:
					return
				}
			}
		}
	}
}

// flushQueued commits whatever is waiting, without blocking.
func (s *Service) flushQueued(ctx context.Context) {
	for {
		select {
		case r := <-s.queue:
			s.commit(ctx, r)
		default:
			return
		}
	}
}

// commit gathers first and whatever else is queued, up to MaxBatch readings, into one
// transaction. If the batch fails, each request is retried alone so one bad request does not
// fail its neighbours.
func (s *Service) commit(ctx context.Context, first *appendReq) {
	reqs := []*appendReq{first}
	n := len(first.rs)
gather:
	for n < s.opt.MaxBatch {
		select {
		case r := <-s.queue:
			reqs = append(reqs, r)
			n += len(r.rs)
		default:
			break gather
		}
	}
	batch := first.rs
	if len(reqs) > 1 {
		batch = make([]Reading, 0, n)
		for _, r := range reqs {
			batch = append(batch, r.rs...)
		}
	}
	err := s.store.InsertRaw(ctx, batch)
	if err == nil {
		s.commits.Add(1)
		s.committed(batch)
		for _, r := range reqs {
			s.sem.release(len(r.rs))
			r.done <- nil
		}
		return
	}
	for _, r := range reqs {
		var rerr error
		if len(reqs) == 1 {
			rerr = err
		} else {
			rerr = s.store.InsertRaw(ctx, r.rs)
		}
		if rerr == nil {
			s.commits.Add(1)
			s.committed(r.rs)
		} else {
			rerr = citybrain.Errorf(citybrain.EUNAVAILABLE, "存储写入失败 storage write failed: %v", rerr)
		}
		s.sem.release(len(r.rs))
		r.done <- rerr
	}
}

func (s *Service) committed(rs []Reading) {
	if !s.lateArrival {
		for _, r := range rs {
			if r.TS < s.passBefore {
				s.lateArrival = true
				break
			}
		}
	}
	s.updateLatest(rs)
	if s.opt.OnCommit != nil {
		s.opt.OnCommit(rs)
	}
}

// semaphore is a weighted semaphore whose acquire honours a context.
type semaphore struct {
	mu    sync.Mutex
	avail int
	wake  chan struct{}
}

func newSemaphore(n int) *semaphore { return &semaphore{avail: n, wake: make(chan struct{})} }

func (s *semaphore) acquire(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if s.avail >= n {
			s.avail -= n
			s.mu.Unlock()
			return nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *semaphore) release(n int) {
	s.mu.Lock()
	s.avail += n
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *semaphore) available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.avail
}
