package simulate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/ingest"
	"github.com/citybrain/citybrain/internal/telemetry"
)

type countWriter struct {
	mu  sync.Mutex
	n   map[string]int
	max map[string]float64
}

func (w *countWriter) Append(_ context.Context, rs []telemetry.Reading) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range rs {
		w.n[r.DeviceID]++
		if r.Value > w.max[r.Measurement] {
			w.max[r.Measurement] = r.Value
		}
	}
	return nil
}

type svcRegistrar struct{ s *device.Service }

func (r svcRegistrar) Register(ctx context.Context, in device.Input) (string, error) {
	_, secret, err := r.s.Create(ctx, in)
	if citybrain.ErrorCode(err) == citybrain.ECONFLICT {
		return r.s.Rotate(ctx, in.ID)
	}
	return secret, err
}

func (r svcRegistrar) RegisterFacility(ctx context.Context, f device.Facility) error {
	_, err := r.s.CreateFacility(ctx, f)
	if citybrain.ErrorCode(err) == citybrain.ECONFLICT {
		return nil
	}
	return err
}

func TestModelScenario(t *testing.T) {
	w := World{Start: time.Date(2026, 7, 20, 2, 0, 0, 0, time.UTC)} // 10:00 in Beijing
	w.defaults()
	drain := newModel("d", "drain_level", 1, FloodProne, false)
	before, _ := drain.next(&w, w.Start.Add(5*time.Minute))
	peak, evs := drain.next(&w, w.Start.Add(w.StormAfter+w.StormFor/2+10*time.Minute))
	t.Logf("drain level before the storm %v cm, at its height %v cm", before["level_cm"], peak["level_cm"])
	if peak["level_cm"].(float64) < before["level_cm"].(float64)+50 {
		t.Fatalf("the storm did not raise the water: %v → %v", before["level_cm"], peak["level_cm"])
	}
	if len(evs) == 0 || evs[0].Type != "overflow_alarm" {
		t.Fatalf("no overflow alarm at the storm peak: %v", evs)
	}
	quiet := newModel("m", "motion_sensor", 2, FaultNone, true)
	active := newModel("m2", "motion_sensor", 2, FaultNone, false)
	at := w.Start.Add(w.QuietHouseholdAfter + time.Minute)
	q, _ := quiet.next(&w, at)
	a, _ := active.next(&w, at)
	if q["motion_count"].(float64) != 0 || q["motion"].(bool) || a["motion_count"].(float64) == 0 {
		t.Fatalf("quiet household %v, active one %v", q, a)
	}
	leak := newModel("g", "gas_methane", 3, FaultGasLeak, false)
	v, evs := leak.next(&w, w.Start.Add(20*time.Minute))
	if v["ch4_lel"].(float64) < 20 || len(evs) == 0 || evs[0].Type != "gas_alarm" {
		t.Fatalf("gas leak %v %v", v, evs)
	}
	ps, _ := device.BuiltinProfiles()
	// Every profile's normal output is accepted by its profile.
	for _, p := range ps.List() {
		m := newModel("x", p.Code, 5, FaultNone, false)
		vals, _ := m.next(&w, w.Start.Add(30*time.Minute))
		for k, x := range vals {
			meas := p.Measurement(k)
			if meas == nil {
				if !p.Generic {
					t.Errorf("%s: unknown measurement %s", p.Code, k)
				}
				continue
			}
			f, isNum := x.(float64)
			if b, ok := x.(bool); ok {
				f, isNum = map[bool]float64{true: 1}[b], true
			}
			if !isNum || meas.Check(f) != "" {
				t.Errorf("%s: %s=%v refused", p.Code, k, x)
			}
		}
	}
}

func TestSimulationAgainstTheBroker(t *testing.T) {
	ps, err := device.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	repo := device.NewMemRepository()
	svc := device.NewService(repo, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	w := &countWriter{n: map[string]int{}, max: map[string]float64{}}
	in := ingest.New(w, repo, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(10), ingest.Config{})
	defer in.Close()
	b, err := ingest.NewBroker(in, ingest.BrokerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stats Stats
	cfg := Config{Devices: 30, Rate: 150, Broker: b.Listener(), Seed: 1, FaultFraction: 0.5}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, svcRegistrar{svc}, &stats) }()

	// wait until every device is registered, then command a simulated streetlight
	for stats.Registered.Load() < 30 {
		time.Sleep(20 * time.Millisecond)
	}
	lamp := Plan(cfg)[4]
	if lamp.Profile != "streetlight" {
		t.Fatalf("plan[4] is %s", lamp.Profile)
	}
	cmd, err := b.SendCommand(context.Background(), lamp.ID, "switch", map[string]any{"on": false})
	if err != nil {
		t.Fatal(err)
	}
	// run until the command is acknowledged and every device has reported twice
	for {
		c, _ := repo.GetDeviceCommand(context.Background(), cmd.ID)
		if c.Status == device.CommandAcked && stats.Acked.Load() >= 60 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("command %+v (%s)", c, stats.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fs, _ := svc.Facilities(context.Background(), ""); len(fs) == 0 {
		t.Fatal("no facility registered")
	}
	if d, _ := svc.Get(context.Background(), Plan(cfg)[3].ID); d.Facility == "" {
		t.Fatalf("gas detector %s not under a valve well", d.ID)
	}
	if stats.Acked.Load() < 30 || stats.Registered.Load() != 30 {
		t.Fatalf("stats: %s", stats.String())
	}
	w.mu.Lock()
	devices := len(w.n)
	w.mu.Unlock()
	if devices < 25 {
		t.Fatalf("only %d devices stored readings (%s)", devices, stats.String())
	}
	// stuck sensors were quarantined
	stuck := 0
	for _, d := range Plan(cfg) {
		stuck += int(in.Quarantine().Report(d.ID).ByReason[device.ReasonOutOfRange])
	}
	if stuck == 0 {
		t.Fatal("no stuck-sensor value was quarantined")
	}
	t.Log(stats.String())
}

func TestClientRefusedWithWrongSecret(t *testing.T) {
	ps, _ := device.BuiltinProfiles()
	repo := device.NewMemRepository()
	svc := device.NewService(repo, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	if _, _, err := svc.Create(context.Background(), device.Input{ID: "x1", Profile: "noise"}); err != nil {
		t.Fatal(err)
	}
	in := ingest.New(&countWriter{n: map[string]int{}, max: map[string]float64{}}, repo, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(10), ingest.Config{})
	defer in.Close()
	b, _ := ingest.NewBroker(in, ingest.BrokerConfig{Addr: "127.0.0.1:0"})
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err := Dial(context.Background(), b.Listener(), ConnectOptions{ClientID: "x1", Username: "x1", Password: "nope"})
	var ce *ConnackError
	if !errors.As(err, &ce) || (ce.Code != 4 && ce.Code != 5) {
		t.Fatalf("err = %v", err)
	}
}
