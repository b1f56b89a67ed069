package bus

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func roundTrip(t *testing.T, b *Bus) {
	t.Helper()
	got := make(chan string, 1)
	stop, err := b.Subscribe(SubjectTelemetry+".>", func(subject string, data []byte) { got <- subject + "=" + string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := b.Publish(SubjectTelemetry+"."+Token("ws.1"), []byte("42")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "cb.telemetry.ws_1=42" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	if err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEmbedded(t *testing.T) {
	b, err := Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Embedded() {
		t.Fatal("expected embedded")
	}
	roundTrip(t, b)
}

// TestExternal runs against the machine's NATS server when CITYBRAIN_TEST_NATS is set.
func TestExternal(t *testing.T) {
	url := os.Getenv("CITYBRAIN_TEST_NATS")
	if url == "" {
		t.Skip("CITYBRAIN_TEST_NATS not set")
	}
	b, err := Open(context.Background(), Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	roundTrip(t, b)
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"ws-1": "ws-1", "a.b": "a_b", "a*>": "a__"} {
		if got := Token(in); got != want {
			t.Errorf("Token(%q)=%q want %q", in, got, want)
		}
	}
}

// TestPrefixAndPeers: with a prefix the subjects on the wire carry it and handlers see them
// without it; a node's own messages do not reach its SubscribePeers handlers.
func TestPrefixAndPeers(t *testing.T) {
	b, err := Open(context.Background(), Config{Prefix: "run1", Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	raw := make(chan string, 4)
	sub, err := b.Conn().Subscribe(">", func(m *nats.Msg) { raw <- m.Subject + " " + m.Header.Get(NodeHeader) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	peers := make(chan string, 4)
	stopPeers, err := b.SubscribePeers(SubjectAlerts, func(s string, _ []byte) { peers <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer stopPeers()
	roundTrip(t, b)
	if got := <-raw; got != "run1.cb.telemetry.ws_1 n1" {
		t.Fatalf("on the wire: %q", got)
	}
	if err := b.Publish(SubjectAlerts, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-peers:
		t.Fatalf("own message reached SubscribePeers: %q", s)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := Open(context.Background(), Config{Prefix: "bad prefix"}); err == nil {
		t.Fatal("a prefix with a space was accepted")
	}
}

// TestExternalCluster: two nodes on the external server with one prefix see each other's
// messages (SubscribePeers), and a deployment with another prefix sees none of them.
func TestExternalCluster(t *testing.T) {
	url := os.Getenv("CITYBRAIN_TEST_NATS")
	if url == "" {
		t.Skip("CITYBRAIN_TEST_NATS not set")
	}
	prefix := "test" + nats.NewInbox()[len(nats.InboxPrefix):]
	open := func(prefix, node string) *Bus {
		b, err := Open(context.Background(), Config{URL: url, Prefix: prefix, Node: node})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b
	}
	a, b, other := open(prefix, "a"), open(prefix, "b"), open(prefix+"x", "a")
	got := make(chan string, 8)
	for name, bb := range map[string]*Bus{"a": a, "b": b, "other": other} {
		stop, err := bb.SubscribePeers(SubjectCluster+".rules", func(s string, d []byte) { got <- name + ":" + s + "=" + string(d) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		if err := bb.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Publish(SubjectCluster+".rules", []byte("r1")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "b:cb.cluster.rules=r1" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("peer did not receive the message")
	}
	select {
	case s := <-got:
		t.Fatalf("unexpected delivery %q (own message or another deployment)", s)
	case <-time.After(300 * time.Millisecond):
	}
}
