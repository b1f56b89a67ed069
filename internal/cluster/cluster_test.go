package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memLocker is a lock shared by electors in one process; broken simulates a lost session.
type memLocker struct {
	mu     sync.Mutex
	holder *memLease
}

type memLease struct {
	l      *memLocker
	broken bool
}

func (m *memLocker) TryLock(_ context.Context, _ string) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder != nil {
		return nil, false, nil
	}
	m.holder = &memLease{l: m}
	return m.holder, true, nil
}

func (l *memLease) Check(context.Context) error {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	if l.broken {
		return errors.New("session broke")
	}
	return nil
}

func (l *memLease) Release(context.Context) error {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	if l.l.holder == l {
		l.l.holder = nil
	}
	return nil
}

// breakSession frees the lock as the database would and makes the holder's Check fail.
func (m *memLocker) breakSession() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder != nil {
		m.holder.broken = true
		m.holder = nil
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSingleNodeAlwaysLeads(t *testing.T) {
	e := New(Config{})
	if !e.Leading() || e.Clustered() {
		t.Fatal("without a Locker the node must lead from the start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	go cancel()
	e.Run(ctx, func(ctx context.Context) { ran = true; <-ctx.Done() })
	if !ran || e.Terms() != 1 {
		t.Fatalf("lead ran=%v terms=%d", ran, e.Terms())
	}
}

// TestFailover: of two electors on one lock exactly one leads; when its node stops the other
// takes over, and when the leader's session breaks it stops leading and the other takes over.
func TestFailover(t *testing.T) {
	lock := &memLocker{}
	type node struct {
		e       *Elector
		cancel  context.CancelFunc
		done    chan struct{}
		running sync.Mutex
		jobs    int
	}
	start := func() *node {
		n := &node{e: New(Config{Locker: lock, Retry: 10 * time.Millisecond, Check: 10 * time.Millisecond}), done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		go func() {
			defer close(n.done)
			n.e.Run(ctx, func(ctx context.Context) {
				n.running.Lock()
				n.jobs++
				n.running.Unlock()
				<-ctx.Done()
				n.running.Lock()
				n.jobs--
				n.running.Unlock()
			})
		}()
		return n
	}
	a, b := start(), start()
	defer a.cancel()
	defer b.cancel()
	leaders := func() []*node {
		var out []*node
		for _, n := range []*node{a, b} {
			if n.e.Leading() {
				out = append(out, n)
			}
		}
		return out
	}
	waitFor(t, "a leader", func() bool { return len(leaders()) == 1 })
	first := leaders()[0]
	second := a
	if first == a {
		second = b
	}
	for i := 0; i < 20; i++ {
		if l := leaders(); len(l) != 1 || l[0] != first {
			t.Fatalf("leadership moved or doubled without a failure: %d leaders", len(l))
		}
		time.Sleep(5 * time.Millisecond)
	}

	lock.breakSession()
	waitFor(t, "the old leader to step down", func() bool { return !first.e.Leading() })
	waitFor(t, "the other node to take over", func() bool { return second.e.Leading() })
	if second.e.Terms() != 1 {
		t.Fatalf("second node terms = %d, want 1", second.e.Terms())
	}

	second.cancel()
	<-second.done
	second.running.Lock()
	jobs := second.jobs
	second.running.Unlock()
	if jobs != 0 || second.e.Leading() {
		t.Fatalf("stopped node: jobs=%d leading=%v", jobs, second.e.Leading())
	}
	waitFor(t, "the first node to lead again", func() bool { return first.e.Leading() })
	if first.e.Terms() != 2 {
		t.Fatalf("first node terms = %d, want 2", first.e.Terms())
	}
}
