package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is one pushed change.
type Event struct {
	ID   string          `json:"id"` // "<epoch>-<seq>": resumable within one process lifetime
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	seq  uint64
}

// Hub keeps the most recent events in a bounded ring and wakes streaming browsers.
type Hub struct {
	mu     sync.Mutex
	epoch  string
	seq    uint64
	ring   []Event
	next   int
	filled bool
	wake   chan struct{}
}

// NewHub returns a hub keeping the last size events. epoch distinguishes process lifetimes
// so a browser resuming with an id from an earlier process is told to reload.
func NewHub(size int, epoch string) *Hub {
	if size <= 0 {
		size = 10000
	}
	return &Hub{epoch: epoch, ring: make([]Event, size), wake: make(chan struct{})}
}

// Publish appends an event of the given type.
func (h *Hub) Publish(typ string, data []byte) {
	h.mu.Lock()
	h.seq++
	ev := Event{ID: h.epoch + "-" + strconv.FormatUint(h.seq, 10), Type: typ, Data: append(json.RawMessage(nil), data...), seq: h.seq}
	h.ring[h.next] = ev
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.filled = true
	}
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
}

// since returns events after seq (in order), whether events were lost (seq older than the
// ring), and a channel closed at the next publish.
func (h *Hub) since(seq uint64) (evs []Event, lost bool, wake <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.ring)
	count := h.next
	start := 0
	if h.filled {
		count = n
		start = h.next
	}
	oldest := h.seq - uint64(count) + 1
	if count > 0 && seq+1 < oldest {
		lost = true
	}
	for i := 0; i < count; i++ {
		ev := h.ring[(start+i)%n]
		if ev.seq > seq {
			evs = append(evs, ev)
		}
	}
	return evs, lost, h.wake
}

// position parses a Last-Event-ID. ok is false when it belongs to another process lifetime.
func (h *Hub) position(lastID string) (seq uint64, ok bool) {
	if lastID == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.seq, true
	}
	ep, s, found := strings.Cut(lastID, "-")
	if !found || ep != h.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// Writer is what Stream writes to: an SSE response.
type Writer interface {
	Write([]byte) (int, error)
	Flush() error
}

// Filter lets the caller drop or rewrite an event for the reader (governance); returning
// nil data drops the event.
type Filter func(ctx context.Context, ev Event) (json.RawMessage, error)

// Stream writes events after lastID to w until ctx ends. A "reset" event tells the browser
// that events were lost (it reloads its state); a comment every 15 s keeps proxies open.
func (h *Hub) Stream(ctx context.Context, w Writer, lastID string, types map[string]bool, filter Filter) error {
	seq, ok := h.position(lastID)
	if !ok {
		seq, _ = h.position("")
		if err := writeEvent(w, Event{ID: h.epoch + "-" + strconv.FormatUint(seq, 10), Type: "reset", Data: json.RawMessage(`{"reason":"resume id from another server lifetime"}`)}); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "retry: 2000\n\n"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		evs, lost, wake := h.since(seq)
		if lost {
			if err := writeEvent(w, Event{ID: h.epoch + "-" + strconv.FormatUint(seq, 10), Type: "reset", Data: json.RawMessage(`{"reason":"too far behind"}`)}); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			seq = ev.seq
			if len(types) > 0 && !types[ev.Type] {
				continue
			}
			if filter != nil {
				d, err := filter(ctx, ev)
				if err != nil || d == nil {
					continue
				}
				ev.Data = d
			}
			if err := writeEvent(w, ev); err != nil {
				return err
			}
		}
		if len(evs) > 0 || lost {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-keepalive.C:
			if _, err := fmt.Fprintf(w, ": keepalive\n\n"); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

func writeEvent(w Writer, ev Event) error {
	data := strings.ReplaceAll(string(ev.Data), "\n", "")
	_, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data)
	return err
}
