package bus

import (
	"context"
	"os"
	"testing"
	"time"
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
