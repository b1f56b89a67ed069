package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// MinRetention is the shortest retention the log accepts: six months (网络安全法 art. 21),
// counted generously as 183 days.
const MinRetention = 183 * 24 * time.Hour

// Defaults for Config.
const (
	DefaultQueueSize          = 8192
	DefaultMaxBatch           = 1024
	DefaultCheckpointEvery    = 10000
	DefaultCheckpointInterval = 5 * time.Minute
)

// Config configures a Log. Store and Keys are required.
type Config struct {
	Store Store
	Keys  Keys
	// Now stamps entries that come without a time and checkpoints; time.Now when nil.
	Now func() time.Time
	// QueueSize bounds the entries waiting for the writer; Record blocks when it is full.
	QueueSize int
	// MaxBatch bounds the entries committed in one storage transaction.
	MaxBatch int
	// CheckpointEvery signs a checkpoint after this many new entries (negative: never by count).
	CheckpointEvery int64
	// CheckpointInterval signs a checkpoint this often when the log has grown (negative: never
	// by time). The ticker uses real time.
	CheckpointInterval time.Duration
	// Retention is how long entries are kept at least; 0 means MinRetention; shorter is refused.
	Retention time.Duration
}

// Recorder is what the rest of the platform needs from the audit log: record one entry,
// durably, before the recorded action's result is released. *Log implements it.
type Recorder interface {
	Record(ctx context.Context, e Entry) (int64, error)
}

var _ Recorder = (*Log)(nil)

// Log is the audit log: one writer goroutine appending in batches, checkpoints, and reads.
type Log struct {
	store     Store
	keys      Keys
	now       func() time.Time
	maxBatch  int
	ckEvery   int64
	ckEveryT  time.Duration
	retention time.Duration

	queue  chan *request
	ckReq  chan chan ckResult
	done   chan struct{} // closed when the writer exits
	closeM sync.RWMutex  // write-held by Close while it closes queue
	closed bool

	mu     sync.Mutex // guards size, latest (read by other goroutines)
	size   int64
	latest Checkpoint

	// owned by the writer goroutine
	fr       frontier
	buf      []byte
	writeErr error
}

type request struct {
	e     Entry
	reply chan result
}

type result struct {
	seq int64
	err error
}

type ckResult struct {
	c   Checkpoint
	err error
}

// Open loads the log from cfg.Store and starts its writer. It refuses to continue a log whose
// stored hashes do not match its latest checkpoint, or whose checkpoint was signed by another
// key, because signing new checkpoints on top of either would hide the damage: run Verify.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Store == nil || cfg.Keys.Signer == nil || cfg.Keys.Verifier == nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "audit: store and keys are required")
	}
	if cfg.Retention == 0 {
		cfg.Retention = MinRetention
	}
	if cfg.Retention < MinRetention {
		return nil, citybrain.FieldError("retention", "审计日志至少保留六个月 (audit retention must be at least 6 months, got %s)", cfg.Retention)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = DefaultCheckpointEvery
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	l := &Log{
		store: cfg.Store, keys: cfg.Keys, now: cfg.Now, maxBatch: cfg.MaxBatch,
		ckEvery: cfg.CheckpointEvery, ckEveryT: cfg.CheckpointInterval, retention: cfg.Retention,
		queue: make(chan *request, cfg.QueueSize), ckReq: make(chan chan ckResult), done: make(chan struct{}),
	}
	size, err := l.store.AuditSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	l.fr, err = loadFrontier(size, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	l.size = size
	latest, err := l.store.LatestAuditCheckpoint(ctx)
	switch {
	case citybrain.ErrorCode(err) == citybrain.ENOTFOUND:
		// A new log signs its empty tree at once, so a store holding entries but no checkpoint
		// at all has lost its checkpoints; signing now would bless whatever is left.
		if size > 0 {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "审计日志有 %d 条记录却没有检查点 (audit log has %d entries but no checkpoint; run `citybrain audit verify`)", size, size)
		}
		if _, err := l.checkpoint(ctx); err != nil {
			return nil, fmt.Errorf("audit: open: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("audit: open: %w", err)
	default:
		tree, _, err := OpenCheckpoint(latest.Note, l.keys.Verifier)
		if err != nil {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "审计日志最新检查点无法用当前密钥验证 (latest checkpoint does not verify with this key; run `citybrain audit verify`): %v", err)
		}
		if tree.N > size {
			return nil, citybrain.Errorf(citybrain.ECONFLICT, "审计日志比其检查点短 (audit log has %d entries, its checkpoint %d; run `citybrain audit verify`)", size, tree.N)
		}
		if tree.N > 0 {
			h, err := tlog.TreeHash(tree.N, l.hashReader(ctx))
			if err != nil {
				return nil, fmt.Errorf("audit: open: %w", err)
			}
			if h != tree.Hash {
				return nil, citybrain.Errorf(citybrain.ECONFLICT, "审计日志与其检查点不一致 (audit log does not match its checkpoint at size %d; run `citybrain audit verify`)", tree.N)
			}
		}
		latest.Size, latest.Root = tree.N, tree.Hash
		l.latest = latest
	}
	go l.run()
	return l, nil
}

// hashReader adapts the store to tlog.HashReader.
func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return storeHashReader(ctx, l.store)
}

