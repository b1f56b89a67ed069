package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citybrain/citybrain/internal/device"
)

// Registrar registers a simulated device and returns its secret. When the device exists it
// must rotate the secret and return the new one (the simulator never stores secrets).
// RegisterFacility registers a facility, succeeding when it exists already.
type Registrar interface {
	Register(ctx context.Context, in device.Input) (secret string, err error)
	RegisterFacility(ctx context.Context, f device.Facility) error
}

// facilityFor groups lifeline sensors under the facility they watch: structure sensors on a
// few bridges, gas detectors in valve wells, drainage gauges at pumping stations.
func facilityFor(prefix, profile string, i int) (device.Facility, bool) {
	switch profile {
	case "structure_tilt", "structure_displacement", "structure_strain":
		n := i % 3
		return device.Facility{ID: fmt.Sprintf("%s-bridge-%d", prefix, n+1), Kind: "bridge", Name: []string{"解放桥", "大光明桥", "金汤桥"}[n]}, true
	case "gas_methane":
		n := i % 8
		return device.Facility{ID: fmt.Sprintf("%s-gaswell-%d", prefix, n+1), Kind: "gas_valve_well", Name: fmt.Sprintf("燃气阀门井 %d号", n+1)}, true
	case "drain_level":
		n := i % 4
		return device.Facility{ID: fmt.Sprintf("%s-pump-%d", prefix, n+1), Kind: "pumping_station", Name: fmt.Sprintf("排水泵站 %d号", n+1)}, true
	}
	return device.Facility{}, false
}

// Place is somewhere devices are installed: an area code and a point in it.
type Place struct {
	Area     string
	Lon, Lat float64
}

// Config configures a simulation.
type Config struct {
	// Devices is the number of simulated devices; Rate the total messages per second.
	Devices int
	Rate    float64
	// Broker is the MQTT address host:port.
	Broker string
	// Prefix starts every device id (default "sim").
	Prefix string
	Seed   uint64
	// Places spread the devices (default: one point in area "sim").
	Places []Place
	// Locate, if set, returns the area code of a point (the finest area containing it).
	Locate func(lon, lat float64) (string, bool)
	World  World
	// DropFraction of the devices drop offline now and then (default 0.02); FaultFraction
	// have a stuck sensor (default 0.01).
	DropFraction, FaultFraction float64
	Log                         *slog.Logger
}

// Stats counts what the simulation did.
type Stats struct {
	Registered, Connected, ConnectFailures atomic.Int64
	Published, Acked, PublishFailures      atomic.Int64
	Events, Commands, Drops                atomic.Int64
}

// String summarises the counters.
func (s *Stats) String() string {
	return fmt.Sprintf("registered %d, connected %d (failures %d), published %d, acked %d (failures %d), events %d, commands %d, drops %d",
		s.Registered.Load(), s.Connected.Load(), s.ConnectFailures.Load(), s.Published.Load(), s.Acked.Load(), s.PublishFailures.Load(),
		s.Events.Load(), s.Commands.Load(), s.Drops.Load())
}

// profileMix is the share of each profile in a simulated district.
func profileMix() []struct {
	code   string
	weight int
} {
	return []struct {
		code   string
		weight int
	}{
		{"streetlight", 18}, {"manhole_cover", 10}, {"smoke_detector", 8}, {"gas_methane", 6}, {"drain_level", 6},
		{"parking_space", 6}, {"air_quality", 5}, {"noise", 5}, {"electricity_meter", 5}, {"water_meter", 5},
		{"waste_bin", 5}, {"water_pipe", 4}, {"door_sensor", 4}, {"motion_sensor", 4}, {"heat_pipe", 3},
		{"structure_tilt", 3}, {"rain_gauge", 2}, {"structure_displacement", 2}, {"structure_strain", 2},
		{"crowd_density", 2}, {"generic", 1},
	}
}

// simDevice is one planned device.
type simDevice struct {
	in    device.Input
	fault int
	quiet bool
	flaky bool
	seed  uint64
}

