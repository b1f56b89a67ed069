package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/simulate"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// apiRegistrar registers simulated devices through the HTTP API with an operator's token.
type apiRegistrar struct {
	base, token string
	hc          *http.Client
}

func (r apiRegistrar) post(ctx context.Context, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", r.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: %w", path, err)
		}
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusConflict {
		return resp.StatusCode, fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return resp.StatusCode, nil
}

func (r apiRegistrar) Register(ctx context.Context, in device.Input) (string, error) {
	var reply struct {
		MQTT struct {
			Password string `json:"password"`
		} `json:"mqtt"`
	}
	code, err := r.post(ctx, "/api/v1/devices", in, &reply)
	if err != nil {
		return "", err
	}
	if code == http.StatusConflict { // it exists: rotate to learn a secret
		if _, err := r.post(ctx, "/api/v1/devices/"+url.PathEscape(in.ID)+"/credentials", nil, &reply); err != nil {
			return "", err
		}
	}
	return reply.MQTT.Password, nil
}

func (r apiRegistrar) RegisterFacility(ctx context.Context, f device.Facility) error {
	_, err := r.post(ctx, "/api/v1/facilities", f, nil) // 409: it exists, fine
	return err
}

// serviceRegistrar registers simulated devices in-process (citybrain demo).
type serviceRegistrar struct{ s *device.Service }

func (r serviceRegistrar) RegisterFacility(ctx context.Context, f device.Facility) error {
	_, err := r.s.CreateFacility(ctx, f)
	if citybrain.ErrorCode(err) == citybrain.ECONFLICT {
		return nil
	}
	return err
}

func (r serviceRegistrar) Register(ctx context.Context, in device.Input) (string, error) {
	_, secret, err := r.s.Create(ctx, in)
	if citybrain.ErrorCode(err) == citybrain.ECONFLICT {
		return r.s.Rotate(ctx, in.ID)
	}
	return secret, err
}

func cmdSimulate(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	devices := fs.Int("devices", 1000, "number of simulated devices")
	rate := fs.Float64("rate", 100, "total messages per second over all devices")
	server := fs.String("server", "http://127.0.0.1:8080", "citybrain HTTP address (devices are registered through its API)")
	mqttAddr := fs.String("mqtt", "", "MQTT broker host:port (default: the --server host, port 1883)")
	token := fs.String("token", "", "API token of an admin or operator (default $CITYBRAIN_TOKEN, then $CITYBRAIN_ADMIN_TOKEN)")
	prefix := fs.String("prefix", "sim", "device id prefix")
	seed := fs.Uint64("seed", 1, "random seed: the same seed lays out the same district")
	duration := fs.Duration("duration", 0, "stop after this long (0 = until interrupted)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain simulate [flags]

Registers N simulated devices through the API of a running citybrain and connects each with
its own credentials to the MQTT broker, as real devices would. They report what their profiles
measure with daily cycles; a rainstorm raises drainage levels after 10 minutes; an elderly
household's resident stops moving after 5 minutes; a gas well leaks; a streetlight fails; a few
sensors are stuck out of range (quarantined); some devices drop offline without a goodbye and
come back. Devices answer downlink commands. Re-running with the same prefix reuses the devices
(their secrets are rotated).

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return err
	}
	if *token == "" {
		*token = c.env["CITYBRAIN_TOKEN"]
	}
	if *token == "" {
		*token = c.env["CITYBRAIN_ADMIN_TOKEN"]
	}
	if *token == "" {
		return &exitError{code: 2, msg: "simulate needs an API token: --token or CITYBRAIN_TOKEN (citybrain token create)"}
	}
	u, err := url.Parse(*server)
	if err != nil || u.Host == "" {
		return &exitError{code: 2, msg: fmt.Sprintf("--server must be a URL such as http://127.0.0.1:8080, got %q", *server)}
	}
	if *mqttAddr == "" {
		*mqttAddr = net.JoinHostPort(u.Hostname(), "1883")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	var stats simulate.Stats
	reg := apiRegistrar{base: u.Scheme + "://" + u.Host, token: *token, hc: &http.Client{Timeout: 30 * time.Second}}
	done := make(chan error, 1)
	go func() {
		done <- simulate.Run(ctx, simulate.Config{Devices: *devices, Rate: *rate, Broker: *mqttAddr, Prefix: *prefix, Seed: *seed, Log: log}, reg, &stats)
	}()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			fmt.Fprintln(c.stdout, stats.String())
			return err
		case <-t.C:
			fmt.Fprintln(c.stderr, stats.String())
		}
	}
}