func storeHashReader(ctx context.Context, s Store) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		if len(idx) == 0 {
			return nil, nil
		}
		return s.ReadAuditHashes(ctx, idx)
	})
}

// maxAppendAttempts bounds the retries of one batch against other writers of the same store.
const maxAppendAttempts = 500

// ErrClosed is returned by Record and Checkpoint after Close.
var ErrClosed = citybrain.Errorf(citybrain.EUNAVAILABLE, "审计日志已关闭 (audit log closed)")

// Record appends e and returns its sequence number once it is durably stored. It fills Seq,
// Time (when zero) and, when e.Actor is zero, the actor and purpose of ctx
// (citybrain.ActorFrom). It blocks while the queue is full (backpressure) until ctx ends, then
// returns ETOOMANY.
func (l *Log) Record(ctx context.Context, e Entry) (int64, error) {
	if e.Actor == (Actor{}) {
		if a := citybrain.ActorFrom(ctx); a != nil {
			e.Actor = ActorOf(a)
			if e.Purpose == "" {
				e.Purpose = a.Purpose
			}
		}
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if err := e.normalize(); err != nil {
		return 0, err
	}
	req := &request{e: e, reply: make(chan result, 1)}
	l.closeM.RLock()
	if l.closed {
		l.closeM.RUnlock()
		return 0, ErrClosed
	}
	select {
	case l.queue <- req:
		l.closeM.RUnlock()
	case <-ctx.Done():
		l.closeM.RUnlock()
		return 0, citybrain.Errorf(citybrain.ETOOMANY, "审计日志队列已满 (audit queue full): %v", ctx.Err())
	}
	// Once queued the entry will be written; wait for the outcome even if ctx ends, so a caller
	// never proceeds believing an access went unrecorded when it was recorded, or vice versa.
	r := <-req.reply
	return r.seq, r.err
}

// Checkpoint signs a checkpoint of everything recorded so far (after entries already queued are
// written) and returns it. When nothing was added since the latest checkpoint it returns that.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	reply := make(chan ckResult, 1)
	select {
	case l.ckReq <- reply:
	case <-l.done:
		return Checkpoint{}, ErrClosed
	case <-ctx.Done():
		return Checkpoint{}, ctx.Err()
	}
	select {
	case r := <-reply:
		return r.c, r.err
	case <-ctx.Done():
		return Checkpoint{}, ctx.Err()
	}
}

