package access

import (
	"sync"
	"time"
)

// throttle counts failures per key within a window and refuses keys over the limit.
// Memory is bounded by maxKeys: when full, expired entries are swept, then the oldest dropped.
type throttle struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	maxKeys int
	m       map[string]*failures
}

type failures struct {
	first time.Time
	n     int
}

func newThrottle(max int, window time.Duration, maxKeys int) *throttle {
	return &throttle{max: max, window: window, maxKeys: maxKeys, m: map[string]*failures{}}
}

func (t *throttle) allow(now time.Time, key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f == nil {
		return true
	}
	if now.Sub(f.first) > t.window {
		delete(t.m, key)
		return true
	}
	return f.n < t.max
}

func (t *throttle) fail(now time.Time, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f == nil || now.Sub(f.first) > t.window {
		if len(t.m) >= t.maxKeys {
			t.sweep(now)
		}
		f = &failures{first: now}
		t.m[key] = f
	}
	f.n++
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

func (t *throttle) sweep(now time.Time) {
	var oldestK string
	var oldest time.Time
	for k, f := range t.m {
		if now.Sub(f.first) > t.window {
			delete(t.m, k)
			continue
		}
		if oldestK == "" || f.first.Before(oldest) {
			oldestK, oldest = k, f.first
		}
	}
	if len(t.m) >= t.maxKeys && oldestK != "" {
		delete(t.m, oldestK)
	}
}
