package ingest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/telemetry"
)

// Notify receives what happened after it is durable, to feed the bus (rules, live UI). Every
// field may be nil. The functions run on ingestion goroutines: they must be quick, must not
// block and must not retain slices they are given.
type Notify struct {
	Readings func(rs []telemetry.Reading)
	Event    func(e device.Event)
	Status   func(s device.Status)
	Command  func(c device.Command)
}

// Config configures an Ingestor.
type Config struct {
	Limits   Limits
	Pipeline PipelineConfig
	// Registerer receives the Prometheus metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	Notify     Notify
	Clock      citybrain.Clock
}

// Ingestor is the transport-independent core shared by the MQTT broker and the HTTP door:
// authenticate a device, decode and validate its payloads, record refusals in its quarantine,
// write readings durably through the Pipeline, store events, track commands and status.
// Safe for concurrent use.
type Ingestor struct {
	limits     Limits
	profiles   *device.Profiles
	creds      *device.CredentialCache
	status     *device.StatusTracker
	quarantine *device.Quarantine
	events     device.EventStore
	pipe       *Pipeline
	m          *metrics
	notify     Notify
	clock      citybrain.Clock
}

// New returns an Ingestor writing readings to w and events/commands to events.
func New(w ReadingWriter, events device.EventStore, profiles *device.Profiles, creds *device.CredentialCache,
	status *device.StatusTracker, quarantine *device.Quarantine, cfg Config) *Ingestor {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Clock == nil {
		cfg.Clock = citybrain.SystemClock{}
	}
	in := &Ingestor{limits: cfg.Limits, profiles: profiles, creds: creds, status: status, quarantine: quarantine,
		events: events, m: newMetrics(cfg.Registerer), notify: cfg.Notify, clock: cfg.Clock}
	pc := cfg.Pipeline
	userAfter := pc.AfterWrite
	pc.AfterWrite = func(rs []telemetry.Reading) {
		if userAfter != nil {
			userAfter(rs)
		}
		if in.notify.Readings != nil {
			in.notify.Readings(rs)
		}
	}
	in.pipe = NewPipeline(w, pc)
	return in
}

// Close stops the pipeline.
func (in *Ingestor) Close() { in.pipe.Close() }

// Limits returns the configured limits.
func (in *Ingestor) Limits() Limits { return in.limits }

// Quarantine returns the quarantine.
func (in *Ingestor) Quarantine() *device.Quarantine { return in.quarantine }

// Status returns the status tracker.
func (in *Ingestor) Status() *device.StatusTracker { return in.status }

// authenticate checks a device's secret; refusals are counted and, for a known device,
// quarantined.
func (in *Ingestor) authenticate(transport, id string, secret []byte) (*device.Profile, error) {
	prof, reason := in.creds.Verify(id, secret)
	if reason == device.AuthOK {
		p := in.profiles.Get(prof)
		if p == nil {
			p = in.profiles.Get("generic")
		}
		return p, nil
	}
	in.m.refused.WithLabelValues(transport, reason).Inc()
	if reason != device.AuthUnknownDevice {
		in.quarantine.Add(id, device.Rejection{At: in.clock.Now().UTC(), Transport: transport, Reason: reason})
	}
	if reason == device.AuthDisabled {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "设备已停用 / device %s is disabled", id)
	}
	return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "设备编号或密钥错误 / unknown device or wrong secret")
}

// decodeTelemetry decodes a payload into b, records refusals and the device's liveness. It
// returns the message-level refusal, if any.
func (in *Ingestor) decodeTelemetry(transport, topic, id string, p *device.Profile, payload []byte, b *Batch) *DecodeError {
	now := in.clock.Now()
	nowMs := now.UnixMilli()
	stamp := in.status.StampTS(id, nowMs)
	err := in.limits.Decode(b, id, p, payload, nowMs, stamp)
	var de *DecodeError
	if err != nil {
		errors.As(err, &de)
		in.m.refused.WithLabelValues(transport, de.Reason).Inc()
		in.quarantine.Add(id, device.Rejection{At: now.UTC(), Transport: transport, Topic: topic, Reason: de.Reason,
			Detail: de.Detail, Excerpt: device.Excerpt(payload)})
	}
	for _, r := range b.Rejected {
		in.m.rejected.WithLabelValues(r.Reason).Inc()
		in.quarantine.Add(id, device.Rejection{At: now.UTC(), Transport: transport, Topic: topic, Reason: r.Reason,
			Measurement: r.Measurement, Detail: r.Detail, Excerpt: device.Excerpt(payload)})
	}
	if in.status.Seen(id, nowMs, b.Status) && in.notify.Status != nil {
		in.notify.Status(in.status.Get(id, now))
	}
	return de
}