// Plan lays out the devices of a simulation deterministically from the config.
func Plan(cfg Config) []device.Input {
	ds := plan(cfg)
	out := make([]device.Input, len(ds))
	for i, d := range ds {
		out[i] = d.in
	}
	return out
}

func plan(cfg Config) []simDevice {
	if cfg.Prefix == "" {
		cfg.Prefix = "sim"
	}
	if len(cfg.Places) == 0 {
		cfg.Places = []Place{{Area: "sim", Lon: 117.2, Lat: 39.1}}
	}
	if cfg.DropFraction == 0 {
		cfg.DropFraction = 0.02
	}
	if cfg.FaultFraction == 0 {
		cfg.FaultFraction = 0.01
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 42))
	mix := profileMix()
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	// The scenario's key actors come first: the quiet household, a leaking gas well, a failing lamp.
	head := []struct {
		profile string
		fault   int
		quiet   bool
	}{{"door_sensor", FaultNone, true}, {"motion_sensor", FaultNone, true}, {"smoke_detector", FaultNone, true},
		{"gas_methane", FaultGasLeak, false}, {"streetlight", FaultLamp, false}, {"drain_level", FloodProne, false}, {"rain_gauge", FaultNone, false}}
	out := make([]simDevice, 0, cfg.Devices)
	for i := 0; i < cfg.Devices; i++ {
		var d simDevice
		if i < len(head) {
			d.in.Profile, d.fault, d.quiet = head[i].profile, head[i].fault, head[i].quiet
		} else {
			r := rng.IntN(total)
			for _, m := range mix {
				if r < m.weight {
					d.in.Profile = m.code
					break
				}
				r -= m.weight
			}
			if rng.Float64() < cfg.FaultFraction {
				d.fault = FaultStuckRange
			}
			d.flaky = rng.Float64() < cfg.DropFraction
		}
		p := cfg.Places[rng.IntN(len(cfg.Places))]
		d.in.ID = fmt.Sprintf("%s-%s-%05d", cfg.Prefix, d.in.Profile, i)
		d.in.Name = fmt.Sprintf("模拟%s %d", d.in.Profile, i)
		d.in.Lon = p.Lon + (rng.Float64()-0.5)*0.004
		d.in.Lat = p.Lat + (rng.Float64()-0.5)*0.004
		d.in.Area = p.Area
		if cfg.Locate != nil {
			if code, ok := cfg.Locate(d.in.Lon, d.in.Lat); ok {
				d.in.Area = code
			} else {
				d.in.Lon, d.in.Lat = p.Lon, p.Lat
			}
		}
		if f, ok := facilityFor(cfg.Prefix, d.in.Profile, i); ok {
			d.in.Facility = f.ID
		}
		switch d.in.Profile {
		case "door_sensor", "motion_sensor", "smoke_detector":
			if d.quiet {
				d.in.Household = cfg.Prefix + "-hh-quiet"
				d.in.Name = "独居老人家庭 elderly household: " + d.in.Profile
			} else {
				d.in.Household = fmt.Sprintf("%s-hh-%04d", cfg.Prefix, i/3)
			}
		}
		d.seed = cfg.Seed*1_000_003 + uint64(i)
		out = append(out, d)
	}
	return out
}

// Run registers the devices, connects them and reports until ctx ends.
func Run(ctx context.Context, cfg Config, reg Registrar, stats *Stats) error {
	if cfg.Devices <= 0 {
		return nil
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sim"
	}
	if cfg.Rate <= 0 {
		cfg.Rate = float64(cfg.Devices) / 60
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := cfg.World
	if w.Start.IsZero() {
		w.Start = time.Now()
	}
	w.defaults()
	interval := time.Duration(float64(cfg.Devices) / cfg.Rate * float64(time.Second))
	if interval < 10*time.Millisecond {
		interval = 10 * time.Millisecond
	}
	ds := plan(cfg)
	done := map[string]bool{}
	for i, d := range ds {
		if f, ok := facilityFor(cfg.Prefix, d.in.Profile, i); ok && !done[f.ID] {
			f.Area, f.Lon, f.Lat = d.in.Area, d.in.Lon, d.in.Lat
			if err := reg.RegisterFacility(ctx, f); err != nil {
				return fmt.Errorf("register facility %s: %w", f.ID, err)
			}
			done[f.ID] = true
		}
	}
	secrets := make([]string, len(ds))
	for i, d := range ds {
		s, err := reg.Register(ctx, d.in)
		if err != nil {
			return fmt.Errorf("register %s: %w", d.in.ID, err)
		}
		secrets[i] = s
		stats.Registered.Add(1)
	}
	cfg.Log.Info("simulated devices registered", "devices", len(ds), "interval", interval, "broker", cfg.Broker)
	var wg sync.WaitGroup
	spread := min(10*time.Second, time.Duration(len(ds))*2*time.Millisecond)
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(spread * time.Duration(i) / time.Duration(len(ds))):
			}
			runDevice(ctx, cfg, &w, d, secrets[i], interval, stats)
		}()
	}
	wg.Wait()
	return nil
}

