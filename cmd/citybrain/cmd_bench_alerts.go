package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/simulate"
)

// benchServer is a 'citybrain serve' child process on free loopback ports with a fresh
// data directory and a bootstrap admin token.
type benchServer struct {
	cmd        *exec.Cmd
	out        bytes.Buffer
	data       string
	http, mqtt string
	token      string
	pid        int
	stopOnce   sync.Once
}

// startBenchServer starts the server as bench ingest does and waits until it is ready.
func startBenchServer(ctx context.Context) (*benchServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &benchServer{}
	if s.data, err = os.MkdirTemp("", "citybrain-bench"); err != nil {
		return nil, err
	}
	if s.http, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.mqtt, err = freeAddr(); err != nil {
		return nil, err
	}
	s.token = "bench-admin-token-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	s.cmd = exec.CommandContext(ctx, self, "serve", "--data", s.data, "--http", s.http, "--mqtt", s.mqtt, "--log-level", "warn")
	s.cmd.Env = append(os.Environ(), "CITYBRAIN_ADMIN_TOKEN="+s.token)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(s.data)
		return nil, err
	}
	s.pid = s.cmd.Process.Pid
	if err := waitReady(ctx, "http://"+s.http+"/readyz", 60*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.out.String())
	}
	return s, nil
}

// stop interrupts the server, waits for it (killing it after 20 s) and removes its data.
func (s *benchServer) stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(s.data)
	})
}

// liveEvent is an alert change seen on the SSE stream, with the time it was read.
type liveEvent struct {
	at               time.Time
	alertID          int64
	device, from, to string
}