// Result is the outcome of one telemetry message over HTTP.
type Result struct {
	Accepted int              `json:"accepted"`
	Rejected []ValueRejection `json:"rejected"`
}

// HTTPTelemetry is the HTTP door: it authenticates the device (id from the URL, secret from
// Basic auth or a Bearer token), decodes the body and returns only once the accepted readings
// are durable. A message with nothing acceptable is an EINVALID (ETOOLARGE for size) error; the
// Result then still lists the refused values.
func (in *Ingestor) HTTPTelemetry(ctx context.Context, id string, secret []byte, body []byte) (Result, error) {
	if _, err := in.authenticate("http", id, secret); err != nil {
		return Result{}, err
	}
	return in.Telemetry(ctx, id, body)
}

// AuthenticateDevice checks a device's secret for the HTTP door and returns the device actor
// (it has the signature of httpapi.DeviceAuthenticator). Refusals are counted and quarantined.
func (in *Ingestor) AuthenticateDevice(_ context.Context, id, secret string) (*citybrain.Actor, error) {
	if _, err := in.authenticate("http", id, []byte(secret)); err != nil {
		return nil, err
	}
	return &citybrain.Actor{Role: citybrain.RoleDevice, DeviceID: id, Username: id}, nil
}

// profileOf returns the profile of a registered device (generic when unknown).
func (in *Ingestor) profileOf(id string) *device.Profile {
	c, _ := in.creds.Lookup(id)
	if p := in.profiles.Get(c.Profile); p != nil {
		return p
	}
	return in.profiles.Get("generic")
}

// Telemetry ingests a telemetry body of an already authenticated device (see HTTPTelemetry).
func (in *Ingestor) Telemetry(ctx context.Context, id string, body []byte) (Result, error) {
	p := in.profileOf(id)
	in.m.messages.WithLabelValues("http", "telemetry").Inc()
	b := in.pipe.GetBatch()
	if de := in.decodeTelemetry("http", "", id, p, body, b); de != nil {
		in.pipe.PutBatch(b)
		code := citybrain.EINVALID
		if de.Reason == device.ReasonTooLarge {
			code = citybrain.ETOOLARGE
		}
		return Result{Rejected: []ValueRejection{{Reason: de.Reason, Detail: de.Detail}}}, citybrain.Errorf(code, "%s", de.Error())
	}
	res := Result{Accepted: len(b.Readings), Rejected: append([]ValueRejection{}, b.Rejected...)}
	if res.Accepted == 0 {
		in.pipe.PutBatch(b)
		return res, citybrain.Errorf(citybrain.EINVALID, "没有可接受的测量值 / no acceptable value: %s", summarise(res.Rejected))
	}
	n := res.Accepted
	done := make(chan error, 1)
	if err := in.pipe.Submit(ctx, id, b, func(err error) { done <- err }); err != nil {
		in.pipe.PutBatch(b)
		return Result{}, citybrain.Errorf(citybrain.ETOOMANY, "写入繁忙, 请重试 / ingestion busy, retry (%v)", err)
	}
	select {
	case err := <-done:
		if err != nil {
			in.m.refused.WithLabelValues("http", device.ReasonStorage).Inc()
			if c := citybrain.ErrorCode(err); c == citybrain.ETOOMANY || c == citybrain.EUNAVAILABLE {
				return Result{}, err
			}
			return Result{}, citybrain.Errorf(citybrain.EUNAVAILABLE, "存储暂不可用, 请重试 / storage unavailable, retry")
		}
	case <-ctx.Done():
		// the client went away; the write may still complete and a retry is deduplicated
		return Result{}, citybrain.Errorf(citybrain.EUNAVAILABLE, "请求已取消 / request cancelled before the write completed")
	}
	in.m.readings.WithLabelValues("http").Add(float64(n))
	return res, nil
}

