package ingest

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/citybrain/citybrain/internal/telemetry"
)

// ReadingWriter stores readings durably. Append must return nil only once the readings survive
// kill -9; it may block for backpressure and must then return an error when ctx ends.
// internal/telemetry's *Service implements it. Append must not retain rs after it returns.
type ReadingWriter interface {
	Append(ctx context.Context, rs []telemetry.Reading) error
}

// job is one message waiting for its durable write and acknowledgement. A job may carry no
// readings (a refused message, an event already stored): it then only keeps its place in the
// device's acknowledgement order.
type job struct {
	batch *Batch
	done  func(err error)
}

// Pipeline batches the writes of many devices into few Append calls and runs each message's
// completion (PUBACK, HTTP reply) strictly after its readings are durable. A device always maps
// to the same shard, so completions of one device run in arrival order. Safe for concurrent use.
type Pipeline struct {
	w        ReadingWriter
	seed     maphash.Seed
	shards   []chan job
	maxBatch int
	after    func([]telemetry.Reading)
	pool     sync.Pool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// PipelineConfig tunes a Pipeline; zero fields take defaults.
type PipelineConfig struct {
	// Shards is the number of concurrent Append callers (default 4).
	Shards int
	// QueuePerShard bounds the messages waiting per shard (default 1024); a full queue blocks
	// the submitting connection.
	QueuePerShard int
	// MaxBatch bounds the readings per Append call (default 5000).
	MaxBatch int
	// AfterWrite, if set, receives every batch of readings after it is durable (for the bus).
	// It runs on the shard goroutine: it must be quick and must not retain the slice.
	AfterWrite func([]telemetry.Reading)
}

// NewPipeline starts a pipeline writing to w. Close stops it.
func NewPipeline(w ReadingWriter, cfg PipelineConfig) *Pipeline {
	if cfg.Shards <= 0 {
		cfg.Shards = 4
	}
	if cfg.QueuePerShard <= 0 {
		cfg.QueuePerShard = 1024
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 5000
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{w: w, seed: maphash.MakeSeed(), maxBatch: cfg.MaxBatch, after: cfg.AfterWrite, ctx: ctx, cancel: cancel}
	p.pool.New = func() any { return new(Batch) }
	p.shards = make([]chan job, cfg.Shards)
	for i := range p.shards {
		p.shards[i] = make(chan job, cfg.QueuePerShard)
		p.wg.Add(1)
		go p.run(p.shards[i])
	}
	return p
}

// GetBatch returns an empty Batch from the pool; hand it to Submit, which recycles it.
func (p *Pipeline) GetBatch() *Batch {
	b := p.pool.Get().(*Batch)
	b.Reset()
	return b
}

// PutBatch recycles a batch that was not submitted.
func (p *Pipeline) PutBatch(b *Batch) {
	if cap(b.Readings) <= 4096 {
		p.pool.Put(b)
	}
}

// Submit queues the batch of a device. done runs exactly once, after the readings are durable
// (err nil) or could not be stored (err set); with an empty batch it runs after the device's
// earlier messages completed. Submit blocks while the shard's queue is full; it returns ctx's
// error (and does not run done) when ctx ends first.
func (p *Pipeline) Submit(ctx context.Context, deviceID string, b *Batch, done func(error)) error {
	ch := p.shards[maphash.String(p.seed, deviceID)%uint64(len(p.shards))]
	select {
	case ch <- job{batch: b, done: done}:
		return nil
	default:
	}
	select {
	case ch <- job{batch: b, done: done}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// SubmitWhile is Submit for a connection: while the shard's queue is full it waits, giving up
// (without running done) once closed reports true.
func (p *Pipeline) SubmitWhile(closed func() bool, deviceID string, b *Batch, done func(error)) error {
	ch := p.shards[maphash.String(p.seed, deviceID)%uint64(len(p.shards))]
	select {
	case ch <- job{batch: b, done: done}:
		return nil
	default:
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case ch <- job{batch: b, done: done}:
			return nil
		case <-t.C:
			if closed() {
				return errConnClosed
			}
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
	}
}

const errConnClosed = constError("connection closed while waiting for the write queue")

func (p *Pipeline) run(ch chan job) {
	defer p.wg.Done()
	var jobs []job
	var all []telemetry.Reading
	for {
		var first job
		select {
		case first = <-ch:
		case <-p.ctx.Done():
			// fail what is still queued so no completion is lost
			for {
				select {
				case j := <-ch:
					j.done(p.ctx.Err())
				default:
					return
				}
			}
		}
		jobs = append(jobs[:0], first)
		all = append(all[:0], first.batch.Readings...)
	drain:
		for len(all) < p.maxBatch {
			select {
			case j := <-ch:
				jobs = append(jobs, j)
				all = append(all, j.batch.Readings...)
			default:
				break drain
			}
		}
		var err error
		if len(all) > 0 {
			err = p.w.Append(p.ctx, all)
		}
		for _, j := range jobs {
			j.done(err)
			p.PutBatch(j.batch)
		}
		if err == nil && len(all) > 0 && p.after != nil {
			p.after(all)
		}
		clear(jobs)
		if cap(all) > 4*p.maxBatch {
			all = nil
		}
	}
}

// Queued returns how many messages wait in the shard queues (not counting those being written).
func (p *Pipeline) Queued() int {
	n := 0
	for _, ch := range p.shards {
		n += len(ch)
	}
	return n
}

// Close stops the shards; queued messages complete with an error (they were not acknowledged).
func (p *Pipeline) Close() {
	p.cancel()
	p.wg.Wait()
}