// Close stops accepting entries, writes those queued, signs a final checkpoint and waits for the
// writer to exit (or ctx to end).
func (l *Log) Close(ctx context.Context) error {
	l.closeM.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.closeM.Unlock()
	select {
	case <-l.done:
		return l.writeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Size returns the number of entries written.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Latest returns the latest signed checkpoint; ENOTFOUND before the first.
func (l *Log) Latest() (Checkpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.latest.Note == nil {
		return Checkpoint{}, citybrain.Errorf(citybrain.ENOTFOUND, "审计日志尚无检查点 (no checkpoint yet)")
	}
	return l.latest, nil
}

// VerifierKey returns the public key that verifies this log's checkpoints.
func (l *Log) VerifierKey() string { return l.keys.VerifierKey }

// Verifier returns the verifier of this log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.keys.Verifier }

// Retention returns the configured retention.
func (l *Log) Retention() time.Duration { return l.retention }

// RetentionExpired reports whether an entry recorded at t is past the retention period at now,
// that is whether an archived epoch made only of such entries may leave the live store.
func RetentionExpired(t, now time.Time, retention time.Duration) bool {
	if retention < MinRetention {
		retention = MinRetention
	}
	return now.Sub(t) > retention
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.ckEveryT > 0 {
		t := time.NewTicker(l.ckEveryT)
		defer t.Stop()
		tick = t.C
	}
	ctx := context.Background()
	batch := make([]*request, 0, l.maxBatch)
	for {
		select {
		case req, ok := <-l.queue:
			if !ok {
				if l.fr.n > l.latestSize() {
					if _, err := l.checkpoint(ctx); err != nil {
						l.writeErr = err
					}
				}
				return
			}
			batch = append(batch[:0], req)
		fill:
			for len(batch) < l.maxBatch {
				select {
				case r, ok := <-l.queue:
					if !ok {
						break fill // the closed queue is seen again by the outer loop
					}
					batch = append(batch, r)
				default:
					break fill
				}
			}
			l.commit(ctx, batch)
			if l.ckEvery > 0 && l.fr.n-l.latestSize() >= l.ckEvery {
				if _, err := l.checkpoint(ctx); err != nil {
					l.writeErr = err
				}
			}
		case <-tick:
			if l.fr.n > l.latestSize() {
				if _, err := l.checkpoint(ctx); err != nil {
					l.writeErr = err
				}
			}
		case reply := <-l.ckReq:
			// Write what is already queued first so "on demand" covers every returned Record.
			l.drain(ctx, batch)
			c, err := l.checkpoint(ctx)
			reply <- ckResult{c, err}
		}
	}
}

// drain commits everything queued right now, in batches.
func (l *Log) drain(ctx context.Context, batch []*request) {
	for {
		batch = batch[:0]
		more := true
		for more && len(batch) < l.maxBatch {
			select {
			case r, ok := <-l.queue:
				if ok {
					batch = append(batch, r)
				} else {
					more = false
				}
			default:
				more = false
			}
		}
		if len(batch) > 0 {
			l.commit(ctx, batch)
		}
		if !more {
			return
		}
	}
}

func (l *Log) latestSize() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest.Size
}

// commit writes one batch and answers its requests. When the store reports a conflict (another
// process appended first, as when several nodes share one PostgreSQL database and one key) it
// reloads the frontier and renumbers the batch, backing off at random between attempts.
func (l *Log) commit(ctx context.Context, batch []*request) {
	reqs := make([]*request, 0, len(batch))
	sizes := make([]int, 0, len(batch))
	for _, req := range batch {
		e := req.e
		l.buf = e.AppendCanonical(l.buf[:0])
		if len(l.buf)+20 > MaxEntryBytes { // room for the real seq (at most 19 digits)
			req.reply <- result{err: citybrain.Errorf(citybrain.ETOOLARGE, "审计记录过大 (entry over %d bytes)", MaxEntryBytes)}
			continue
		}
		reqs = append(reqs, req)
		sizes = append(sizes, len(l.buf))
	}
	if len(reqs) == 0 {
		return
	}
	var err error
	for attempt := 0; attempt < maxAppendAttempts; attempt++ {
		err = nil
		fr := l.fr.clone()
		recs := make([]Record, len(reqs))
		for i, req := range reqs {
			e := req.e
			e.Seq = fr.n
			data := e.AppendCanonical(make([]byte, 0, sizes[i]+20))
			hashes, herr := fr.add(tlog.RecordHash(data))
			if herr != nil {
				err = fmt.Errorf("audit: hash: %w", herr)
				break
			}
			recs[i] = Record{Seq: e.Seq, Data: data, Hashes: hashes, Entry: e}
		}
		if err != nil {
			break
		}
		if err = l.store.AppendAudit(ctx, recs); err == nil {
			l.fr = fr
			l.mu.Lock()
			l.size = fr.n
			l.mu.Unlock()
			for i, req := range reqs {
				req.reply <- result{seq: recs[i].Seq}
			}
			return
		}
		err = fmt.Errorf("audit: append: %w", err)
		// The store may hold more than we think: appended by another process, or committed
		// although the commit reported an error. Continue from what it actually holds.
		changed := l.resync(ctx)
		if citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			break
		}
		if attempt > 0 || !changed {
			// Another writer keeps winning the race for the next number: back off for a random
			// while (growing, at most 50 ms) so that the writers take turns instead of one starving.
			d := time.Duration(rand.Int64N(int64(min(attempt+1, 25)) * int64(2*time.Millisecond)))
			select {
			case <-ctx.Done():
				attempt = maxAppendAttempts
			case <-time.After(d):
			}
		}
	}
	for _, req := range reqs {
		req.reply <- result{err: err}
	}
}

