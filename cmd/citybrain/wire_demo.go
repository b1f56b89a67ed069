package main

import (
	"context"
	"fmt"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/area"
)

// demoPassword is the password of the demo district's users; it is printed at start.
const demoPassword = "citybrain-demo"

type demoUser struct {
	username, name, role, dept, area string
	clearance                        int
}

// wireDemoUsers creates one user per role for the demo district (demo mode only).
func wireDemoUsers(ctx context.Context, a *app) error {
	if !a.demo {
		return nil
	}
	users := []demoUser{
		{"operator", "指挥中心值班员 Operator", citybrain.RoleOperator, "", "", 3},
		{"water", "区水务局 Water Bureau staff", citybrain.RoleDept, "WATER", "", 3},
		{"urban", "区城管委 Urban Management staff", citybrain.RoleDept, "URBAN_MGMT", "", 3},
		{"civil", "区民政局 Civil Affairs staff", citybrain.RoleDept, "CIVIL_AFFAIRS", "", 4},
		{"worker", "网格员 Grid worker", citybrain.RoleWorker, "", demoWorkerArea(a), 2},
		{"auditor", "审计员 Auditor", citybrain.RoleAuditor, "", "", 5},
		{"citizen", "市民 Citizen", citybrain.RoleCitizen, "", "", 1},
	}
	for _, u := range users {
		_, err := a.access.CreateUser(ctx, access.NewUser{Username: u.username, DisplayName: u.name, Password: demoPassword,
			Role: u.role, Department: u.dept, Area: u.area, Clearance: u.clearance})
		if err != nil && citybrain.ErrorCode(err) != citybrain.ECONFLICT {
			return fmt.Errorf("demo users: %w", err)
		}
	}
	fmt.Fprintf(a.out, "演示账号 / demo users (password %q): operator, water, urban, civil, worker, auditor, citizen\n", demoPassword)
	return nil
}

// demoWorkerArea is the area of the demo grid worker: the first street of the demo district.
func demoWorkerArea(a *app) string {
	if a.areaMap != nil {
		if m := a.areaMap.Load(); m != nil {
			if streets := m.Children(area.DemoDistrictCode); len(streets) > 0 {
				return streets[0].Code
			}
		}
	}
	return area.DemoDistrictCode
}
