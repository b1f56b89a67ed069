package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

func TestAreasReplaceAndLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.UnixMilli(1764300000000).UTC()
		if v, err := db.AreasVersion(ctx); err != nil || v != 0 {
			t.Fatalf("empty store: version %d, %v", v, err)
		}
		if as, err := db.Areas(ctx); err != nil || len(as) != 0 {
			t.Fatalf("empty store: %d areas, %v", len(as), err)
		}
		demo := area.Demo()
		v1, err := db.ReplaceAreas(ctx, demo, "demo", at)
		if err != nil || v1 <= 0 {
			t.Fatalf("replace: version %d, %v", v1, err)
		}
		got, err := db.Areas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := area.NewMap(demo)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m.All()) {
			t.Fatalf("stored areas differ from the demo (%d stored, %d demo)", len(got), len(demo))
		}

		small := []area.Area{{Code: "9", Level: area.LevelDistrict, NameZH: "测试区", NameEN: "Test",
			Boundary: area.Boundary{area.Polygon{{{1, 1}, {2, 1}, {2, 2}, {1, 1}}}}, Centroid: area.Point{1.5, 1.2}}}
		v2, err := db.ReplaceAreas(ctx, small, "test.geojson", at)
		if err != nil || v2 <= v1 {
			t.Fatalf("second replace: version %d after %d, %v", v2, v1, err)
		}
		got, err = db.Areas(ctx)
		if err != nil || !reflect.DeepEqual(got, small) {
			t.Fatalf("after replace: %+v, %v", got, err)
		}
		if v, _ := db.AreasVersion(ctx); v != v2 {
			t.Fatalf("version %d, want %d", v, v2)
		}

		dup := append(small, small[0])
		if _, err := db.ReplaceAreas(ctx, dup, "dup", at); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("duplicate codes: %v, want conflict", err)
		}
		if got, _ := db.Areas(ctx); !reflect.DeepEqual(got, small) {
			t.Fatal("a failed replace changed the stored areas")
		}
		if v, _ := db.AreasVersion(ctx); v != v2 {
			t.Fatalf("a failed replace changed the version to %d", v)
		}
	})
}

// TestAreaServiceOnStore runs area.Service over the real store: the demo is stored
// once, a second service (another process) sees a replacement through Refresh.
func TestAreaServiceOnStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := func() time.Time { return time.UnixMilli(1764300000000) }
		s1 := area.NewService(db, now)
		if stored, err := s1.EnsureDemo(ctx); err != nil || !stored {
			t.Fatalf("EnsureDemo on empty store: %v %v", stored, err)
		}
		if stored, err := s1.EnsureDemo(ctx); err != nil || stored {
			t.Fatalf("EnsureDemo again: %v %v", stored, err)
		}
		s2 := area.NewService(db, now)
		if err := s2.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if s2.Map().Count(area.LevelGrid) != s1.Map().Count(area.LevelGrid) || s2.Map().Count(area.LevelGrid) == 0 {
			t.Fatal("second service loaded a different map")
		}
		small := []area.Area{{Code: "9", Level: area.LevelDistrict, NameZH: "测试区", NameEN: "Test",
			Boundary: area.Boundary{area.Polygon{{{1, 1}, {2, 1}, {2, 2}, {1, 1}}}}}}
		if _, err := s1.Replace(ctx, small, "test"); err != nil {
			t.Fatal(err)
		}
		if changed, err := s2.Refresh(ctx); err != nil || !changed {
			t.Fatalf("Refresh after replace: %v %v", changed, err)
		}
		if loc, ok := s2.Current().Locate(1.8, 1.2); !ok || loc.District != "9" {
			t.Fatalf("after refresh Locate = %+v %v", loc, ok)
		}
		if changed, err := s2.Refresh(ctx); err != nil || changed {
			t.Fatalf("second Refresh: %v %v", changed, err)
		}
		bad := []area.Area{{Code: "x", Parent: "nope", Level: area.LevelStreet, NameZH: "孤街"}}
		if _, err := s1.Replace(ctx, bad, "bad"); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("orphan street: %v", err)
		}
		if _, ok := s1.Map().Get("9"); !ok {
			t.Fatal("a refused replace changed the map in use")
		}
	})
}
