package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

func TestMigrateFromEmptyIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, %v", again, err)
		}
	})
}

func TestUsersTokensSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.UnixMilli(1764300000000).UTC()
		u := &access.User{Username: "张三", DisplayName: "张三", PasswordHash: "h", Role: citybrain.RoleOperator, Clearance: 2, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil || u.ID == 0 {
			t.Fatalf("create: %v id=%d", err, u.ID)
		}
		dup := *u
		if err := db.CreateUser(ctx, &dup); citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			t.Fatalf("duplicate username: want conflict, got %v", err)
		}
		got, err := db.UserByUsername(ctx, "张三")
		if err != nil || got.ID != u.ID || got.Role != citybrain.RoleOperator || !got.CreatedAt.Equal(now) {
			t.Fatalf("by username: %+v %v", got, err)
		}
		if _, err := db.UserByID(ctx, 999); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("unknown id: %v", err)
		}
		got.Disabled = true
		if err := db.UpdateUser(ctx, got); err != nil {
			t.Fatal(err)
		}
		if g, _ := db.UserByID(ctx, u.ID); !g.Disabled {
			t.Fatal("disabled not saved")
		}
		tok := &access.Token{UserID: u.ID, Name: "ci", Hash: "abc", Prefix: "cbt_x", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		gt, err := db.TokenByHash(ctx, "abc")
		if err != nil || gt.ID != tok.ID || !gt.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("token: %+v %v", gt, err)
		}
		if err := db.RevokeToken(ctx, u.ID, tok.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(ctx, u.ID, tok.ID, now); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("double revoke: %v", err)
		}
		s := &access.Session{Hash: "sh", UserID: u.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteExpiredSessions(ctx, now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByHash(ctx, "sh"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
			t.Fatalf("expired session survived: %v", err)
		}
		users, err := db.ListUsers(ctx, 0, 10)
		if err != nil || len(users) != 1 {
			t.Fatalf("list: %d %v", len(users), err)
		}
	})
}

func TestDepartmentsAndSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ds := []store.Department{{Code: "WATER", NameZH: "区水务局", NameEN: "Water"}}
		if err := db.UpsertDepartments(ctx, ds); err != nil {
			t.Fatal(err)
		}
		ds[0].NameEN = "District Water Affairs Bureau"
		if err := db.UpsertDepartments(ctx, ds); err != nil {
			t.Fatal(err)
		}
		got, err := db.Departments(ctx)
		if err != nil || len(got) != 1 || got[0].NameEN != "District Water Affairs Bureau" {
			t.Fatalf("%+v %v", got, err)
		}
		if v, err := db.Setting(ctx, "missing"); v != "" || err != nil {
			t.Fatalf("missing setting: %q %v", v, err)
		}
		if err := db.SetSetting(ctx, "k", "v1"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSetting(ctx, "k", "v2"); err != nil {
			t.Fatal(err)
		}
		if v, _ := db.Setting(ctx, "k"); v != "v2" {
			t.Fatalf("setting %q", v)
		}
	})
}

func TestRebindSkipsLiterals(t *testing.T) {
	// Exercised through a real query on both backends: a literal '?' must survive.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var s string
		var n int
		if err := db.QueryRow(context.Background(), `SELECT '?', CAST(? AS INTEGER)`, 7).Scan(&s, &n); err != nil || s != "?" || n != 7 {
			t.Fatalf("%q %d %v", s, n, err)
		}
	})
}
