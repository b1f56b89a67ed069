package store_test

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/device"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// The SQL device registry behaves like the in-memory reference on the same operations.
func TestDeviceRepositoryConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mem := device.NewMemRepository()
		now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		for _, r := range []device.Repository{db, mem} {
			if err := r.CreateFacility(ctx, device.Facility{ID: "bridge-1", Kind: "bridge", Name: "解放桥", Area: "g1", Lon: 117.2, Lat: 39.1, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := r.CreateFacility(ctx, device.Facility{ID: "bridge-1", Kind: "bridge", Name: "x", CreatedAt: now}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				t.Fatalf("duplicate facility: %v", err)
			}
			for i := 0; i < 30; i++ {
				d := device.Device{ID: "dev-" + strconv.Itoa(100+i), Name: "设备" + strconv.Itoa(i), Profile: []string{"noise", "air_quality", "structure_tilt"}[i%3],
					Area: []string{"g1", "g2"}[i%2], Lon: 117.2 + float64(i)*0.001, Lat: 39.1, Address: "和平路" + strconv.Itoa(i) + "号",
					Disabled: i%7 == 0, CreatedAt: now, UpdatedAt: now}
				if i%3 == 2 {
					d.Facility = "bridge-1"
				}
				if i%5 == 0 {
					d.Household = "hh-" + strconv.Itoa(i)
				}
				if err := r.CreateDevice(ctx, d, device.Credential{DeviceID: d.ID, Hash: device.HashSecret("s" + d.ID), RotatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.CreateDevice(ctx, device.Device{ID: "dev-100", Profile: "noise", CreatedAt: now}, device.Credential{DeviceID: "dev-100"}); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
				t.Fatalf("duplicate device: %v", err)
			}
		}
		filters := []device.Filter{{}, {Area: "g1"}, {Profile: "noise"}, {Facility: "bridge-1"}, {Area: "g2", Profile: "air_quality"},
			{Limit: 7}, {After: "dev-110", Limit: 5}, {After: "dev-129"}, {Area: "nowhere"}}
		for i, f := range filters {
			a, err := db.ListDevices(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := mem.ListDevices(ctx, f)
			if len(a) != len(b) {
				t.Fatalf("filter %d %+v: sql %d, mem %d", i, f, len(a), len(b))
			}
			for j := range a {
				if !reflect.DeepEqual(a[j], b[j]) {
					t.Fatalf("filter %d row %d:\nsql %+v\nmem %+v", i, j, a[j], b[j])
				}
			}
		}
		d, err := db.GetDevice(ctx, "dev-105")
		if err != nil {
			t.Fatal(err)
		}
		d.Name, d.Disabled, d.UpdatedAt = "改名", true, now.Add(time.Hour)
		if err := db.UpdateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetDevice(ctx, "dev-105"); !reflect.DeepEqual(got, d) {
			t.Fatalf("after update %+v, want %+v", got, d)
		}
		for _, err := range []error{
			db.UpdateDevice(ctx, device.Device{ID: "ghost"}),
			db.DeleteDevice(ctx, "ghost"),
			db.SetDeviceCredential(ctx, device.Credential{DeviceID: "ghost"}),
			func() error { _, err := db.GetDevice(ctx, "ghost"); return err }(),
			func() error { _, err := db.GetFacility(ctx, "ghost"); return err }(),
		} {
			if citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
				t.Fatalf("unknown id: %v", err)
			}
		}
		if err := db.SetDeviceCredential(ctx, device.Credential{DeviceID: "dev-101", Hash: device.HashSecret("new"), RotatedAt: now}); err != nil {
			t.Fatal(err)
		}
		cs, err := db.DeviceCredentials(ctx)
		if err != nil || len(cs) != 30 {
			t.Fatalf("credentials %d %v", len(cs), err)
		}
		cache := device.NewCredentialCache()
		cache.Load(cs, cache.Generation())
		if p, r := cache.Verify("dev-101", []byte("new")); r != device.AuthOK || p != "air_quality" {
			t.Fatalf("verify rotated %q %q", p, r)
		}
		if _, r := cache.Verify("dev-105", []byte("sdev-105")); r != device.AuthDisabled {
			t.Fatalf("disabled %q", r)
		}
		if err := db.DeleteDevice(ctx, "dev-101"); err != nil {
			t.Fatal(err)
		}
		fs, err := db.ListFacilities(ctx, "g1")
		if err != nil || len(fs) != 1 || fs[0].Name != "解放桥" || !fs[0].CreatedAt.Equal(now) {
			t.Fatalf("facilities %+v %v", fs, err)
		}
		if fs, _ := db.ListFacilities(ctx, "g9"); len(fs) != 0 {
			t.Fatalf("facilities of g9 %+v", fs)
		}
	})
}

func TestDeviceEventsCommandsRejections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
		evs := []device.Event{
			{DeviceID: "s1", Type: "smoke_alarm", Severity: "critical", TS: now.UnixMilli(), Received: now, Data: map[string]any{"db_m": 0.4}},
			{DeviceID: "s2", Type: "door_open", Severity: "info", TS: now.UnixMilli() + 1, Received: now},
			{DeviceID: "s1", Type: "tamper", Severity: "warning", TS: now.UnixMilli() + 2, Received: now},
		}
		if err := db.AppendDeviceEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListDeviceEvents(ctx, "s1", 10)
		if err != nil || len(got) != 2 || got[0].Type != "tamper" || got[1].Data["db_m"] != 0.4 || !got[1].Received.Equal(now) {
			t.Fatalf("events %+v %v", got, err)
		}
		if all, _ := db.ListDeviceEvents(ctx, "", 2); len(all) != 2 {
			t.Fatalf("all events %+v", all)
		}

		c := device.Command{ID: "c1", DeviceID: "l1", Name: "switch", Params: map[string]any{"on": true}, Status: device.CommandPending, CreatedBy: "op", CreatedAt: now, Deadline: now.Add(5 * time.Minute)}
		if err := db.CreateDeviceCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateDeviceCommand(ctx, c); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("duplicate command: %v", err)
		}
		c.Status, c.SentAt, c.AckedAt, c.Result = device.CommandAcked, now.Add(time.Second), now.Add(2*time.Second), map[string]any{"on": true}
		if err := db.UpdateDeviceCommand(ctx, c); err != nil {
			t.Fatal(err)
		}
		back, err := db.GetDeviceCommand(ctx, "c1")
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("command %+v\nwant %+v (%v)", back, c, err)
		}
		if err := db.UpdateDeviceCommand(ctx, device.Command{ID: "nope"}); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("update unknown command: %v", err)
		}
		if cs, _ := db.ListDeviceCommands(ctx, "l1", 10); len(cs) != 1 {
			t.Fatalf("commands %+v", cs)
		}
		mem := device.NewMemRepository()
		for i, st := range []string{device.CommandPending, device.CommandSent, device.CommandAcked, device.CommandSent} {
			c := device.Command{ID: "d" + strconv.Itoa(i), DeviceID: "l2", Name: "dim", Status: st, CreatedAt: now, Deadline: now.Add(time.Duration(i) * time.Minute)}
			for _, r := range []device.EventStore{db, mem} {
				if err := r.CreateDeviceCommand(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, r := range []device.EventStore{db, mem} {
			due, err := r.DueDeviceCommands(ctx, now.Add(150*time.Second), 10)
			if err != nil || len(due) != 2 || due[0].ID != "d0" || due[1].ID != "d1" {
				t.Fatalf("%T due %+v %v", r, due, err)
			}
		}

		q := device.NewQuarantine(5)
		for i := 0; i < 8; i++ {
			q.Add("s1", device.Rejection{At: now.Add(time.Duration(i) * time.Second), Transport: "mqtt", Reason: device.ReasonOutOfRange, Measurement: "x", Detail: strconv.Itoa(i), Excerpt: "{\"x\":\x00" + strconv.Itoa(i) + "}"})
		}
		q.Add("s2", device.Rejection{At: now, Transport: "http", Reason: device.ReasonMalformed})
		if n, err := q.Flush(ctx, db); err != nil || n != 9 {
			t.Fatalf("flush %d %v", n, err)
		}
		if n, _ := q.Flush(ctx, db); n != 0 {
			t.Fatalf("second flush wrote %d", n)
		}
		if err := db.PruneDeviceRejections(ctx, 3); err != nil {
			t.Fatal(err)
		}
		rs, err := db.DeviceRejections(ctx, "s1", 10)
		if err != nil || len(rs) != 3 || rs[0].Detail != "7" || rs[0].Message == "" || rs[0].Transport != "mqtt" {
			t.Fatalf("rejections %+v %v", rs, err)
		}
		if rs, _ := db.DeviceRejections(ctx, "s2", 10); len(rs) != 1 {
			t.Fatalf("s2 rejections %+v", rs)
		}
	})
}
