package ingest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/simulate"
	"github.com/citybrain/citybrain/internal/telemetry"
)

type discardWriter struct{}

func (discardWriter) Append(context.Context, []telemetry.Reading) error { return nil }

// BenchmarkMQTTIngest measures the broker path alone (authenticated QoS 1 publishes, decoding,
// validation, pipeline, PUBACK) with a writer that stores nothing: the ceiling that storage
// then lowers. Run: go test -run=^$ -bench=MQTTIngest -benchtime=200000x ./internal/ingest/
func BenchmarkMQTTIngest(b *testing.B) { benchIngest(b, discardWriter{}, PipelineConfig{}) }

func benchIngest(b *testing.B, w ReadingWriter, pc PipelineConfig) {
	ps, _ := device.BuiltinProfiles()
	repo := device.NewMemRepository()
	svc := device.NewService(repo, ps, device.NewCredentialCache(), device.NewStatusTracker(), nil)
	in := New(w, repo, ps, svc.Credentials(), svc.Status(), device.NewQuarantine(10), Config{Pipeline: pc})
	defer in.Close()
	br, err := NewBroker(in, BrokerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Serve(); err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	const devices, window = 50, 50
	clients := make([]*simulate.Client, devices)
	for i := range clients {
		id := "bench-" + strconv.Itoa(i)
		_, secret, err := svc.Create(context.Background(), device.Input{ID: id, Profile: "air_quality"})
		if err != nil {
			b.Fatal(err)
		}
		clients[i], err = simulate.Dial(context.Background(), br.Listener(), simulate.ConnectOptions{ClientID: id, Username: id, Password: secret, CleanSession: true})
		if err != nil {
			b.Fatal(err)
		}
		defer clients[i].Close()
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		n := b.N / devices
		if i < b.N%devices {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := "devices/bench-" + strconv.Itoa(i) + "/telemetry"
			win := make(chan struct{}, window)
			var last int64
			for s := 0; s < n; s++ {
				win <- struct{}{}
				ts := max(time.Now().UnixMilli(), last+1) // current, distinct timestamps as devices send
				last = ts
				p := fmt.Appendf(nil, `{"ts":%d,"values":{"pm25":%d.5,"pm10":41,"no2":18.2}}`, ts, s%80)
				c.PublishAsync(topic, p, 1, false, func(err error) {
					if err != nil {
						b.Error(err)
					}
					<-win
				})
			}
			for j := 0; j < window; j++ {
				win <- struct{}{}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}
