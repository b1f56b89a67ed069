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

// TestFailover: of two electors on one lock exactly one leads; when the leader's session
// breaks its jobs stop (it may win the lock again), and when the leading node stops the
// other takes over.
func TestFailover(t *testing.T) {
	lock := &memLocker{}
	type node struct {
		e      *Elector
		cancel context.CancelFunc
		done   chan struct{}
		mu     sync.Mutex
		jobs   int // lead calls running
		ended  int // lead calls returned
	}
	start := func() *node {
		n := &node{e: New(Config{Locker: lock, Retry: 10 * time.Millisecond, Check: 10 * time.Millisecond}), done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		go func() {
			defer close(n.done)
			n.e.Run(ctx, func(ctx context.Context) {
				n.mu.Lock()
				n.jobs++
				n.mu.Unlock()
				<-ctx.Done()
				n.mu.Lock()
				n.jobs--
				n.ended++
				n.mu.Unlock()
			})
		}()
		return n
	}
	count := func(n *node) (jobs, ended int) {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.jobs, n.ended
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
	for i := 0; i < 20; i++ {
		if l := leaders(); len(l) != 1 || l[0] != first {
			t.Fatalf("leadership moved or doubled without a failure: %d leaders", len(l))
		}
		if jobs, _ := count(first); jobs != 1 {
			t.Fatalf("leader runs %d lead calls, want 1", jobs)
		}
		time.Sleep(5 * time.Millisecond)
	}

	lock.breakSession()
	waitFor(t, "the broken leader's jobs to stop", func() bool { _, ended := count(first); return ended == 1 })
	waitFor(t, "one leader again", func() bool { return len(leaders()) == 1 })
	if a.e.Terms()+b.e.Terms() != 2 {
		t.Fatalf("terms after the break: %d + %d, want 2 in all", a.e.Terms(), b.e.Terms())
	}

	leader := leaders()[0]
	other := a
	if leader == a {
		other = b
	}
	before := other.e.Terms()
	leader.cancel()
	<-leader.done
	if jobs, _ := count(leader); jobs != 0 || leader.e.Leading() {
		t.Fatalf("stopped node: jobs=%d leading=%v", jobs, leader.e.Leading())
	}
	waitFor(t, "the other node to take over", func() bool { return other.e.Leading() })
	if other.e.Terms() != before+1 {
		t.Fatalf("other node terms = %d, want %d", other.e.Terms(), before+1)
	}
}
