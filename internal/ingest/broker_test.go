package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// memWriter is a real in-memory ReadingWriter with the telemetry contract: dedupe on
// (device, measurement, ts), first value wins. gate, when set, holds every Append until a
// value is sent on it, to observe what happens before the write is durable.
type memWriter struct {
	mu    sync.Mutex
	pts   map[wkey]float64
	calls int
	gate  chan struct{}
	fail  error
}

type wkey struct {
	dev, m string
	ts     int64
}

func newMemWriter() *memWriter { return &memWriter{pts: map[wkey]float64{}} }

func (w *memWriter) Append(ctx context.Context, rs []telemetry.Reading) error {
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.fail != nil {
		return w.fail
	}
	for _, r := range rs {
		k := wkey{r.DeviceID, r.Measurement, r.TS}
		if _, ok := w.pts[k]; !ok {
			w.pts[k] = r.Value
		}
	}
	return nil
}

func (w *memWriter) values(dev, m string) []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	type tv struct {
		ts int64
		v  float64
	}
	var out []tv
	for k, v := range w.pts {
		if k.dev == dev && k.m == m {
			out = append(out, tv{k.ts, v})
		}
	}
	for i := range out { // tiny insertion sort by ts
		for j := i; j > 0 && out[j].ts < out[j-1].ts; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	vs := make([]float64, len(out))
	for i, x := range out {
		vs[i] = x.v
	}
	return vs
}

type env struct {
	t        *testing.T
	w        *memWriter
	repo     *device.MemRepository
	svc      *device.Service
	in       *Ingestor
	b        *Broker
	reg      *prometheus.Registry
	secrets  map[string]string
	addr     string
	mu       sync.Mutex
	events   []device.Event
	statuses []device.Status
}

func newEnv(t *testing.T, w *memWriter) *env {
	t.Helper()
	ps, err := device.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, w: w, repo: device.NewMemRepository(), reg: prometheus.NewRegistry(), secrets: map[string]string{}}
	status := device.NewStatusTracker()
	e.svc = device.NewService(e.repo, ps, device.NewCredentialCache(), status, nil)
	for id, prof := range map[string]string{"lvl-1": "drain_level", "lvl-2": "drain_level", "door-1": "door_sensor",
		"light-1": "streetlight", "gen-1": "generic", "smoke-1": "smoke_detector"} {
		_, secret, err := e.svc.Create(context.Background(), device.Input{ID: id, Profile: prof, Area: "g1"})
		if err != nil {
			t.Fatal(err)
		}
		e.secrets[id] = secret
	}
	e.in = New(w, e.repo, ps, e.svc.Credentials(), status, device.NewQuarantine(20), Config{
		Registerer: e.reg,
		Notify: Notify{
			Event:  func(ev device.Event) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() },
			Status: func(s device.Status) { e.mu.Lock(); e.statuses = append(e.statuses, s); e.mu.Unlock() },
		},
	})
	e.b, err = NewBroker(e.in, BrokerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Serve(); err != nil {
		t.Fatal(err)
	}
	e.addr = e.b.Listener()
	t.Cleanup(func() {
		_ = e.b.Close()
		if w.gate != nil {
			close(w.gate)
			w.gate = nil
		}
		e.in.Close()
	})
	return e
}

func (e *env) v3(id, secret string, opts ...func(*pahov3.ClientOptions)) (pahov3.Client, error) {
	o := pahov3.NewClientOptions().AddBroker("tcp://" + e.addr).SetClientID(id).SetUsername(id).SetPassword(secret).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	for _, f := range opts {
		f(o)
	}
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timeout")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func (e *env) v5(id, secret string, onMsg func(paho.PublishReceived) (bool, error)) (*paho.Client, error) {
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		return nil, err
	}
	cfg := paho.ClientConfig{Conn: conn}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onMsg}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, Username: id, Password: []byte(secret), UsernameFlag: true, PasswordFlag: true, KeepAlive: 30, CleanStart: true})
	if err != nil {
		conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("connack 0x%x: %w", ca.ReasonCode, err)
		}
		return nil, err
	}
	e.t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, nil
}

func wait(t *testing.T, tok pahov3.Token) error {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("token timeout")
	}
	return tok.Error()
}

