package access_test

import (
	"context"
	"testing"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/governance"
	"github.com/citybrain/citybrain/internal/store/storetest"
)

// A user created without a clearance gets the role's, the one the governance decisions
// assume for such readers: with 1 for everyone, department staff saw their own work
// orders' category, state and deadline masked.
func TestNewUserClearanceDefaultsToTheRole(t *testing.T) {
	db := storetest.SQLite(t)
	svc := access.NewService(db, citybrain.SystemClock{}, access.Config{})
	cases := []struct {
		role, dept, area string
		clearance, want  int
	}{
		{citybrain.RoleAdmin, "", "", 0, 4},
		{citybrain.RoleOperator, "", "", 0, 3},
		{citybrain.RoleDept, "WATER", "", 0, 3},
		{citybrain.RoleWorker, "", "120103001", 0, 2},
		{citybrain.RoleAuditor, "", "", 0, 2},
		{citybrain.RoleCitizen, "", "", 0, 1},
		{citybrain.RoleDept, "WATER", "", 1, 1}, // an explicit clearance is kept
		{citybrain.RoleWorker, "", "120103001", 5, 5},
	}
	for i, tc := range cases {
		u, err := svc.CreateUser(context.Background(), access.NewUser{Username: "user" + string(rune('a'+i)), Password: "password-long-enough",
			Role: tc.role, Department: tc.dept, Area: tc.area, Clearance: tc.clearance})
		if err != nil {
			t.Fatal(err)
		}
		if u.Clearance != tc.want {
			t.Errorf("%s with clearance %d: got %d, want %d", tc.role, tc.clearance, u.Clearance, tc.want)
		}
		if tc.clearance == 0 && u.Clearance != governance.DefaultClearance(tc.role) {
			t.Errorf("%s: access default %d differs from governance default %d", tc.role, u.Clearance, governance.DefaultClearance(tc.role))
		}
	}
}