// startDemoSimulator runs the in-process simulated district of `citybrain demo`.
func startDemoSimulator(a *app) {
	if !a.demo || a.cfg.SimDevices <= 0 || a.broker == nil {
		return
	}
	var places []simulate.Place
	var locate func(lon, lat float64) (string, bool)
	if a.areaMap != nil {
		if m := a.areaMap.Load(); m != nil {
			for _, g := range m.ByLevel(area.LevelGrid) {
				places = append(places, simulate.Place{Area: g.Code, Lon: g.Centroid[0], Lat: g.Centroid[1]})
			}
			locate = func(lon, lat float64) (string, bool) {
				loc, ok := m.Locate(lon, lat)
				return loc.Code(), ok && loc.Code() != ""
			}
		}
	}
	// The demo's scenario starts soon after start: rain from 30 s on (waterlogging alerts after
	// about 6 minutes), the quiet household's resident stops moving after 1 minute (absence
	// alert after about 4). --sim-speed runs it faster.
	cfg := simulate.Config{Devices: a.cfg.SimDevices, Rate: a.cfg.SimRate, Broker: a.broker.Listener(), Prefix: "sim", Seed: 1,
		Places: places, Locate: locate, Log: a.log.With("component", "simulator"),
		World: simulate.World{Start: time.Now(), StormAfter: 30 * time.Second, StormFor: 30 * time.Minute, QuietHouseholdAfter: time.Minute, Speed: max(a.cfg.SimSpeed, 1)}}
	a.goTask("demo history backfill", func(ctx context.Context) error { return backfillDemoHistory(ctx, a, cfg) })
	startDemoCitizenReports(a)
	a.goTask("device simulator", func(ctx context.Context) error {
		var stats simulate.Stats
		done := make(chan error, 1)
		go func() { done <- simulate.Run(ctx, cfg, serviceRegistrar{a.devices}, &stats) }()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case err := <-done:
				return err
			case <-t.C:
				a.log.Info("simulated district", "stats", stats.String())
			}
		}
	})
	fmt.Fprintf(a.out, "模拟设备 / simulated devices: %d, %.0f msg/s (--sim-devices, --sim-rate)\n", cfg.Devices, cfg.Rate)
	sp := max(a.cfg.SimSpeed, 1)
	at := func(d time.Duration) string { return (time.Duration(float64(d) / sp)).Round(time.Second).String() }
	fmt.Fprintf(a.out, "演示场景 / scenario (--sim-speed %g): 暴雨 rainstorm from %s, 积水告警 waterlogging alerts after ~%s, 独居老人无活动告警 silent elderly household alert after ~%s, 燃气泄漏 gas leak after ~%s; 市民上报 citizen reports every ~%s\n",
		sp, at(30*time.Second), at(6*time.Minute), at(4*time.Minute), at(8*time.Minute), at(demoReportEvery))
}

// backfillDemoHistory stores a day of simulated history for the demo's air-quality,
// drainage and rain stations that have never reported, so the dashboard's 24-hour charts
// are not blank on first start. It writes through the telemetry service (not the bus: the
// rules do not see the past); readings sit on a 10-minute grid, so a repeated run is a no-op.
func backfillDemoHistory(ctx context.Context, a *app, cfg simulate.Config) error {
	if a.telemetry == nil {
		return nil
	}
	to := cfg.World.Start
	rs := simulate.History(cfg, []string{"air_quality", "drain_level", "rain_gauge"}, to.Add(-24*time.Hour), to, 10*time.Minute)
	fresh := map[string]bool{}
	batch := make([]telemetry.Reading, 0, 2000)
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := a.telemetry.Append(ctx, batch); err != nil {
			return fmt.Errorf("demo history: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, r := range rs { // decide before the first write, before live reports arrive
		if _, ok := fresh[r.DeviceID]; !ok {
			fresh[r.DeviceID] = a.telemetry.LastSeen(r.DeviceID) == 0
		}
	}
	for _, r := range rs {
		if !fresh[r.DeviceID] {
			continue
		}
		batch = append(batch, telemetry.Reading{DeviceID: r.DeviceID, Measurement: r.Measurement, TS: r.TS, Value: r.Value})
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("demo history stored", "readings", n, "from", to.Add(-24*time.Hour).Format(time.RFC3339))
	}
	return nil
}
