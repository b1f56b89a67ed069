package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// benchLoad is one load run's configuration.
type benchLoad struct {
	broker   string
	devices  []benchDevice
	window   int
	duration time.Duration
	values   int
	rate     float64 // total messages/s to aim at; 0 = as fast as the window allows
}

type benchDevice struct{ id, secret string }

// benchResult is what one run measured.
type benchResult struct {
	acked, failed int64
	elapsed       time.Duration
	lat           []time.Duration // sampled publish→PUBACK latencies
}

func (r benchResult) rate() float64 { return float64(r.acked) / r.elapsed.Seconds() }

func (r benchResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

// runLoad connects every device and publishes QoS 1 telemetry with a window of unacknowledged
// messages per connection for the duration.
func runLoad(ctx context.Context, l benchLoad, topic func(id string) string) (benchResult, error) {
	clients := make([]*simulate.Client, len(l.devices))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i, d := range l.devices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := simulate.Dial(ctx, l.broker, simulate.ConnectOptions{ClientID: d.id, Username: d.id, Password: d.secret, CleanSession: true})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("connect %s: %w", d.id, err)
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if firstErr != nil {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		return benchResult{}, firstErr
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var acked, failed atomic.Int64
	var lat []time.Duration
	start := time.Now()
	deadline := start.Add(l.duration)
	keys := []string{"pm25", "pm10", "no2", "o3", "temperature_c", "humidity_pct"}[:max(1, min(6, l.values))]
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := l.devices[i].id
			t := topic(id)
			win := make(chan struct{}, l.window)
			var local []time.Duration
			var lmu sync.Mutex
			buf := make([]byte, 0, 256)
			var last int64
			for seq := 0; time.Now().Before(deadline); seq++ {
				if l.rate > 0 { // paced: this connection's share of the total rate
					time.Sleep(time.Until(start.Add(time.Duration((float64(seq)*float64(len(clients)) + float64(i)) / l.rate * float64(time.Second)))))
				}
				win <- struct{}{}
				ts := max(time.Now().UnixMilli(), last+1) // current and distinct, as a device sends
				last = ts
				buf = buf[:0]
				buf = append(buf, `{"ts":`...)
				buf = strconv.AppendInt(buf, ts, 10)
				buf = append(buf, `,"values":{`...)
				for k, key := range keys {
					if k > 0 {
						buf = append(buf, ',')
					}
					buf = append(buf, '"')
					buf = append(buf, key...)
					buf = append(buf, `":`...)
					buf = strconv.AppendFloat(buf, float64(20+(seq*7+k*13)%60)+0.5, 'f', 1, 64)
				}
				buf = append(buf, "}}"...)
				sent := time.Now()
				sample := seq%16 == 0
				c.PublishAsync(t, buf, 1, false, func(err error) {
					if err != nil {
						failed.Add(1)
					} else {
						acked.Add(1)
						if sample {
							lmu.Lock()
							local = append(local, time.Since(sent))
							lmu.Unlock()
						}
					}
					<-win
				})
				select {
				case <-c.Done():
					return
				default:
				}
			}
			for j := 0; j < l.window; j++ { // wait for the outstanding acknowledgements
				select {
				case win <- struct{}{}:
				case <-time.After(30 * time.Second):
					j = l.window
				}
			}
			lmu.Lock()
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
			lmu.Unlock()
		}()
	}
	wg.Wait()
	return benchResult{acked: acked.Load(), failed: failed.Load(), elapsed: time.Since(start), lat: lat}, nil
}

