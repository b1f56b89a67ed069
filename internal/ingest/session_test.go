package ingest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// A device reconnects to its persistent session, which holds a queued QoS 1 message, and
// subscribes again as every client library does. The broker resends the queued message with
// packet id 1 and the client's SUBSCRIBE also carries id 1: the ids of each side are
// independent (MQTT 5 §2.2.1), so the subscription must be granted, not refused with 0x91, and
// the message must still be delivered once and completed by the client's PUBACK.
func TestResubscribeWhileQueuedMessageInFlight(t *testing.T) {
	e := newEnv(t, newMemWriter())
	id, secret := "gen-1", e.secrets["gen-1"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	expiry := uint32(600)
	connect := func(cfg paho.ClientConfig) (*paho.Client, *paho.Connack) {
		t.Helper()
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Conn = conn
		c := paho.NewClient(cfg)
		ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, Username: id, Password: []byte(secret), UsernameFlag: true,
			PasswordFlag: true, KeepAlive: 30, CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
		if err != nil {
			t.Fatal(err)
		}
		return c, ca
	}

	first, _ := connect(paho.ClientConfig{})
	if sa, err := first.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "devices/gen-1/config", QoS: 1}}}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("first subscribe: %v %v", sa, err)
	}
	if err := first.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return e.b.Connected() == 0 })

	// While the device is away, another connection of the same device publishes: queued.
	pub, err := e.v3(id, secret, func(o *pahov3.ClientOptions) { o.SetClientID("gen-1-pub") })
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t, pub.Publish("devices/gen-1/config", 1, false, "queued")); err != nil {
		t.Fatal(err)
	}
	pub.Disconnect(50)

	got := make(chan *paho.Publish, 4)
	var c *paho.Client
	c, ca := connect(paho.ClientConfig{
		EnableManualAcknowledgment: true, // hold the PUBACK so that the queued message stays in flight
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}},
	})
	if !ca.SessionPresent {
		t.Fatal("session not present after reconnect")
	}
	var queued *paho.Publish
	select {
	case queued = <-got:
	case <-ctx.Done():
		t.Fatal("queued message not delivered after reconnect")
	}
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "devices/gen-1/config", QoS: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Reasons[0] != 1 {
		t.Fatalf("re-subscribe while message id %d in flight: reason 0x%02x, want 0x01 (granted QoS 1)", queued.PacketID, sa.Reasons[0])
	}
	if string(queued.Payload) != "queued" {
		t.Fatalf("queued payload %q", queued.Payload)
	}
	if err := c.Ack(queued); err != nil {
		t.Fatal(err)
	}
	// The PUBACK completes the message: nothing is left in flight for the session.
	waitFor(t, func() bool {
		cl, ok := e.b.srv.Clients.Get(id)
		return ok && cl.State.Inflight.Len() == 0
	})
	_ = c.Disconnect(&paho.Disconnect{})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