func summarise(rs []ValueRejection) string {
	var sb strings.Builder
	for i, r := range rs {
		if i == 3 {
			sb.WriteString("; …+" + strconv.Itoa(len(rs)-3))
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		if r.Measurement != "" {
			sb.WriteString(r.Measurement + ": ")
		}
		sb.WriteString(r.Reason)
		if r.Detail != "" {
			sb.WriteString(" (" + r.Detail + ")")
		}
	}
	return sb.String()
}

// eventPayload is one event as a device sends it.
type eventPayload struct {
	Type string         `json:"type"`
	TS   *int64         `json:"ts"`
	Data map[string]any `json:"data"`
}

// decodeEvents parses {"type": ..., "ts": ..., "data": {...}} or an array of them.
func (in *Ingestor) decodeEvents(id string, p *device.Profile, payload []byte, now time.Time) ([]device.Event, *DecodeError) {
	if in.limits.MaxBytes > 0 && len(payload) > in.limits.MaxBytes {
		return nil, &DecodeError{Reason: device.ReasonTooLarge, Detail: strconv.Itoa(len(payload)) + " bytes"}
	}
	var list []eventPayload
	trimmed := strings.TrimSpace(string(payload))
	var err error
	if strings.HasPrefix(trimmed, "[") {
		err = jsonUnmarshal(payload, &list)
	} else {
		var one eventPayload
		err = jsonUnmarshal(payload, &one)
		list = []eventPayload{one}
	}
	if err != nil {
		return nil, &DecodeError{Reason: device.ReasonMalformed, Detail: err.Error()}
	}
	if len(list) == 0 {
		return nil, &DecodeError{Reason: device.ReasonEmpty}
	}
	if len(list) > in.limits.MaxValues {
		return nil, &DecodeError{Reason: device.ReasonTooManyValues}
	}
	out := make([]device.Event, 0, len(list))
	nowMs := now.UnixMilli()
	for _, e := range list {
		ev := device.Event{DeviceID: id, Type: e.Type, Data: e.Data, Received: now.UTC(), TS: nowMs, Severity: "info"}
		if e.Type == "" {
			return nil, &DecodeError{Reason: device.ReasonUnknownEvent, Detail: `"type" is required`}
		}
		if et := p.Event(e.Type); et != nil {
			ev.Severity = et.Severity
		} else if !p.Generic {
			return nil, &DecodeError{Reason: device.ReasonUnknownEvent, Detail: e.Type + " (profile " + p.Code + ")"}
		} else if !validGenericKey([]byte(e.Type)) {
			return nil, &DecodeError{Reason: device.ReasonUnknownEvent, Detail: "event types are 1-64 characters of A-Z a-z 0-9 _ . -"}
		}
		if e.TS != nil {
			d := decoder{lim: &in.limits, nowMs: nowMs}
			if reason, detail := d.checkTS(*e.TS); reason != "" {
				return nil, &DecodeError{Reason: reason, Detail: detail}
			}
			ev.TS = *e.TS
		}
		out = append(out, ev)
	}
	return out, nil
}

// storeEvents stores events durably, then notifies.
func (in *Ingestor) storeEvents(ctx context.Context, es []device.Event) error {
	if in.events == nil {
		return citybrain.Errorf(citybrain.EUNAVAILABLE, "事件存储未配置 / no event store")
	}
	if err := in.events.AppendDeviceEvents(ctx, es); err != nil {
		return err
	}
	if in.notify.Event != nil {
		for _, e := range es {
			in.notify.Event(e)
		}
	}
	return nil
}

// HTTPEvents is the HTTP door for events (POST /api/v1/devices/{id}/events).
func (in *Ingestor) HTTPEvents(ctx context.Context, id string, secret []byte, body []byte) (int, error) {
	if _, err := in.authenticate("http", id, secret); err != nil {
		return 0, err
	}
	return in.Events(ctx, id, body)
}

// Events ingests an events body of an already authenticated device (see HTTPEvents).
func (in *Ingestor) Events(ctx context.Context, id string, body []byte) (int, error) {
	p := in.profileOf(id)
	in.m.messages.WithLabelValues("http", "event").Inc()
	now := in.clock.Now()
	es, de := in.decodeEvents(id, p, body, now)
	if de != nil {
		in.m.refused.WithLabelValues("http", de.Reason).Inc()
		in.quarantine.Add(id, device.Rejection{At: now.UTC(), Transport: "http", Topic: "events", Reason: de.Reason, Detail: de.Detail, Excerpt: device.Excerpt(body)})
		return 0, citybrain.Errorf(citybrain.EINVALID, "%s", de.Error())
	}
	in.status.Seen(id, now.UnixMilli(), device.StatusValues{})
	if err := in.storeEvents(ctx, es); err != nil {
		return 0, err
	}
	return len(es), nil
}