// resync reloads the frontier when the store's size differs from ours; it reports whether it did.
func (l *Log) resync(ctx context.Context) bool {
	size, err := l.store.AuditSize(ctx)
	if err != nil || size == l.fr.n {
		return false
	}
	fr, err := loadFrontier(size, l.hashReader(ctx))
	if err != nil {
		return false
	}
	l.fr = fr
	l.mu.Lock()
	l.size = size
	l.mu.Unlock()
	return true
}

// checkpoint signs and stores a checkpoint of the current tree, after proving it consistent
// with the previous one (a log must never sign a tree that does not extend its last one).
func (l *Log) checkpoint(ctx context.Context) (Checkpoint, error) {
	l.mu.Lock()
	prev := l.latest
	l.mu.Unlock()
	if prev.Note != nil && prev.Size == l.fr.n {
		return prev, nil
	}
	root, err := l.fr.root()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if prev.Note != nil && prev.Size > 0 {
		p, err := tlog.ProveTree(l.fr.n, prev.Size, l.hashReader(ctx))
		if err != nil {
			return Checkpoint{}, fmt.Errorf("audit: checkpoint: consistency proof: %w", err)
		}
		if err := tlog.CheckTree(p, l.fr.n, root, prev.Size, prev.Root); err != nil {
			return Checkpoint{}, citybrain.Errorf(citybrain.ECONFLICT, "审计日志与上一个检查点不一致，拒绝签名 (refusing to sign: tree %d does not extend checkpoint %d): %v", l.fr.n, prev.Size, err)
		}
	}
	c, err := SignCheckpoint(l.keys.Signer, tlog.Tree{N: l.fr.n, Hash: root}, l.now())
	if err != nil {
		return Checkpoint{}, err
	}
	if err := l.store.AddAuditCheckpoint(ctx, c); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	l.mu.Lock()
	l.latest = c
	l.mu.Unlock()
	return c, nil
}

// Get returns entry seq, decoded from its stored bytes.
func (l *Log) Get(ctx context.Context, seq int64) (Entry, error) {
	recs, err := l.store.ReadAuditRecords(ctx, seq, 1)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: get: %w", err)
	}
	if len(recs) == 0 || recs[0].Seq != seq {
		return Entry{}, citybrain.Errorf(citybrain.ENOTFOUND, "审计记录 %d 不存在 (audit entry %d not found)", seq, seq)
	}
	return ParseEntry(recs[0].Data)
}

// Page is one page of search results.
type Page struct {
	Entries []Entry
	// Next is the cursor (Query.Before) of the following page, 0 when this is the last.
	Next int64
}

// Search returns entries matching q, newest first. Entries are decoded from their authenticated
// bytes and the filters are checked again on them, so a tampered search column can hide an entry
// from a search (Verify still catches it) but never show a wrong one.
func (l *Log) Search(ctx context.Context, q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	if q.Before < 0 {
		return Page{}, citybrain.FieldError("before", "游标无效 (bad cursor)")
	}
	recs, err := l.store.SearchAudit(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("audit: search: %w", err)
	}
	var p Page
	for _, r := range recs {
		e, err := ParseEntry(r.Data)
		if err != nil || e.Seq != r.Seq || !q.matches(&e) {
			continue
		}
		p.Entries = append(p.Entries, e)
	}
	if len(recs) == q.Limit && len(recs) > 0 {
		p.Next = recs[len(recs)-1].Seq
	}
	return p, nil
}
