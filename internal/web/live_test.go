package web

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

type buf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buf) Flush() error                { return nil }
func (b *buf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func waitFor(t *testing.T, b *buf, s string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if strings.Contains(b.String(), s) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%q not streamed; got:\n%s", s, b.String())
}

func TestResumeAfterReconnectLosesNothing(t *testing.T) {
	h := NewHub(100, "e1")
	ctx, cancel := context.WithCancel(context.Background())
	first := &buf{}
	done := make(chan struct{})
	go func() { h.Stream(ctx, first, "", nil, nil); close(done) }()
	time.Sleep(20 * time.Millisecond)
	h.Publish("alert", []byte(`{"n":1}`))
	waitFor(t, first, `{"n":1}`)
	cancel()
	<-done
	// While disconnected, two more events happen.
	h.Publish("alert", []byte(`{"n":2}`))
	h.Publish("status", []byte(`{"n":3}`))
	second := &buf{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go h.Stream(ctx2, second, "e1-1", nil, nil)
	waitFor(t, second, `{"n":3}`)
	if strings.Contains(second.String(), `{"n":1}`) {
		t.Fatal("event 1 replayed after resume from it")
	}
	if !strings.Contains(second.String(), `{"n":2}`) {
		t.Fatal("event 2 lost")
	}
}

func TestResetWhenTooFarBehindOrOtherEpoch(t *testing.T) {
	h := NewHub(3, "e2")
	for i := 0; i < 10; i++ {
		h.Publish("alert", []byte(`{}`))
	}
	for _, last := range []string{"e2-1", "old-5"} {
		b := &buf{}
		ctx, cancel := context.WithCancel(context.Background())
		go h.Stream(ctx, b, last, nil, nil)
		waitFor(t, b, "event: reset")
		cancel()
	}
}

func TestTypeFilterAndGovernanceFilter(t *testing.T) {
	h := NewHub(10, "e3")
	h.Publish("alert", []byte(`{"secret":"x"}`))
	h.Publish("kpi", []byte(`{"k":1}`))
	b := &buf{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Stream(ctx, b, "e3-0", map[string]bool{"alert": true}, func(ctx context.Context, ev Event) (json.RawMessage, error) {
		return json.RawMessage(`{"secret":"***"}`), nil
	})
	waitFor(t, b, `{"secret":"***"}`)
	if strings.Contains(b.String(), `"k":1`) || strings.Contains(b.String(), `"secret":"x"`) {
		t.Fatalf("filters not applied:\n%s", b.String())
	}
}