// procStat reads a process's resident memory (bytes) and CPU time.
func procStat(pid int) (rss int64, cpu time.Duration) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				rss = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+2:])
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(ut+st) * (time.Second / 100) // USER_HZ = 100 on Linux
			}
		}
	}
	return rss, cpu
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s", url, timeout)
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func cmdBenchIngest(ctx context.Context, c *cli) error {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	devices := fs.Int("devices", 200, "publishing devices (one MQTT connection each)")
	window := fs.Int("window", 20, "unacknowledged QoS 1 messages allowed per connection")
	duration := fs.Duration("duration", 20*time.Second, "how long each run publishes")
	values := fs.Int("values", 3, "measurements per message (1–6)")
	idle := fs.Int("idle-devices", 0, "extra connected devices that only keep their connection (memory per device)")
	noMosq := fs.Bool("no-mosquitto", false, "skip the Mosquitto comparison run")
	mosqBin := fs.String("mosquitto", "/usr/sbin/mosquitto", "Mosquitto binary for the comparison run")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, `Usage: citybrain bench ingest [flags]

Starts 'citybrain serve' as a separate process on free ports with a fresh data directory,
registers the devices through the API, and drives MQTT QoS 1 publishers from this process:
each connection keeps --window messages in flight. It reports acknowledged messages/s and
points/s (a PUBACK is sent only after the readings are durably stored and queryable, so the
publish→PUBACK latency bounds publish-to-queryable), p50/p99 latency, stored bytes per point,
server memory per connected device and server CPU. Then it drives the same load through
Mosquitto (started on a free port, one subscriber draining) and prints the ratio.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(c.args); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "citybrain-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	mqttAddr, err := freeAddr()
	if err != nil {
		return err
	}
	token := "bench-admin-token-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	srv := exec.CommandContext(ctx, self, "serve", "--data", data, "--http", httpAddr, "--mqtt", mqttAddr, "--log-level", "warn")
	srv.Env = append(os.Environ(), "CITYBRAIN_ADMIN_TOKEN="+token)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
		}
	}()
	if err := waitReady(ctx, "http://"+httpAddr+"/readyz", 60*time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, srvOut.String())
	}
	pid := srv.Process.Pid
	fmt.Fprintf(c.stdout, "machine: %d CPUs (%s/%s), %s; load generator in this process (pid %d), server pid %d\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getpid(), pid)
	reg := apiRegistrar{base: "http://" + httpAddr, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
	register := func(prefix string, n int) ([]benchDevice, error) {
		out := make([]benchDevice, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, 8)
		for i := range out {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				id := fmt.Sprintf("%s-%05d", prefix, i)
				s, err := reg.Register(ctx, device.Input{ID: id, Profile: "air_quality", Area: "bench"})
				if err != nil {
					errs <- err
					return
				}
				out[i] = benchDevice{id, s}
			}()
		}
		wg.Wait()
		close(errs)
		return out, <-errs
	}
	devs, err := register("bench", *devices)
	if err != nil {
		return err
	}
	if *idle > 0 {
		rss0, _ := procStat(pid)
		idleDevs, err := register("idle", *idle)
		if err != nil {
			return err
		}
		var conns []*simulate.Client
		for _, d := range idleDevs {
			cl, err := simulate.Dial(ctx, mqttAddr, simulate.ConnectOptions{ClientID: d.id, Username: d.id, Password: d.secret, CleanSession: true})
			if err != nil {
				return fmt.Errorf("idle device %s: %w", d.id, err)
			}
			conns = append(conns, cl)
		}
		time.Sleep(2 * time.Second)
		runtime.GC()
		rss1, _ := procStat(pid)
		fmt.Fprintf(c.stdout, "memory: server RSS %.1f MB before, %.1f MB with %d more connected devices: %.1f KB per connected device\n",
			float64(rss0)/1e6, float64(rss1)/1e6, *idle, float64(rss1-rss0)/float64(*idle)/1e3)
		defer func() {
			for _, cl := range conns {
				cl.Close()
			}
		}()
	}
	_, cpu0 := procStat(pid)
	res, err := runLoad(ctx, benchLoad{broker: mqttAddr, devices: devs, window: *window, duration: *duration, values: *values},
		func(id string) string { return "devices/" + id + "/telemetry" })
	if err != nil {
		return err
	}
	rss, cpu1 := procStat(pid)
	pts := res.acked * int64(max(1, min(6, *values)))
	fmt.Fprintf(c.stdout, "load: %d devices × window %d, %d values/message, %s\n", *devices, *window, *values, *duration)
	fmt.Fprintf(c.stdout, "citybrain: %d acknowledged (%d failed) in %.1fs = %.0f msg/s, %.0f points/s; publish→PUBACK (stored, queryable) p50 %s p99 %s\n",
		res.acked, res.failed, res.elapsed.Seconds(), res.rate(), float64(pts)/res.elapsed.Seconds(), res.pct(0.5).Round(10*time.Microsecond), res.pct(0.99).Round(10*time.Microsecond))
	fmt.Fprintf(c.stdout, "server: CPU %.2f cores during the run, RSS %.1f MB; data dir %.1f MB (%.1f bytes per point, including WAL, registry and uncompacted raw rows)\n",
		(cpu1-cpu0).Seconds()/res.elapsed.Seconds(), float64(rss)/1e6, float64(dirSize(data))/1e6, float64(dirSize(data))/float64(max(1, pts)))

	if *noMosq {
		return nil
	}
	if _, err := os.Stat(*mosqBin); err != nil {
		fmt.Fprintf(c.stdout, "mosquitto: %s not found, comparison skipped (apt-get install mosquitto)\n", *mosqBin)
		return nil
	}
	mAddr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(mAddr)
	conf := filepath.Join(data, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\nmax_queued_messages 100000\n"), 0o600); err != nil {
		return err
	}
	mq := exec.CommandContext(ctx, *mosqBin, "-c", conf)
	var mqOut bytes.Buffer
	mq.Stdout, mq.Stderr = &mqOut, &mqOut
	if err := mq.Start(); err != nil {
		return err
	}
	defer func() { _ = mq.Process.Kill(); _ = mq.Wait() }()
	for i := 0; ; i++ {
		if cn, err := net.Dial("tcp", mAddr); err == nil {
			cn.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("mosquitto did not start: %s", mqOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var drained atomic.Int64
	sub, err := simulate.Dial(ctx, mAddr, simulate.ConnectOptions{ClientID: "drain", CleanSession: true,
		OnMessage: func(string, []byte) { drained.Add(1) }})
	if err != nil {
		return fmt.Errorf("mosquitto subscriber: %w", err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(ctx, "devices/#"); err != nil {
		return err
	}
	mres, err := runLoad(ctx, benchLoad{broker: mAddr, devices: devs, window: *window, duration: *duration, values: *values},
		func(id string) string { return "devices/" + id + "/telemetry" })
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "mosquitto: %d acknowledged in %.1fs = %.0f msg/s (subscriber drained %d); p50 %s p99 %s\n",
		mres.acked, mres.elapsed.Seconds(), mres.rate(), drained.Load(), mres.pct(0.5).Round(10*time.Microsecond), mres.pct(0.99).Round(10*time.Microsecond))
	fmt.Fprintf(c.stdout, "ratio: citybrain / mosquitto = %.2f\n", res.rate()/mres.rate())
	return nil
}
