package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/ingest"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// wireDevices connects the devices subsystem: the registry over the store, the ingestion
// pipeline writing to telemetry, the embedded MQTT broker, the HTTP routes, bus publishing and
// the background tasks (silence sweep, quarantine flush, credential reload).
func wireDevices(ctx context.Context, a *app) error {
	ps, err := device.BuiltinProfiles()
	if err != nil {
		return err
	}
	if a.telemetry == nil {
		// wireTelemetry did not open the time-series service: open it here so ingestion works.
		a.telemetry, err = telemetry.Open(ctx, a.db, telemetry.Options{RawRetention: a.cfg.RawRetention,
			MinuteRetention: a.cfg.RollupRetention, HourRetention: a.cfg.RollupRetention})
		if err != nil {
			return fmt.Errorf("telemetry: %w", err)
		}
		a.onClose(func() { _ = a.telemetry.Close() })
	}
	status := device.NewStatusTracker()
	a.devices = device.NewService(clusterDeviceRepo{a.db, a}, ps, device.NewCredentialCache(), status, a.clock)
	if err := a.devices.Load(ctx); err != nil {
		return err
	}
	creds, err := a.db.DeviceCredentials(ctx)
	if err != nil {
		return err
	}
	for _, c := range creds { // judge silence from the last stored report, not from this start
		latest, err := a.telemetry.Latest(ctx, c.DeviceID)
		if err != nil {
			return err
		}
		var v device.StatusValues
		for key, bit := range map[string]uint8{device.KeyBattery: device.HasBattery, device.KeyRSSI: device.HasRSSI, device.KeySignal: device.HasSignal} {
			if p, ok := latest[key]; ok {
				v.Has |= bit
				switch bit {
				case device.HasBattery:
					v.Battery = p.Value
				case device.HasRSSI:
					v.RSSI = p.Value
				default:
					v.Signal = p.Value
				}
			}
		}
		status.Restore(c.DeviceID, a.telemetry.LastSeen(c.DeviceID), v)
	}

	profileOf := func(id string) string {
		c, _ := a.devices.Credentials().Lookup(id)
		return c.Profile
	}
	publish := func(subject string, v any) {
		b, err := json.Marshal(v)
		if err == nil {
			err = a.bus.Publish(subject, b)
		}
		if err != nil {
			a.log.Warn("bus publish failed", "subject", subject, "err", err)
		}
	}
	statusMsg := func(s device.Status) {
		publish(bus.SubjectStatus+"."+bus.Token(s.DeviceID), bus.StatusMsg{Device: s.DeviceID, Profile: profileOf(s.DeviceID),
			Online: s.State == device.StateOnline, Silent: s.Silent, TS: a.clock.Now().UnixMilli(), Battery: s.Battery, Signal: s.Signal})
	}
	notify := ingest.Notify{
		Readings: func(rs []telemetry.Reading) {
			// one message per device of the committed batch
			for i := 0; i < len(rs); {
				j := i
				msg := bus.TelemetryMsg{Device: rs[i].DeviceID, Profile: profileOf(rs[i].DeviceID)}
				for ; j < len(rs) && rs[j].DeviceID == rs[i].DeviceID; j++ {
					msg.Readings = append(msg.Readings, bus.Point{M: rs[j].Measurement, TS: rs[j].TS, V: rs[j].Value})
				}
				publish(bus.SubjectTelemetry+"."+bus.Token(msg.Device), msg)
				i = j
			}
		},
		Event: func(e device.Event) {
			publish(bus.SubjectEvents+"."+bus.Token(e.DeviceID), bus.EventMsg{Device: e.DeviceID, Profile: profileOf(e.DeviceID), Type: e.Type, TS: e.TS, Data: e.Data})
		},
		Status: statusMsg,
	}
	limits := ingest.DefaultLimits()
	if a.cfg.MaxPayload > 0 {
		limits.MaxBytes = a.cfg.MaxPayload
	}
	quarantine := device.NewQuarantine(50)
	a.ingest = ingest.New(a.telemetry, a.db, ps, a.devices.Credentials(), status, quarantine,
		ingest.Config{Limits: limits, Registerer: a.reg, Notify: notify, Clock: a.clock})
	a.onClose(a.ingest.Close)

	if a.cfg.MQTT != "" && a.cfg.MQTT != "off" {
		bc := ingest.BrokerConfig{Addr: a.cfg.MQTT, Logger: a.log.With("component", "mqtt"), State: brokerState(a)}
		if a.cfg.MQTTTLS != "" {
			cert, key, ok := strings.Cut(a.cfg.MQTTTLS, ",")
			if !ok {
				return fmt.Errorf("--mqtt-tls must be CERT.pem,KEY.pem, got %q", a.cfg.MQTTTLS)
			}
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return fmt.Errorf("--mqtt-tls: %w", err)
			}
			bc.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
			bc.TLSAddr = a.cfg.MQTTTLSAddr
		}
		a.broker, err = ingest.NewBroker(a.ingest, bc)
		if err != nil {
			return err
		}
		if err := a.broker.Serve(); err != nil {
			return fmt.Errorf("%w (change --mqtt)", err)
		}
		// close the broker before the pipeline and the store (closers run last first)
		a.onClose(func() { _ = a.broker.Close() })
		a.log.Info("mqtt broker listening", "addr", a.broker.Addr())
	}

	a.api.SetDeviceAuth(a.ingest.AuthenticateDevice)
	a.api.Mount(httpapi.DeviceRoutes(a.api, httpapi.DeviceDeps{Registry: a.devices, Ingest: a.ingest, Broker: a.broker,
		Events: a.db, Quarantine: a.db, MQTTAddr: a.cfg.MQTT, MaxPayload: limits.MaxBytes, Clock: a.clock, AreaAt: func(code, level string) (string, bool) {
			if a.areaMap == nil || a.areaMap.Load() == nil {
				return "", false
			}
			loc, ok := a.areaMap.Load().Location(code)
			if !ok {
				return "", false
			}
			c := map[string]string{"district": loc.District, "street": loc.Street, "community": loc.Community, "grid": loc.Grid}[level]
			return c, c != ""
		}})...)

	every := func(name string, d time.Duration, fn func(ctx context.Context) error) {
		a.goTask(name, func(ctx context.Context) error {
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					if err := fn(ctx); err != nil && ctx.Err() == nil {
						a.log.Warn("device task failed", "task", name, "err", err)
					}
				}
			}
		})
	}
	if err := clusterDevices(a, status, statusMsg); err != nil { // peers' devices and readings
		return err
	}
	leaderEvery(a, "device silence sweep", 5*time.Second, func(ctx context.Context) error {
		for _, s := range status.Sweep(a.clock.Now()) {
			statusMsg(s)
		}
		return nil
	})
	every("device quarantine flush", 2*time.Second, func(ctx context.Context) error {
		_, err := quarantine.Flush(ctx, a.db)
		return err
	})
	every("device quarantine prune", 10*time.Minute, func(ctx context.Context) error {
		return a.db.PruneDeviceRejections(ctx, 200)
	})
	// devices imported by `citybrain device import` while the server runs
	every("device credential reload", 15*time.Second, func(ctx context.Context) error {
		return a.devices.Load(ctx)
	})
	if a.broker != nil {
		every("device command expiry", 30*time.Second, func(ctx context.Context) error {
			_, err := a.broker.ExpireCommands(ctx)
			return err
		})
	}
	startDemoSimulator(a)
	return nil
}