func runDevice(ctx context.Context, cfg Config, w *World, d simDevice, secret string, interval time.Duration, stats *Stats) {
	m := newModel(d.in.ID, d.in.Profile, d.seed, d.fault, d.quiet)
	rng := rand.New(rand.NewPCG(d.seed, 7))
	pre := "devices/" + d.in.ID + "/"
	backoff := time.Second
	for ctx.Err() == nil {
		var cl *Client
		onMsg := func(topic string, payload []byte) {
			if topic != pre+"commands" {
				return
			}
			var cmd struct {
				ID     string         `json:"id"`
				Name   string         `json:"name"`
				Params map[string]any `json:"params"`
			}
			if json.Unmarshal(payload, &cmd) != nil || cmd.ID == "" {
				return
			}
			stats.Commands.Add(1)
			ack, _ := json.Marshal(map[string]any{"id": cmd.ID, "ok": true, "result": cmd.Params})
			go cl.PublishAsync(pre+"commands/ack", ack, 1, false, func(error) {})
		}
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		c, err := Dial(dctx, cfg.Broker, ConnectOptions{ClientID: d.in.ID, Username: d.in.ID, Password: secret, CleanSession: true,
			KeepAlive: 60 * time.Second, Will: &Will{Topic: pre + "status", Payload: []byte("offline"), QoS: 1}, OnMessage: onMsg})
		cancel()
		if err != nil {
			stats.ConnectFailures.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff + time.Duration(rng.Int64N(int64(time.Second)))):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		cl = c
		backoff = time.Second
		stats.Connected.Add(1)
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, _ = cl.Subscribe(sctx, pre+"commands")
		cancel()
		dropAt := time.Time{}
		if d.flaky {
			dropAt = time.Now().Add(time.Duration(2+rng.IntN(10)) * time.Minute)
		}
		t := time.NewTimer(time.Duration(rng.Int64N(int64(interval)) + 1))
		alive := true
		for alive {
			select {
			case <-ctx.Done():
				t.Stop()
				cl.Close()
				stats.Connected.Add(-1)
				return
			case <-cl.Done():
				alive = false
			case now := <-t.C:
				if !dropAt.IsZero() && now.After(dropAt) {
					stats.Drops.Add(1)
					cl.Drop()
					alive = false
					select {
					case <-ctx.Done():
					case <-time.After(time.Duration(2+rng.IntN(3)) * time.Minute):
					}
					break
				}
				vals, evs := m.next(w, now)
				payload, _ := json.Marshal(map[string]any{"ts": now.UnixMilli(), "values": vals})
				stats.Published.Add(1)
				cl.PublishAsync(pre+"telemetry", payload, 1, false, func(err error) {
					if err != nil {
						stats.PublishFailures.Add(1)
					} else {
						stats.Acked.Add(1)
					}
				})
				for _, e := range evs {
					b, _ := json.Marshal(map[string]any{"type": e.Type, "ts": now.UnixMilli(), "data": e.Data})
					stats.Events.Add(1)
					cl.PublishAsync(pre+"events", b, 1, false, func(error) {})
				}
				t.Reset(interval + time.Duration(rng.NormFloat64()*float64(interval)/20))
			}
		}
		stats.Connected.Add(-1)
	}
}
