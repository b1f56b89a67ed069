package telemetry

import (
	"context"
	"testing"
	"time"
)

// TestObserve: readings another node stored become the latest values here when newer, are
// ignored when older, and nothing is stored.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	s, err := Open(ctx, st, Options{MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, []Reading{{DeviceID: "d1", Measurement: "level_cm", TS: 2000, Value: 5}}); err != nil {
		t.Fatal(err)
	}
	s.Observe([]Reading{{DeviceID: "d1", Measurement: "level_cm", TS: 1000, Value: 1}, {DeviceID: "d2", Measurement: "t", TS: 3000, Value: 7}})
	for _, c := range []struct {
		dev, m string
		want   Point
	}{{"d1", "level_cm", Point{2000, 5}}, {"d2", "t", Point{3000, 7}}} {
		l, _ := s.Latest(ctx, c.dev)
		if l[c.m] != c.want {
			t.Errorf("latest %s/%s = %+v, want %+v", c.dev, c.m, l[c.m], c.want)
		}
	}
	s.Observe([]Reading{{DeviceID: "d1", Measurement: "level_cm", TS: 4000, Value: 9}})
	if got := s.LastSeen("d1"); got != 4000 {
		t.Errorf("LastSeen after a newer observed reading = %d, want 4000", got)
	}
	pts, err := s.Query(ctx, Query{DeviceID: "d2", Measurement: "t", From: time.UnixMilli(1), To: time.UnixMilli(10000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 0 {
		t.Errorf("Observe stored readings: %v", pts)
	}
}
