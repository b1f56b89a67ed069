package ingest

import (
	"context"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// Sessions, subscriptions and retained messages survive a restart of the broker when a
// StateStore is configured.
func TestSessionsAndRetainedSurviveRestart(t *testing.T) {
	db := storetest.SQLite(t)
	ps, _ := device.BuiltinProfiles()
	svc := device.NewService(db, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	_, secret, err := svc.Create(context.Background(), device.Input{ID: "light-9", Profile: "streetlight"})
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*Broker, *Ingestor) {
		in := New(newMemWriter(), db, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(5), Config{})
		b, err := NewBroker(in, BrokerConfig{Addr: "127.0.0.1:0", State: db})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Serve(); err != nil {
			t.Fatal(err)
		}
		return b, in
	}
	connect := func(addr string, got chan string) (pahov3.Client, bool) {
		o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("light-9").SetUsername("light-9").SetPassword(secret).
			SetProtocolVersion(4).SetAutoReconnect(false).SetCleanSession(false).
			SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { got <- m.Topic() + " " + string(m.Payload()) })
		c := pahov3.NewClient(o)
		tok := c.Connect()
		if err := wait(t, tok); err != nil {
			t.Fatal(err)
		}
		return c, tok.(*pahov3.ConnectToken).SessionPresent()
	}
	b1, in1 := start()
	got := make(chan string, 10)
	c, present := connect(b1.Listener(), got)
	if present {
		t.Fatal("fresh session reported present")
	}
	if err := wait(t, c.Subscribe("devices/light-9/commands", 1, nil)); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, c.Publish("devices/light-9/config", 1, true, "dim=40")); err != nil {
		t.Fatal(err)
	}
	c.Disconnect(100)
	time.Sleep(100 * time.Millisecond)
	_ = b1.Close() // flushes the state
	in1.Close()

	b2, in2 := start()
	defer in2.Close()
	defer b2.Close()
	c2, present := connect(b2.Listener(), got)
	defer c2.Disconnect(50)
	if !present {
		t.Fatal("persistent session lost across the restart")
	}
	// the restored subscription receives a command without subscribing again
	if _, err := b2.SendCommand(context.Background(), "light-9", "switch", map[string]any{"on": true}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if len(m) < len("devices/light-9/commands") || m[:len("devices/light-9/commands")] != "devices/light-9/commands" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("restored subscription did not receive the command")
	}
	// the retained message is still there for a new subscriber
	if err := wait(t, c2.Subscribe("devices/light-9/config", 1, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "devices/light-9/config dim=40" {
			t.Fatalf("retained %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retained message lost across the restart")
	}
}