func TestMQTT311TelemetryIsDurableBeforePuback(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	c, err := e.v3("lvl-1", e.secrets["lvl-1"])
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UnixMilli() - 60_000
	for i := 0; i < 50; i++ {
		p := fmt.Sprintf(`{"ts": %d, "values": {"level_cm": %d}}`, base+int64(i)*1000, i)
		if err := wait(t, c.Publish("devices/lvl-1/telemetry", 1, false, p)); err != nil {
			t.Fatal(err)
		}
		// The PUBACK arrived: the reading must already be in the durable writer.
		if got := len(w.values("lvl-1", "level_cm")); got != i+1 {
			t.Fatalf("after PUBACK %d: %d readings stored", i, got)
		}
	}
	// Redelivery of the same timestamped reading is stored once.
	if err := wait(t, c.Publish("devices/lvl-1/telemetry", 1, false, fmt.Sprintf(`{"ts": %d, "values": {"level_cm": 99}}`, base))); err != nil {
		t.Fatal(err)
	}
	if vs := w.values("lvl-1", "level_cm"); len(vs) != 50 || vs[0] != 0 {
		t.Fatalf("after redelivery %v", vs)
	}
	if st := e.in.Status().Get("lvl-1", time.Now()); !st.Connected || st.State != device.StateOnline || st.Messages != 51 {
		t.Fatalf("status %+v", st)
	}
	if got := counterValue(e.in.m.mqttReadings); got != 51 {
		t.Fatalf("readings counter %v", got)
	}
}

func TestPubackWaitsForTheDurableWrite(t *testing.T) {
	w := newMemWriter()
	w.gate = make(chan struct{})
	e := newEnv(t, w)
	c, err := e.v3("lvl-1", e.secrets["lvl-1"])
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Publish("devices/lvl-1/telemetry", 1, false, `{"level_cm": 5}`)
	// While Append is held, no PUBACK may arrive.
	if tok.WaitTimeout(300 * time.Millisecond) {
		t.Fatalf("PUBACK before the durable write (err %v)", tok.Error())
	}
	w.gate <- struct{}{}
	if err := wait(t, tok); err != nil {
		t.Fatal(err)
	}
	if len(w.values("lvl-1", "level_cm")) != 1 {
		t.Fatal("not stored")
	}
}

func TestStorageFailureIsNotAcknowledged(t *testing.T) {
	w := newMemWriter()
	w.fail = citybrain.Errorf(citybrain.EUNAVAILABLE, "disk gone")
	e := newEnv(t, w)
	c, err := e.v5("lvl-1", e.secrets["lvl-1"], nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, err := c.Publish(ctx, &paho.Publish{Topic: "devices/lvl-1/telemetry", QoS: 1, Payload: []byte(`{"level_cm": 5}`)})
	if err == nil || pr == nil || pr.ReasonCode < 0x80 {
		t.Fatalf("storage failure acknowledged: %+v %v", pr, err)
	}
	// MQTT 3.1.1 has no negative ack: the connection is closed so the client redelivers.
	lost := make(chan struct{}, 1)
	c3, err := e.v3("lvl-2", e.secrets["lvl-2"], func(o *pahov3.ClientOptions) {
		o.SetConnectionLostHandler(func(pahov3.Client, error) { lost <- struct{}{} })
	})
	if err != nil {
		t.Fatal(err)
	}
	c3.Publish("devices/lvl-2/telemetry", 1, false, `{"level_cm": 5}`)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed after a failed write")
	}
}

