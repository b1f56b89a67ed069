package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/simulate"
)

// TestDevicesWiredToBus: a reading published over MQTT to the wired platform is stored, then
// announced on the bus with the device's profile; its status change and events are too.
func TestDevicesWiredToBus(t *testing.T) {
	a := testApp(t)
	if a.broker == nil {
		t.Fatal("broker not started")
	}
	ctx := context.Background()
	_, secret, err := a.devices.Create(ctx, device.Input{ID: "wb-1", Profile: "smoke_detector", Area: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 16)
	for _, subj := range []string{bus.SubjectTelemetry, bus.SubjectEvents, bus.SubjectStatus} {
		unsub, err := a.bus.Subscribe(subj+".>", func(subject string, data []byte) { got <- subject + " " + string(data) })
		if err != nil {
			t.Fatal(err)
		}
		defer unsub()
	}
	c, err := simulate.Dial(ctx, a.broker.Listener(), simulate.ConnectOptions{ClientID: "wb-1", Username: "wb-1", Password: secret, CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ts := time.Now().UnixMilli()
	if err := c.Publish(ctx, "devices/wb-1/telemetry", []byte(`{"ts": `+jsonInt(ts)+`, "values": {"smoke": true, "battery": 15}}`), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "devices/wb-1/events", []byte(`{"type": "smoke_alarm"}`), 1); err != nil {
		t.Fatal(err)
	}
	// stored before the PUBACK: queryable now
	latest, err := a.telemetry.Latest(ctx, "wb-1")
	if err != nil || latest["smoke"].Value != 1 || latest["smoke"].TS != ts {
		t.Fatalf("latest %+v %v", latest, err)
	}
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !(seen["telemetry"] && seen["events"] && seen["status"]) {
		select {
		case m := <-got:
			switch {
			case len(m) > len(bus.SubjectTelemetry) && m[:len(bus.SubjectTelemetry)] == bus.SubjectTelemetry:
				var tm bus.TelemetryMsg
				if err := json.Unmarshal([]byte(m[len(bus.SubjectTelemetry)+len(".wb-1 "):]), &tm); err != nil || tm.Device != "wb-1" || tm.Profile != "smoke_detector" || len(tm.Readings) != 2 {
					t.Fatalf("telemetry message %q (%v)", m, err)
				}
				seen["telemetry"] = true
			case len(m) > len(bus.SubjectEvents) && m[:len(bus.SubjectEvents)] == bus.SubjectEvents:
				seen["events"] = true
			case len(m) > len(bus.SubjectStatus) && m[:len(bus.SubjectStatus)] == bus.SubjectStatus:
				seen["status"] = true
			}
		case <-deadline:
			t.Fatalf("bus messages seen: %v", seen)
		}
	}
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
