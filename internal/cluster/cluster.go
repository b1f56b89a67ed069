// Package cluster elects one leader among the nodes of a citybrain deployment, so that the
// jobs that must run once per cluster (the rule engine's evaluation and deadline sweep, alert
// escalation, work-order deadlines, telemetry compaction and retention, device silence sweeps,
// KPI push) run on exactly one node, and on another when that node dies.
//
// The election is a lock in the shared store (internal/store implements Locker with a
// PostgreSQL session advisory lock): the node that takes it leads until its database session
// ends — a crash or kill -9 closes the session and frees the lock at once — or until it
// notices that its session broke, when it stops its leader jobs. A single node on embedded
// storage has no Locker and is always the leader (the fast path).
//
// Concurrency: an Elector is safe for concurrent use; Leading may be called from any
// goroutine. Run is called once. The leader jobs get a context that ends when leadership
// ends; the lock is released only after they all returned, so a successor never overlaps a
// predecessor that stops in an orderly way. After a session break the old leader may run for
// up to one Check period while the new one has started: jobs must stay correct (idempotent
// writes) under that short overlap.
package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Lease is a held leader lock.
type Lease interface {
	// Check returns nil while the lock is still held (the session is alive).
	Check(ctx context.Context) error
	// Release gives the lock up.
	Release(ctx context.Context) error
}

// Locker takes the leader lock of one name without waiting.
type Locker interface {
	// TryLock returns a lease and true when this node now holds the lock, false when another
	// node holds it, or an error when the store cannot be reached.
	TryLock(ctx context.Context, name string) (Lease, bool, error)
}

// Config configures an Elector.
type Config struct {
	// Locker is the shared lock; nil makes this node always the leader (single node).
	Locker Locker
	// Name of the lock (default "citybrain-leader").
	Name string
	// Retry is how often a follower tries to take the lock (default 2 s).
	Retry time.Duration
	// Check is how often the leader checks it still holds the lock (default 2 s).
	Check time.Duration
	// Log, if set, is told about leadership changes; Warn, if set, about errors and losses.
	Log, Warn func(msg string, args ...any)
}

// Elector campaigns for leadership and runs the leader jobs while it leads.
type Elector struct {
	cfg     Config
	leading atomic.Bool
	terms   atomic.Int64
}

// New returns an elector; call Run to campaign. Without a Locker it leads from the start.
func New(cfg Config) *Elector {
	if cfg.Name == "" {
		cfg.Name = "citybrain-leader"
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	if cfg.Check <= 0 {
		cfg.Check = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.Warn == nil {
		cfg.Warn = cfg.Log
	}
	e := &Elector{cfg: cfg}
	if cfg.Locker == nil {
		e.leading.Store(true)
	}
	return e
}

// Clustered reports whether leadership is decided by a shared lock (false: single node).
func (e *Elector) Clustered() bool { return e.cfg.Locker != nil }

// Leading reports whether this node leads now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Terms returns how many times this node became the leader.
func (e *Elector) Terms() int64 { return e.terms.Load() }

// Run campaigns until ctx ends. Each time this node becomes the leader it calls lead with a
// context that ends when leadership is lost or ctx ends, and releases the lock after lead
// returned. Run returns when ctx ends.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	if e.cfg.Locker == nil {
		e.terms.Add(1)
		lead(ctx)
		return
	}
	for ctx.Err() == nil {
		lease, ok, err := e.cfg.Locker.TryLock(ctx, e.cfg.Name)
		switch {
		case err != nil && ctx.Err() == nil:
			e.cfg.Warn("cluster: leader lock unavailable", "err", err)
		case ok:
			e.term(ctx, lease, lead)
			continue // try again at once: another node may have failed meanwhile
		}
		select {
		case <-ctx.Done():
		case <-time.After(e.cfg.Retry):
		}
	}
}

// term runs one term of leadership.
func (e *Elector) term(ctx context.Context, lease Lease, lead func(ctx context.Context)) {
	e.terms.Add(1)
	e.leading.Store(true)
	e.cfg.Log("cluster: this node is the leader", "lock", e.cfg.Name)
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		lead(lctx)
	}()
	t := time.NewTicker(e.cfg.Check)
	lost := false
	for !lost && lctx.Err() == nil {
		select {
		case <-lctx.Done():
		case <-t.C:
			// a slow answer is not a lost lock: allow more than one period
			cctx, ccancel := context.WithTimeout(lctx, max(e.cfg.Check, 5*time.Second))
			err := lease.Check(cctx)
			ccancel()
			if err != nil && !errors.Is(lctx.Err(), context.Canceled) {
				e.cfg.Warn("cluster: leader lock lost; stopping the leader jobs", "err", err)
				e.leading.Store(false) // stop acting before the jobs have wound down
				lost = true
			}
		}
	}
	t.Stop()
	cancel()
	wg.Wait()
	e.leading.Store(false)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := lease.Release(rctx); err != nil && !lost {
		e.cfg.Warn("cluster: releasing the leader lock failed", "err", err)
	}
	e.cfg.Log("cluster: this node no longer leads", "lock", e.cfg.Name)
}