func TestMQTT5RefusalsCarryReasonCodes(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	c, err := e.v5("lvl-1", e.secrets["lvl-1"], nil)
	if err != nil {
		t.Fatal(err)
	}
	// another device keeps working throughout
	other, err := e.v5("lvl-2", e.secrets["lvl-2"], nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, topic, payload string
		code                 byte
		reason               string
	}{
		{"good", "devices/lvl-1/telemetry", `{"level_cm": 1}`, 0, ""},
		{"malformed", "devices/lvl-1/telemetry", `{"level_cm": `, 0x99, device.ReasonMalformed},
		{"not numeric", "devices/lvl-1/telemetry", `{"level_cm": "high"}`, 0x99, device.ReasonNotNumeric},
		{"out of range", "devices/lvl-1/telemetry", `{"level_cm": 5000}`, 0x99, device.ReasonOutOfRange},
		{"unknown measurement", "devices/lvl-1/telemetry", `{"pm25": 3}`, 0x99, device.ReasonUnknownKey},
		{"future", "devices/lvl-1/telemetry", fmt.Sprintf(`{"ts": %d, "level_cm": 3}`, time.Now().Add(time.Hour).UnixMilli()), 0x99, device.ReasonFutureTS},
		{"partial", "devices/lvl-1/telemetry", `{"level_cm": 2, "pm25": 3}`, 0, device.ReasonUnknownKey},
		{"oversized", "devices/lvl-1/telemetry", `{"level_cm": 1, "x": "` + strings.Repeat("a", 70<<10) + `"}`, 0x95, device.ReasonTooLarge},
		{"acl", "devices/lvl-2/telemetry", `{"level_cm": 1}`, 0x87, device.ReasonACL},
		{"unknown event", "devices/lvl-1/events", `{"type": "party"}`, 0x99, device.ReasonUnknownEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.in.Quarantine().Report("lvl-1").ByReason[tc.reason]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pr, err := c.Publish(ctx, &paho.Publish{Topic: tc.topic, QoS: 1, Payload: []byte(tc.payload)})
			if pr == nil {
				t.Fatalf("no PUBACK: %v", err)
			}
			if pr.ReasonCode != tc.code {
				t.Fatalf("reason code 0x%x, want 0x%x (%v)", pr.ReasonCode, tc.code, err)
			}
			if tc.reason != "" {
				if after := e.in.Quarantine().Report("lvl-1").ByReason[tc.reason]; after != before+1 {
					t.Fatalf("quarantine %s: %d → %d", tc.reason, before, after)
				}
			}
			pr, err = other.Publish(ctx, &paho.Publish{Topic: "devices/lvl-2/telemetry", QoS: 1, Payload: []byte(`{"level_cm": 7}`)})
			if err != nil || pr.ReasonCode != 0 {
				t.Fatalf("other device disturbed: %+v %v", pr, err)
			}
		})
	}
	if got := w.values("lvl-1", "level_cm"); len(got) != 2 {
		t.Fatalf("stored %v, want the good and the partial one", got)
	}
	if got := counterValue(e.in.m.refused.WithLabelValues("mqtt", device.ReasonACL)); got != 1 {
		t.Fatalf("acl refusals counted %v", got)
	}
	rep := e.in.Quarantine().Report("lvl-1")
	if rep.Recent[0].Reason != device.ReasonUnknownEvent || rep.Recent[0].Transport != "mqtt" || rep.Recent[0].Message == "" {
		t.Fatalf("quarantine %+v", rep.Recent[0])
	}
}

