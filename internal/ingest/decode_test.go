package ingest

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/telemetry"
)

var testNow = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC).UnixMilli()

func profiles(t testing.TB) *device.Profiles {
	t.Helper()
	ps, err := device.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestDecode(t *testing.T) {
	ps := profiles(t)
	lim := DefaultLimits()
	const stamp = 1764316800123
	ts := strconv.FormatInt(testNow-60_000, 10)
	type want struct {
		readings []telemetry.Reading
		rejected []string // reasons
		err      string   // message-level reason
	}
	r := func(m string, ts int64, v float64) telemetry.Reading {
		return telemetry.Reading{DeviceID: "d1", Measurement: m, TS: ts, Value: v}
	}
	cases := []struct {
		name, profile, payload string
		want                   want
	}{
		{"flat", "drain_level", `{"level_cm": 12.5, "battery": 87}`, want{readings: []telemetry.Reading{r("level_cm", stamp, 12.5), r("battery", stamp, 87)}}},
		{"ts values", "drain_level", `{"ts": ` + ts + `, "values": {"level_cm": 3}}`, want{readings: []telemetry.Reading{r("level_cm", testNow-60_000, 3)}}},
		{"flat with ts after", "drain_level", `{"level_cm": 3, "ts": ` + ts + `}`, want{readings: []telemetry.Reading{r("level_cm", testNow-60_000, 3)}}},
		{"array", "noise", `[{"ts": ` + ts + `, "values": {"noise_dba": 55}}, {"ts": ` + strconv.FormatInt(testNow, 10) + `, "values": {"noise_dba": 56.5}}]`,
			want{readings: []telemetry.Reading{r("noise_dba", testNow-60_000, 55), r("noise_dba", testNow, 56.5)}}},
		{"boolean", "door_sensor", `{"open": true}`, want{readings: []telemetry.Reading{r("open", stamp, 1)}}},
		{"boolean false", "door_sensor", `{"open": false}`, want{readings: []telemetry.Reading{r("open", stamp, 0)}}},
		{"boolean as number", "door_sensor", `{"open": 1}`, want{readings: []telemetry.Reading{r("open", stamp, 1)}}},
		{"boolean for number", "noise", `{"noise_dba": true}`, want{rejected: []string{device.ReasonNotNumeric}}},
		{"string value", "noise", `{"noise_dba": "55"}`, want{rejected: []string{device.ReasonNotNumeric}}},
		{"null value", "noise", `{"noise_dba": null}`, want{rejected: []string{device.ReasonNotNumeric}}},
		{"object value", "noise", `{"noise_dba": {"a": [1, 2]}}`, want{rejected: []string{device.ReasonNotNumeric}}},
		{"unknown key", "noise", `{"noise_dba": 50, "pm25": 3}`, want{readings: []telemetry.Reading{r("noise_dba", stamp, 50)}, rejected: []string{device.ReasonUnknownKey}}},
		{"out of range", "gas_methane", `{"ch4_lel": 150}`, want{rejected: []string{device.ReasonOutOfRange}}},
		{"enum", "streetlight", `{"fault_code": 2, "on": false}`, want{readings: []telemetry.Reading{r("fault_code", stamp, 2), r("on", stamp, 0)}}},
		{"enum bad", "streetlight", `{"fault_code": 7}`, want{rejected: []string{device.ReasonNotInEnum}}},
		{"generic any key", "generic", `{"foo": 1e3, "Bar.baz-1": -2}`, want{readings: []telemetry.Reading{r("foo", stamp, 1000), r("Bar.baz-1", stamp, -2)}}},
		{"generic bad key", "generic", `{"a b": 1}`, want{rejected: []string{device.ReasonUnknownKey}}},
		{"escaped key", "noise", `{"noise\u005fdba": 40}`, want{readings: []telemetry.Reading{r("noise_dba", stamp, 40)}}},
		{"duplicate key", "noise", `{"noise_dba": 40, "noise_dba": 41}`, want{readings: []telemetry.Reading{r("noise_dba", stamp, 40)}, rejected: []string{device.ReasonDuplicateKey}}},
		{"overflow", "generic", `{"x": 1e999}`, want{rejected: []string{device.ReasonOutOfRange}}},
		{"future ts", "noise", `{"ts": ` + strconv.FormatInt(testNow+6*60_000, 10) + `, "values": {"noise_dba": 40}}`, want{rejected: []string{device.ReasonFutureTS}}},
		{"almost future ts", "noise", `{"ts": ` + strconv.FormatInt(testNow+4*60_000, 10) + `, "values": {"noise_dba": 40}}`, want{readings: []telemetry.Reading{r("noise_dba", testNow+4*60_000, 40)}}},
		{"old ts", "noise", `{"ts": ` + strconv.FormatInt(testNow-31*86_400_000, 10) + `, "noise_dba": 40}`, want{rejected: []string{device.ReasonOldTS}}},
		{"seconds ts", "noise", `{"ts": 1764316800, "noise_dba": 40}`, want{rejected: []string{device.ReasonBadTS}}},
		{"float ts integral", "noise", `{"ts": ` + ts + `.0, "noise_dba": 40}`, want{readings: []telemetry.Reading{r("noise_dba", testNow-60_000, 40)}}},
		{"fractional ts", "noise", `{"ts": 1764316800000.5, "noise_dba": 40}`, want{err: device.ReasonBadTS}},
		{"string ts", "noise", `{"ts": "now", "noise_dba": 40}`, want{err: device.ReasonBadTS}},
		{"partial array", "noise", `[{"noise_dba": 40}, {"ts": ` + strconv.FormatInt(testNow+time.Hour.Milliseconds(), 10) + `, "noise_dba": 41}]`,
			want{readings: []telemetry.Reading{r("noise_dba", stamp, 40)}, rejected: []string{device.ReasonFutureTS}}},
		{"malformed", "noise", `{"noise_dba": 40`, want{err: device.ReasonMalformed}},
		{"trailing garbage", "noise", `{"noise_dba": 40} x`, want{err: device.ReasonMalformed}},
		{"bad number", "noise", `{"noise_dba": 01}`, want{err: device.ReasonMalformed}},
		{"nan", "noise", `{"noise_dba": NaN}`, want{err: device.ReasonMalformed}},
		{"not object", "noise", `42`, want{err: device.ReasonNotObject}},
		{"array of numbers", "noise", `[1, 2]`, want{err: device.ReasonNotObject}},
		{"values not object", "noise", `{"values": [1]}`, want{err: device.ReasonNotObject}},
		{"empty object", "noise", `{}`, want{err: device.ReasonEmpty}},
		{"empty array", "noise", `[]`, want{err: device.ReasonEmpty}},
		{"empty payload", "noise", ``, want{err: device.ReasonMalformed}},
		{"deep nesting", "noise", `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, want{err: device.ReasonMalformed}},
		{"too large", "generic", `{"x": 1, "pad": "` + strings.Repeat("a", 70_000) + `"}`, want{err: device.ReasonTooLarge}},
		{"too many values", "generic", tooMany(1001), want{err: device.ReasonTooManyValues}},
		{"max values", "generic", tooMany(1000), want{}},
		{"whitespace", "noise", " \n\t{ \"noise_dba\" : 40 } \r\n", want{readings: []telemetry.Reading{r("noise_dba", stamp, 40)}}},
		{"status keys", "noise", `{"rssi": -71, "signal": 80, "battery": 15}`, want{readings: []telemetry.Reading{r("rssi", stamp, -71), r("signal", stamp, 80), r("battery", stamp, 15)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b Batch
			err := lim.Decode(&b, "d1", ps.Get(c.profile), []byte(c.payload), testNow, stamp)
			if c.want.err != "" {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reason != c.want.err {
					t.Fatalf("err = %v, want reason %s", err, c.want.err)
				}
				if len(b.Readings) != 0 {
					t.Fatalf("refused message left readings %v", b.Readings)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if c.name == "max values" {
				if len(b.Readings) != 1000 {
					t.Fatalf("%d readings", len(b.Readings))
				}
				return
			}
			if len(b.Readings) != len(c.want.readings) {
				t.Fatalf("readings %v, want %v", b.Readings, c.want.readings)
			}
			for i := range b.Readings {
				if b.Readings[i] != c.want.readings[i] {
					t.Fatalf("reading %d = %v, want %v", i, b.Readings[i], c.want.readings[i])
				}
			}
			var reasons []string
			for _, x := range b.Rejected {
				reasons = append(reasons, x.Reason)
			}
			if strings.Join(reasons, ",") != strings.Join(c.want.rejected, ",") {
				t.Fatalf("rejected %+v, want %v", b.Rejected, c.want.rejected)
			}
		})
	}
}

func tooMany(n int) string {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	sb.WriteString("}")
	return sb.String()
}

func TestDecodeStatusValues(t *testing.T) {
	ps := profiles(t)
	lim := DefaultLimits()
	var b Batch
	if err := lim.Decode(&b, "d", ps.Get("smoke_detector"), []byte(`{"smoke": false, "battery": 12, "rssi": -95}`), testNow, testNow); err != nil {
		t.Fatal(err)
	}
	if b.Status.Has != device.HasBattery|device.HasRSSI || b.Status.Battery != 12 || b.Status.RSSI != -95 {
		t.Fatalf("status %+v", b.Status)
	}
	// A refused message carries no status.
	b.Reset()
	if err := lim.Decode(&b, "d", ps.Get("smoke_detector"), []byte(`{"battery": 12, `), testNow, testNow); err == nil || b.Status.Has != 0 {
		t.Fatalf("err %v status %+v", err, b.Status)
	}
}

// FuzzDecode checks that the decoder never panics, accepts only valid JSON, refuses invalid
// JSON, and only ever produces finite in-range values of known measurements.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"level_cm": 12.5, "battery": 87}`,
		`{"ts": 1764316800000, "values": {"level_cm": 3}}`,
		`[{"ts": 1764316800000, "values": {"x": 1}}, {"y": true}]`,
		`{"open": true, "fault_code": 2}`,
		`{"a\u0062": -0.5e-3, "n": null, "s": "x", "o": {"p": [1, {}]}}`,
		`[]`, `{}`, `[1]`, `"x"`, `{"ts":"a"}`, `{"k":1e999}`, "{\"k\":1}\x00",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	ps, err := device.BuiltinProfiles()
	if err != nil {
		f.Fatal(err)
	}
	lim := DefaultLimits()
	lim.MaxFuture, lim.MaxAge = 0, 0
	f.Fuzz(func(t *testing.T, payload []byte, generic bool) {
		p := ps.Get("streetlight")
		if generic {
			p = ps.Get("generic")
		}
		var b Batch
		err := lim.Decode(&b, "dev", p, payload, testNow, testNow)
		valid := json.Valid(payload)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("error of type %T", err)
		}
		if !valid && err != nil && len(payload) <= lim.MaxBytes {
			switch de.Reason {
			case device.ReasonMalformed, device.ReasonNotObject, device.ReasonTooManyValues, device.ReasonBadTS:
			default:
				t.Fatalf("invalid JSON %q refused as %s", payload, de.Reason)
			}
		}
		if err != nil && len(b.Readings) != 0 {
			t.Fatalf("refused but kept %v", b.Readings)
		}
		for _, r := range b.Readings {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.DeviceID != "dev" || r.Measurement == "" {
				t.Fatalf("bad reading %+v from %q", r, payload)
			}
			if m := p.Measurement(r.Measurement); m != nil {
				if m.Check(r.Value) != "" {
					t.Fatalf("out of range %+v", r)
				}
			} else if !p.Generic {
				t.Fatalf("unknown measurement accepted %+v", r)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	ps := profiles(b)
	lim := DefaultLimits()
	p := ps.Get("air_quality")
	payload := []byte(`{"pm25": 35.2, "pm10": 61, "no2": 28.4, "o3": 77, "temperature_c": 12.5, "humidity_pct": 48, "battery": 87}`)
	var batch Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		batch.Reset()
		if err := lim.Decode(&batch, "aq-0001", p, payload, testNow, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