// readLive reads the SSE stream and sends the alert changes of the devices in out to their
// channels until the body ends. ready is closed once the first bytes (the retry line) arrived.
func readLive(body *bufio.Reader, out map[string]chan liveEvent, ready chan<- struct{}) {
	first := true
	for {
		line, err := body.ReadString('\n')
		if first && err == nil {
			first = false
			close(ready)
		}
		if err != nil {
			for _, ch := range out {
				close(ch)
			}
			return
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		at := time.Now()
		var m struct {
			Alert struct {
				ID       int64  `json:"id"`
				DeviceID string `json:"device_id"`
			} `json:"alert"`
			Transition struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"transition"`
		}
		if json.Unmarshal([]byte(data), &m) != nil {
			continue
		}
		ch := out[m.Alert.DeviceID]
		if ch == nil {
			continue
		}
		select {
		case ch <- liveEvent{at: at, alertID: m.Alert.ID, device: m.Alert.DeviceID, from: m.Transition.From, to: m.Transition.To}:
		default: // the probe loop is not waiting: it would be stale anyway
		}
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func pctOf(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// cmdBenchAlerts measures how long an alert takes from the PUBACK of the reading that
// breaks a rule to its arrival on a browser's live stream, under background ingest load.
func cmdBenchAlerts(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("bench alerts", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	devices := fs.Int("devices", 100, "background publishing devices (one MQTT connection each)")
	window := fs.Int("window", 20, "unacknowledged QoS 1 messages allowed per background connection")
	rate := fs.Float64("rate", 0, "background messages/s in total; 0 = as fast as the window allows (the ingest benchmark's load)")
	values := fs.Int("values", 3, "measurements per background message (1–6)")
	duration := fs.Duration("duration", 30*time.Second, "how long probes are sent")
	warmup := fs.Duration("warmup", 3*time.Second, "background load before the first probe")
	interval := fs.Duration("interval", 200*time.Millisecond, "pause between probe cycles")
	extraRules := fs.Int("rules", 0, "extra never-firing rules spread over 10 profiles and 20 areas as in the engine benchmark: a tenth on the background devices' profile, each of those scoped to one of 20 areas")
	probes := fs.Int("probes", 4, "probe devices cycling in parallel (more samples per second)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for a probe's alert before counting it missed")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain bench alerts [flags]

Starts 'citybrain serve' as a separate process on free ports with a fresh data directory
(as bench ingest does), registers background air-quality devices and --probes
drain-level probe devices, creates the rule "level_cm > 30" (no for: it fires on the
first reading that breaks it) and connects a browser-like Server-Sent Events client to
/api/v1/live with the bootstrap admin token. It drives QoS 1 background load like bench
ingest (its load generator; --rate paces it) and, meanwhile, probe cycles on every probe
device: a level above 30 cm, and the time from its PUBACK (the reading is durably
stored) to the alert's "firing" event on the live stream is one sample; then a level
below 30 clears the alert (waiting for "resolved") and, after --interval, the next
cycle. Each probe's first cycle warms up and is not counted. It prints p50/p90/p99/max,
the background load achieved, server CPU and the machine (cores, load average).
docs/performance.md ("Rules and alerts") has figures.

Example (the ingest benchmark's load):
  citybrain bench alerts --devices 100 --window 20 --duration 120s

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, msg: "citybrain bench alerts: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("citybrain bench alerts: unexpected argument %q", fs.Arg(0))}
	}
	load0 := loadAvg()
	srv, err := startBenchServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(c.stdout, "machine: %d CPUs (%s/%s), %s; load average %s at start; load generator and browser in this process (pid %d), server pid %d\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), load0, os.Getpid(), srv.pid)

	base := "http://" + srv.http
	reg := apiRegistrar{base: base, token: srv.token, hc: &http.Client{Timeout: 30 * time.Second}}
	probeDevs := make([]benchDevice, *probes)
	for i := range probeDevs {
		id := fmt.Sprintf("bench-probe-%d", i)
		secret, err := reg.Register(ctx, device.Input{ID: id, Name: "延迟探针 latency probe", Profile: "drain_level", Area: "bench"})
		if err != nil {
			return fmt.Errorf("probe device: %w", err)
		}
		probeDevs[i] = benchDevice{id, secret}
	}
	bg := make([]benchDevice, *devices)
	{
		var wg sync.WaitGroup
		errs := make(chan error, len(bg))
		sem := make(chan struct{}, 8)
		for i := range bg {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				id := fmt.Sprintf("bench-%05d", i)
				s, err := reg.Register(ctx, device.Input{ID: id, Profile: "air_quality", Area: fmt.Sprintf("bench-a%02d", i%20)})
				if err != nil {
					errs <- err
					return
				}
				bg[i] = benchDevice{id, s}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
	}
	rules := []map[string]any{{"id": "bench-level", "name": "积水超过30厘米（基准）/ level above 30 cm (bench)", "profile": "drain_level",
		"condition": "level_cm > 30", "severity": "critical"}}
	// extra rules as in the engine benchmark (internal/rule/bench_test.go): over 10 profiles
	// and 20 areas; those on air_quality use its measurements and windows, the others the
	// battery every profile reports; none fires (background values stay within 20–80)
	others := []string{"gas_methane", "water_pipe", "rain_gauge", "heat_pipe", "structure_tilt", "manhole_cover", "smoke_detector", "noise", "waste_bin"}
	for i := range *extraRules {
		r := map[string]any{"id": fmt.Sprintf("bench-r-%04d", i), "name": fmt.Sprintf("基准规则 bench rule %d", i), "severity": "info"}
		if i%10 == 0 {
			r["profile"] = "air_quality"
			r["area_scope"] = []string{fmt.Sprintf("bench-a%02d", (i/10)%20)}
			switch (i / 10) % 4 {
			case 0:
				r["condition"] = fmt.Sprintf("pm25 > %d", 100+i%50)
				r["for"] = "1m"
			case 1:
				r["condition"] = "pm25 > 90 && pm10 > 90"
			case 2:
				r["kind"], r["condition"] = "window", `avg("pm25", "15m") > 95`
			case 3:
				r["kind"], r["condition"] = "rate", `delta("pm10", "10m") > 70`
			}
		} else {
			r["profile"] = others[i%len(others)]
			r["condition"] = "battery < -1"
		}
		rules = append(rules, r)
	}
	for _, r := range rules {
		if code, err := reg.post(ctx, "/api/v1/rules", r, nil); err != nil || code != http.StatusCreated {
			return fmt.Errorf("create rule %v: %d %v", r["id"], code, err)
		}
	}

	// the browser
	sctx, cancelLive := context.WithCancel(ctx)
	defer cancelLive()
	req, _ := http.NewRequestWithContext(sctx, "GET", base+"/api/v1/live?types=alert", nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("live stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("live stream: %s", resp.Status)
	}
	events := map[string]chan liveEvent{}
	for _, p := range probeDevs {
		events[p.id] = make(chan liveEvent, 64)
	}
	ready := make(chan struct{})
	go readLive(bufio.NewReader(resp.Body), events, ready)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		return errors.New("live stream sent nothing in 10 s")
	}
	clients := make([]*simulate.Client, len(probeDevs))
	for i, p := range probeDevs {
		cl, err := simulate.Dial(ctx, srv.mqtt, simulate.ConnectOptions{ClientID: p.id, Username: p.id, Password: p.secret, CleanSession: true})
		if err != nil {
			return fmt.Errorf("probe connect: %w", err)
		}
		defer cl.Close()
		clients[i] = cl
	}

	// background load, in parallel with the probes
	_, cpu0 := procStat(srv.pid)
	type loadOut struct {
		res benchResult
		err error
	}
	loadDone := make(chan loadOut, 1)
	loadFor := *warmup + *duration + time.Second
	go func() {
		res, err := runLoad(ctx, benchLoad{broker: srv.mqtt, devices: bg, window: *window, duration: loadFor, values: *values, rate: *rate},
			func(id string) string { return "devices/" + id + "/telemetry" })
		loadDone <- loadOut{res, err}
	}()
	select {
	case <-time.After(*warmup):
	case out := <-loadDone:
		return fmt.Errorf("background load ended early: %v", out.err)
	}

	var mu sync.Mutex
	var lat, pubLat []time.Duration
	var missed, early, cycles int
	var probeErr error
	probeStart := time.Now()
	var wg sync.WaitGroup
	for i, p := range probeDevs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := runProbe(ctx, clients[i], p.id, events[p.id], *duration, *interval, *timeout, i)
			mu.Lock()
			defer mu.Unlock()
			lat, pubLat = append(lat, st.lat...), append(pubLat, st.pubLat...)
			missed, early, cycles = missed+st.missed, early+st.early, cycles+st.cycles
			if err != nil && probeErr == nil {
				probeErr = err
			}
		}()
	}
	wg.Wait()
	if probeErr != nil {
		return probeErr
	}
	probeElapsed := time.Since(probeStart)
	load1 := loadAvg()
	out := <-loadDone
	rss, cpu1 := procStat(srv.pid)
	cancelLive()
	if out.err != nil {
		return fmt.Errorf("background load: %w", out.err)
	}
	res := out.res
	pace := "as fast as the window allows"
	if *rate > 0 {
		pace = fmt.Sprintf("paced at %.0f msg/s", *rate)
	}
	fmt.Fprintf(c.stdout, "background: %d devices × window %d, %d values/message, %s, %d extra rules: %d acknowledged (%d failed) in %.1fs = %.0f msg/s, %.0f points/s; publish→PUBACK p50 %s p99 %s\n",
		*devices, *window, *values, pace, *extraRules, res.acked, res.failed, res.elapsed.Seconds(), res.rate(),
		res.rate()*float64(max(1, min(6, *values))), res.pct(0.5).Round(100*time.Microsecond), res.pct(0.99).Round(100*time.Microsecond))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(pubLat, func(i, j int) bool { return pubLat[i] < pubLat[j] })
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	fmt.Fprintf(c.stdout, "probes: %d devices, %d cycles in %.1fs (each device's first one warm-up), %d samples, %d missed (no event within %s), %d events before their PUBACK (counted as 0)\n",
		*probes, cycles, probeElapsed.Seconds(), len(lat), missed, *timeout, early)
	if len(lat) > 0 {
		fmt.Fprintf(c.stdout, "latency PUBACK→alert on the live stream: p50 %s p90 %s p99 %s max %s\n",
			r(pctOf(lat, 0.5)), r(pctOf(lat, 0.9)), r(pctOf(lat, 0.99)), r(lat[len(lat)-1]))
		fmt.Fprintf(c.stdout, "latency publish→alert on the live stream: p50 %s p90 %s p99 %s max %s\n",
			r(pctOf(pubLat, 0.5)), r(pctOf(pubLat, 0.9)), r(pctOf(pubLat, 0.99)), r(pubLat[len(pubLat)-1]))
	}
	fmt.Fprintf(c.stdout, "server: CPU %.2f cores during the run, RSS %.1f MB; load average %s at the end\n",
		(cpu1-cpu0).Seconds()/res.elapsed.Seconds(), float64(rss)/1e6, load1)
	if len(lat) == 0 {
		return &exitError{code: 1, msg: "citybrain bench alerts: no alert reached the live stream"}
	}
	return nil
}

// probeStats is what one probe device measured.
type probeStats struct {
	lat, pubLat           []time.Duration
	missed, early, cycles int
}

// runProbe cycles one probe device for duration: a level above the threshold, the time
// from its PUBACK to the "firing" event on the live stream, a level below it and its
// "resolved" event, a pause. The first cycle is not counted (device lookup warm-up).
func runProbe(ctx context.Context, cl *simulate.Client, id string, events <-chan liveEvent, duration, interval, timeout time.Duration, seed int) (probeStats, error) {
	var st probeStats
	topic := "devices/" + id + "/telemetry"
	var lastTS int64
	publish := func(level float64) (time.Time, error) {
		ts := max(time.Now().UnixMilli(), lastTS+1)
		lastTS = ts
		payload := fmt.Sprintf(`{"ts":%d,"values":{"level_cm":%g}}`, ts, level)
		var at atomic.Pointer[time.Time]
		ack := make(chan error, 1)
		cl.PublishAsync(topic, []byte(payload), 1, false, func(err error) {
			now := time.Now()
			at.Store(&now)
			ack <- err
		})
		select {
		case err := <-ack:
			return *at.Load(), err
		case <-time.After(30 * time.Second):
			return time.Time{}, errors.New("no PUBACK in 30 s")
		}
	}
	await := func(to string, after int64) (liveEvent, bool) {
		deadline := time.After(timeout)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return liveEvent{}, false
				}
				if ev.to == to && ev.alertID > after {
					return ev, true
				}
			case <-deadline:
				return liveEvent{}, false
			}
		}
	}
	// spread the probes' cycles apart
	time.Sleep(time.Duration(seed) * interval / 4)
	var lastAlert int64
	start := time.Now()
	for cycle := 0; time.Since(start) < duration && ctx.Err() == nil; cycle++ {
		sent := time.Now()
		ackAt, err := publish(float64(35 + cycle%20))
		if err != nil {
			return st, fmt.Errorf("probe %s publish: %w", id, err)
		}
		ev, ok := await("firing", lastAlert)
		if !ok {
			st.missed++
		} else {
			lastAlert = ev.alertID
			if cycle > 0 {
				d := ev.at.Sub(ackAt)
				if d < 0 { // the event overtook the PUBACK on the way back
					st.early++
					d = 0
				}
				st.lat = append(st.lat, d)
				st.pubLat = append(st.pubLat, ev.at.Sub(sent))
			}
		}
		st.cycles++
		if _, err := publish(5); err != nil {
			return st, fmt.Errorf("probe %s publish: %w", id, err)
		}
		if ok {
			if _, ok := await("resolved", lastAlert-1); !ok {
				st.missed++
			}
		}
		time.Sleep(interval)
	}
	return st, nil
}