func TestAuthenticationAndACL(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	cases := []struct {
		name, id, secret string
		ok               bool
	}{
		{"good", "lvl-1", e.secrets["lvl-1"], true},
		{"wrong secret", "lvl-1", e.secrets["lvl-2"], false},
		{"empty secret", "lvl-1", "", false},
		{"unknown device", "nobody", e.secrets["lvl-1"], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.v3(c.id, c.secret)
			if (err == nil) != c.ok {
				t.Fatalf("connect err = %v, want ok=%v", err, c.ok)
			}
			_, err = e.v5(c.id, c.secret, nil)
			if (err == nil) != c.ok {
				t.Fatalf("v5 connect err = %v, want ok=%v", err, c.ok)
			}
		})
	}
	if r := e.in.Quarantine().Report("lvl-1"); r.ByReason[device.ReasonBadSecret] < 2 {
		t.Fatalf("bad secrets not quarantined: %+v", r)
	}
	if got := counterValue(e.in.m.refused.WithLabelValues("mqtt", device.AuthUnknownDevice)); got != 2 {
		t.Fatalf("unknown device refusals %v", got)
	}

	// A disabled device cannot connect.
	if _, err := e.svc.SetDisabled(context.Background(), "door-1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v3("door-1", e.secrets["door-1"]); err == nil {
		t.Fatal("disabled device connected")
	}

	// Subscriptions outside the device's own topics are refused.
	c, err := e.v3("lvl-1", e.secrets["lvl-1"])
	if err != nil {
		t.Fatal(err)
	}
	for filter, ok := range map[string]bool{"devices/lvl-1/commands": true, "devices/lvl-1/#": true, "devices/+/telemetry": false, "#": false, "devices/lvl-2/commands": false, "devices/lvl-1": false} {
		tok := c.Subscribe(filter, 1, nil)
		if err := wait(t, tok); err != nil {
			t.Fatal(err)
		}
		code := tok.(*pahov3.SubscribeToken).Result()[filter]
		if (code < 0x80) != ok {
			t.Errorf("subscribe %s: code 0x%x, want ok=%v", filter, code, ok)
		}
	}

	// A last will outside the device's topics is refused at connect.
	if _, err := e.v3("lvl-2", e.secrets["lvl-2"], func(o *pahov3.ClientOptions) { o.SetWill("devices/lvl-1/status", "offline", 1, false) }); err == nil {
		t.Fatal("foreign will accepted")
	}

	// A device using another device's client ID gets a namespaced session and cannot kick it out.
	lost := make(chan struct{}, 1)
	if _, err := e.v3("lvl-2", e.secrets["lvl-2"], func(o *pahov3.ClientOptions) {
		o.SetConnectionLostHandler(func(pahov3.Client, error) { lost <- struct{}{} })
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v3("lvl-1", e.secrets["lvl-1"], func(o *pahov3.ClientOptions) { o.SetClientID("lvl-2") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
		t.Fatal("a device took over another device's session")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestEventsCommandsAndWill(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	got := make(chan commandMessage, 1)
	var dev pahov3.Client
	dev, err := e.v3("light-1", e.secrets["light-1"], func(o *pahov3.ClientOptions) {
		o.SetWill("devices/light-1/status", "offline", 1, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t, dev.Subscribe("devices/light-1/commands", 1, func(_ pahov3.Client, m pahov3.Message) {
		var cm commandMessage
		if err := jsonUnmarshal(m.Payload(), &cm); err == nil {
			got <- cm
		}
	})); err != nil {
		t.Fatal(err)
	}
	// event
	if err := wait(t, dev.Publish("devices/light-1/events", 1, false, `{"type": "lamp_fault", "data": {"code": 2}}`)); err != nil {
		t.Fatal(err)
	}
	evs, _ := e.repo.ListDeviceEvents(context.Background(), "light-1", 10)
	if len(evs) != 1 || evs[0].Type != "lamp_fault" || evs[0].Severity != "warning" {
		t.Fatalf("events %+v", evs)
	}
	e.mu.Lock()
	nev := len(e.events)
	e.mu.Unlock()
	if nev != 1 {
		t.Fatalf("event not notified")
	}
	// unknown command refused
	if _, err := e.b.SendCommand(context.Background(), "light-1", "fly", nil); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("unknown command: %v", err)
	}
	cmd, err := e.b.SendCommand(context.Background(), "light-1", "switch", map[string]any{"on": true})
	if err != nil {
		t.Fatal(err)
	}
	var cm commandMessage
	select {
	case cm = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("command not delivered")
	}
	if cm.ID != cmd.ID || cm.Name != "switch" || cm.Params["on"] != true {
		t.Fatalf("command %+v", cm)
	}
	if c, _ := e.repo.GetDeviceCommand(context.Background(), cmd.ID); c.Status != device.CommandSent {
		t.Fatalf("status %s", c.Status)
	}
	if err := wait(t, dev.Publish("devices/light-1/commands/ack", 1, false, `{"id": "`+cmd.ID+`", "ok": true, "result": {"on": true}}`)); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.repo.GetDeviceCommand(context.Background(), cmd.ID); c.Status != device.CommandAcked || c.Result["on"] != true {
		t.Fatalf("after ack %+v", c)
	}
	// a bad ack is quarantined
	if err := wait(t, dev.Publish("devices/light-1/commands/ack", 1, false, `{"id": "nope", "ok": true}`)); err != nil {
		t.Fatal(err)
	}
	if r := e.in.Quarantine().Report("light-1"); r.ByReason[device.ReasonBadCommandReply] != 1 {
		t.Fatalf("quarantine %+v", r)
	}

	// Will: an abrupt end of the connection marks the device offline with reason "will".
	watcher, err := e.v3("light-1", e.secrets["light-1"], func(o *pahov3.ClientOptions) { o.SetClientID("light-1-watch") })
	if err != nil {
		t.Fatal(err)
	}
	wills := make(chan string, 1)
	if err := wait(t, watcher.Subscribe("devices/light-1/status", 1, func(_ pahov3.Client, m pahov3.Message) { wills <- string(m.Payload()) })); err != nil {
		t.Fatal(err)
	}
	for _, cl := range e.b.srv.Clients.GetAll() {
		if cl.ID == "light-1" {
			_ = cl.Net.Conn.Close() // the device vanishes without DISCONNECT
		}
	}
	select {
	case p := <-wills:
		if p != "offline" {
			t.Fatalf("will payload %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("will not delivered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.in.Status().Get("light-1", time.Now())
		if st.OfflineReason == "will" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after will %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRetainedMessagesUnderOwnTopics(t *testing.T) {
	e := newEnv(t, newMemWriter())
	c, err := e.v3("gen-1", e.secrets["gen-1"])
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t, c.Publish("devices/gen-1/config", 1, true, `{"interval": 60}`)); err != nil {
		t.Fatal(err)
	}
	c2, err := e.v3("gen-1", e.secrets["gen-1"], func(o *pahov3.ClientOptions) { o.SetClientID("gen-1-b") })
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if err := wait(t, c2.Subscribe("devices/gen-1/config", 1, func(_ pahov3.Client, m pahov3.Message) { got <- string(m.Payload()) })); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != `{"interval": 60}` {
			t.Fatalf("retained %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retained message not delivered")
	}
}

func TestMosquittoClients(t *testing.T) {
	pub := "/usr/bin/mosquitto_pub"
	if _, err := os.Stat(pub); err != nil {
		t.Skip("mosquitto_pub not installed (Debian package mosquitto-clients): skipping the test with the reference client")
	}
	w := newMemWriter()
	e := newEnv(t, w)
	host, port, _ := net.SplitHostPort(e.addr)
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, pub, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		return string(out), err
	}
	for i, v := range []string{"3.1.1", "5"} {
		out, err := run("-V", map[string]string{"3.1.1": "mqttv311", "5": "mqttv5"}[v], "-i", "door-1", "-u", "door-1", "-P", e.secrets["door-1"],
			"-q", "1", "-t", "devices/door-1/telemetry", "-m", fmt.Sprintf(`{"ts": %d, "open": true, "battery": 80}`, time.Now().UnixMilli()-int64(i)*1000))
		if err != nil {
			t.Fatalf("mosquitto_pub MQTT %s: %v: %s", v, err, out)
		}
	}
	if vs := w.values("door-1", "open"); len(vs) != 2 || vs[0] != 1 {
		t.Fatalf("stored %v", vs)
	}
	// QoS 2 in both versions: PUBREC after the durable write, then PUBREL/PUBCOMP.
	for i, v := range []string{"mqttv311", "mqttv5"} {
		out, err := run("-V", v, "-d", "-i", "door-1", "-u", "door-1", "-P", e.secrets["door-1"],
			"-q", "2", "-t", "devices/door-1/telemetry", "-m", fmt.Sprintf(`{"ts": %d, "battery": %d}`, time.Now().UnixMilli()-int64(i+5)*1000, 70+i))
		if err != nil || !strings.Contains(out, "received PUBREC") || !strings.Contains(out, "received PUBCOMP") {
			t.Fatalf("QoS 2 with %s: %v: %s", v, err, out)
		}
	}
	if vs := w.values("door-1", "battery"); len(vs) != 4 {
		t.Fatalf("QoS 2 readings not stored: battery %v", vs)
	}
	if out, err := run("-u", "door-1", "-P", "wrong", "-q", "1", "-t", "devices/door-1/telemetry", "-m", `{"open": true}`); err == nil {
		t.Fatalf("wrong secret accepted: %s", out)
	}
	sub := "/usr/bin/mosquitto_sub"
	if _, err := os.Stat(sub); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, sub, "-h", host, "-p", port, "-u", "door-1", "-P", e.secrets["door-1"], "-V", "mqttv5",
			"-t", "devices/+/telemetry", "-C", "1", "-W", "3").CombinedOutput()
		if !strings.Contains(strings.ToLower(string(out)), "denied") {
			t.Fatalf("mosquitto_sub on another device's topics: %s", out)
		}
	}
}

func TestHTTPTelemetry(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	ctx := context.Background()
	s := []byte(e.secrets["smoke-1"])
	res, err := e.in.HTTPTelemetry(ctx, "smoke-1", s, []byte(`{"smoke": false, "battery": 9, "temperature_c": 400}`))
	if err != nil || res.Accepted != 2 || len(res.Rejected) != 1 || res.Rejected[0].Reason != device.ReasonOutOfRange {
		t.Fatalf("res %+v err %v", res, err)
	}
	if vs := w.values("smoke-1", "battery"); len(vs) != 1 || vs[0] != 9 {
		t.Fatalf("stored %v", vs)
	}
	if st := e.in.Status().Get("smoke-1", time.Now()); st.Battery == nil || *st.Battery != 9 {
		t.Fatalf("status %+v", st)
	}
	for _, c := range []struct {
		name, id, secret, body, code string
	}{
		{"wrong secret", "smoke-1", "x", `{"smoke": true}`, citybrain.EUNAUTHORIZED},
		{"unknown", "ghost", "x", `{"smoke": true}`, citybrain.EUNAUTHORIZED},
		{"malformed", "smoke-1", string(s), `{"smoke": tru}`, citybrain.EINVALID},
		{"nothing acceptable", "smoke-1", string(s), `{"smoke": 3}`, citybrain.EINVALID},
		{"too large", "smoke-1", string(s), `{"x": "` + strings.Repeat("a", 70<<10) + `"}`, citybrain.ETOOLARGE},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.in.HTTPTelemetry(ctx, c.id, []byte(c.secret), []byte(c.body)); citybrain.ErrorCode(err) != c.code {
				t.Fatalf("err %v, want %s", err, c.code)
			}
		})
	}
	n, err := e.in.HTTPEvents(ctx, "smoke-1", s, []byte(`[{"type": "smoke_alarm"}, {"type": "low_battery", "data": {"battery": 9}}]`))
	if err != nil || n != 2 {
		t.Fatalf("events %d %v", n, err)
	}
	if _, err := e.in.HTTPEvents(ctx, "smoke-1", s, []byte(`{"type": "smoke_alarm", "colour": "red"}`)); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestManyDevicesConcurrently(t *testing.T) {
	w := newMemWriter()
	e := newEnv(t, w)
	const devices, msgs = 20, 50
	ctx := context.Background()
	secrets := map[string]string{}
	for i := 0; i < devices; i++ {
		id := "aq-" + strconv.Itoa(i)
		_, s, err := e.svc.Create(ctx, device.Input{ID: id, Profile: "air_quality", Area: "g2"})
		if err != nil {
			t.Fatal(err)
		}
		secrets[id] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, devices)
	for id, s := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.v3(id, s, func(o *pahov3.ClientOptions) { o.SetMaxResumePubInFlight(100) })
			if err != nil {
				errs <- err
				return
			}
			toks := make([]pahov3.Token, 0, msgs)
			for j := 0; j < msgs; j++ {
				toks = append(toks, c.Publish("devices/"+id+"/telemetry", 1, false, fmt.Sprintf(`{"pm25": %d, "pm10": 40}`, j)))
			}
			for _, tok := range toks {
				if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
					errs <- fmt.Errorf("%s: %v", id, tok.Error())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id := range secrets {
		if vs := w.values(id, "pm25"); len(vs) != msgs {
			t.Fatalf("%s: %d readings stored, want %d (server stamps must not collide)", id, len(vs), msgs)
		}
	}
	w.mu.Lock()
	calls := w.calls
	w.mu.Unlock()
	t.Logf("%d messages in %d Append calls", devices*msgs, calls)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func TestCommandsExpire(t *testing.T) {
	e := newEnv(t, newMemWriter())
	clock := &citybrain.FixedClock{T: time.Now()}
	e.in.clock = clock
	cmd, err := e.b.SendCommand(context.Background(), "light-1", "dim", map[string]any{"level": 30})
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Status != device.CommandPending {
		t.Fatalf("offline device: %s", cmd.Status)
	}
	if n, err := e.b.ExpireCommands(context.Background()); err != nil || n != 0 {
		t.Fatalf("expired early: %d %v", n, err)
	}
	clock.T = clock.T.Add(6 * time.Minute)
	if n, err := e.b.ExpireCommands(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if c, _ := e.repo.GetDeviceCommand(context.Background(), cmd.ID); c.Status != device.CommandExpired {
		t.Fatalf("status %s", c.Status)
	}
}

func TestPendingCommandDeliveredOnConnect(t *testing.T) {
	e := newEnv(t, newMemWriter())
	cmd, err := e.b.SendCommand(context.Background(), "light-1", "switch", map[string]any{"on": true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	c, err := e.v3("light-1", e.secrets["light-1"])
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t, c.Subscribe("devices/light-1/commands", 1, func(_ pahov3.Client, m pahov3.Message) { got <- string(m.Payload()) })); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if !strings.Contains(p, cmd.ID) {
			t.Fatalf("payload %s", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pending command not delivered after connect")
	}
}

func TestTLSListener(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ps, _ := device.BuiltinProfiles()
	repo := device.NewMemRepository()
	svc := device.NewService(repo, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	_, secret, err := svc.Create(context.Background(), device.Input{ID: "n1", Profile: "noise"})
	if err != nil {
		t.Fatal(err)
	}
	w := newMemWriter()
	in := New(w, repo, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(5), Config{})
	defer in.Close()
	tlsAddr := freeLocalAddr(t)
	b, err := NewBroker(in, BrokerConfig{Addr: "127.0.0.1:0", TLSAddr: tlsAddr,
		TLS: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := pahov3.NewClientOptions().AddBroker("ssl://" + tlsAddr).SetClientID("n1").SetUsername("n1").SetPassword(secret).
		SetProtocolVersion(4).SetAutoReconnect(false).SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	c := pahov3.NewClient(o)
	if err := wait(t, c.Connect()); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(50)
	if err := wait(t, c.Publish("devices/n1/telemetry", 1, false, `{"noise_dba": 55}`)); err != nil {
		t.Fatal(err)
	}
	if vs := w.values("n1", "noise_dba"); len(vs) != 1 || vs[0] != 55 {
		t.Fatalf("stored %v", vs)
	}
}

func freeLocalAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A burst beyond what storage absorbs is held back at the connection: the queues stay at
// their bound, nothing is acknowledged early, and everything is stored once storage catches up.
func TestBackpressureKeepsQueuesBounded(t *testing.T) {
	ps, _ := device.BuiltinProfiles()
	repo := device.NewMemRepository()
	svc := device.NewService(repo, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	_, secret, err := svc.Create(context.Background(), device.Input{ID: "n1", Profile: "noise"})
	if err != nil {
		t.Fatal(err)
	}
	w := newMemWriter()
	w.gate = make(chan struct{})
	in := New(w, repo, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(5), Config{Pipeline: PipelineConfig{Shards: 1, QueuePerShard: 2, MaxBatch: 1}})
	b, err := NewBroker(in, BrokerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer b.Close()
	o := pahov3.NewClientOptions().AddBroker("tcp://" + b.Listener()).SetClientID("n1").SetUsername("n1").SetPassword(secret).
		SetProtocolVersion(4).SetAutoReconnect(false).SetMaxResumePubInFlight(100)
	c := pahov3.NewClient(o)
	if err := wait(t, c.Connect()); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(50)
	base := time.Now().UnixMilli() - 60_000
	var toks []pahov3.Token
	for i := 0; i < 20; i++ {
		toks = append(toks, c.Publish("devices/n1/telemetry", 1, false, fmt.Sprintf(`{"ts": %d, "noise_dba": 50}`, base+int64(i))))
	}
	time.Sleep(300 * time.Millisecond)
	if q := in.pipe.Queued(); q > 2 {
		t.Fatalf("%d messages queued, bound is 2", q)
	}
	for _, tok := range toks {
		if tok.WaitTimeout(10 * time.Millisecond) {
			t.Fatal("acknowledged before storage accepted it")
		}
	}
	go func() {
		for range 20 {
			w.gate <- struct{}{}
		}
	}()
	for _, tok := range toks {
		if err := wait(t, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.values("n1", "noise_dba")); n != 20 {
		t.Fatalf("%d stored", n)
	}
	w.gate = nil
}
