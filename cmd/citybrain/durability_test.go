package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// startServe runs `citybrain serve` on the given data dir and addresses and waits until ready.
func startServe(t *testing.T, data, httpAddr, mqttAddr string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--data", data, "--http", httpAddr, "--mqtt", mqttAddr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "CITYBRAIN_ADMIN_TOKEN=durability-admin-token-0123456789")
	p := &proc{cmd: cmd, base: "http://" + httpAddr, out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stdout = lockedWriter{p.mu, p.out}
	cmd.Stderr = lockedWriter{p.mu, p.out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("citybrain did not become ready:\n%s", p.output())
	return nil
}

// TestDurabilityKill9 proves the acknowledgement contract with a real MQTT client: every
// reading whose QoS 1 PUBACK arrived is stored exactly once after kill -9 and a restart, even
// when the client redelivers some of them.
func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	httpAddr, mqttAddr := freePort(t), freePort(t)
	p := startServe(t, data, httpAddr, mqttAddr)
	c := &client{t: t, base: p.base, token: "durability-admin-token-0123456789"}

	const devices = 4
	secrets := map[string]string{}
	for i := 0; i < devices; i++ {
		id := fmt.Sprintf("dur-%d", i)
		var reply struct {
			MQTT struct{ Password string } `json:"mqtt"`
		}
		if code := c.do("POST", "/api/v1/devices", map[string]any{"id": id, "profile": "drain_level", "area": "g1"}, &reply); code != 201 {
			t.Fatalf("create device: %d", code)
		}
		secrets[id] = reply.MQTT.Password
	}

	base := time.Now().Add(-time.Hour).UnixMilli()
	var mu sync.Mutex
	acked := map[string]map[int64]float64{} // device → ts → value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	enough := make(chan struct{}, devices)
	for id, secret := range secrets {
		acked[id] = map[int64]float64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := pahov3.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(id).SetUsername(id).SetPassword(secret).
				SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(true)
			cl := pahov3.NewClient(o)
			if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Errorf("%s connect: %v", id, tok.Error())
				return
			}
			type pending struct {
				tok pahov3.Token
				ts  int64
				v   float64
			}
			var window []pending
			signalled := false
			flush := func() {
				for _, pd := range window {
					if pd.tok.WaitTimeout(10*time.Second) && pd.tok.Error() == nil {
						mu.Lock()
						acked[id][pd.ts] = pd.v
						mu.Unlock()
					}
				}
				window = window[:0]
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					flush()
					return
				default:
				}
				ts, v := base+int64(i)*100, float64(i%1000)/10
				tok := cl.Publish("devices/"+id+"/telemetry", 1, false, fmt.Sprintf(`{"ts": %d, "values": {"level_cm": %g}}`, ts, v))
				window = append(window, pending{tok, ts, v})
				if len(window) == 20 {
					flush()
					if i >= 400 && !signalled {
						signalled = true
						enough <- struct{}{}
					}
				}
			}
		}()
	}
	for i := 0; i < devices; i++ {
		<-enough
	}
	// kill -9 while publishes are in flight
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	close(stop)
	wg.Wait()
	total := 0
	for _, m := range acked {
		total += len(m)
	}
	if total < devices*400 {
		t.Fatalf("only %d acknowledged readings", total)
	}

	// Restart on the same data; a client redelivers the last acknowledged readings of dur-0.
	p2 := startServe(t, data, httpAddr, mqttAddr)
	o := pahov3.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("dur-0").SetUsername("dur-0").SetPassword(secrets["dur-0"]).
		SetProtocolVersion(4).SetAutoReconnect(false)
	cl := pahov3.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect: %v\n%s", tok.Error(), p2.output())
	}
	redelivered := 0
	for ts, v := range acked["dur-0"] {
		if redelivered == 50 {
			break
		}
		tok := cl.Publish("devices/dur-0/telemetry", 1, false, fmt.Sprintf(`{"ts": %d, "values": {"level_cm": %g}}`, ts, v))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("redeliver: %v", tok.Error())
		}
		redelivered++
	}
	cl.Disconnect(100)
	p2.stop(t)

	// Read what is stored straight from the database.
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts, err := telemetry.Open(ctx, db, telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	for id, want := range acked {
		pts, err := ts.Query(ctx, telemetry.Query{DeviceID: id, Measurement: "level_cm", From: time.UnixMilli(base - 1), To: time.UnixMilli(base + 10_000_000)})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]int{}
		for _, pt := range pts {
			seen[pt.TS]++
		}
		for ts, v := range want {
			if seen[ts] != 1 {
				t.Fatalf("%s: acknowledged reading ts=%d stored %d times", id, ts, seen[ts])
			}
			_ = v
		}
		for _, pt := range pts {
			if seen[pt.TS] != 1 {
				t.Fatalf("%s: ts=%d stored %d times", id, pt.TS, seen[pt.TS])
			}
			if w, ok := want[pt.TS]; ok && w != pt.Value {
				t.Fatalf("%s: ts=%d value %v, acknowledged %v", id, pt.TS, pt.Value, w)
			}
		}
		t.Logf("%s: %d acknowledged, %d stored (stored but unacknowledged at the kill: %d)", id, len(want), len(pts), len(pts)-len(want))
	}
	b, _ := json.Marshal(map[string]int{"acknowledged": total, "redelivered": redelivered})
	t.Logf("durability: %s", b)
}
