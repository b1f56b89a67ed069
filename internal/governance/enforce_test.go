package governance

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

func residentsDataset() *Dataset {
	return &Dataset{Name: "residents", Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional, SharingReason: "仅限政务用途",
		Columns: []Column{
			{Name: "id", Category: CatGovernment, Grade: GradeGeneral1},
			{Name: "name", Category: CatPersonal, Grade: GradeGeneral3, PIKind: PIName},
			{Name: "id_no", Category: CatPersonal, Grade: GradeGeneral4, PIKind: PIIDCard},
			{Name: "phone", Category: CatPersonal, Grade: GradeGeneral4, PIKind: PIMobile},
			{Name: "address", Category: CatPersonal, Grade: GradeGeneral4, PIKind: PIAddress},
			{Name: "income", Category: CatSensitivePersonal, Grade: GradeGeneral4},
			{Name: "community", Category: CatGovernment, Grade: GradeGeneral2},
		}}
}

func residentRecords() []map[string]any {
	var out []map[string]any
	if err := json.Unmarshal([]byte(`[
	 {"id": 1, "name": "张三丰", "id_no": "11010519491231002X", "phone": "13812345678", "address": "河西区滨江路88号3栋501室", "income": 3200, "community": "东湖社区", "secret_note": "x"},
	 {"id": 2, "name": "欧阳娜娜", "id_no": "34052419800101001X", "phone": "13900001111", "address": "河西区人民路1号", "income": 4100, "community": "东湖社区"}
	]`), &out); err != nil {
		panic(err)
	}
	return out
}

func TestFilterRecords(t *testing.T) {
	e := NewEnforcer(func() *Policy { p := DefaultPolicy(); return &p }(), testMasker(t))
	ds := residentsDataset()
	worker := Reader{UserID: 2, Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 4, Purpose: "独居老人走访"}
	owner := Reader{UserID: 1, Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4}
	grant := Grant{ID: 9, Dataset: "residents", Columns: []string{"name", "phone", "address"}, Grantee: "STREET_OFFICE", Level: Full,
		Purpose: "独居老人走访", Start: testNow.Add(-time.Hour), Expires: testNow.Add(30 * 24 * time.Hour)}

	t.Run("other department sees masked", func(t *testing.T) {
		in := residentRecords()
		out, s := e.FilterRecords(worker, ds, in, Inputs{Now: testNow}, nil)
		want := map[string]any{"id": 1.0, "name": "张**", "id_no": "1****************X", "phone": "138****5678", "address": "河西区滨江路****", "community": "东湖社区"}
		if !reflect.DeepEqual(out[0], want) {
			t.Errorf("row 0 = %v\nwant %v", out[0], want)
		}
		if s.Masked != 8 || s.AggOnly != 2 || s.Denied != 0 || s.RowsOut != 2 || s.MaxGrade != GradeGeneral4 {
			t.Errorf("summary = %+v", s)
		}
		if !reflect.DeepEqual(s.Unclassified, []string{"secret_note"}) {
			t.Errorf("unclassified = %v", s.Unclassified)
		}
		if in[0]["name"] != "张三丰" {
			t.Error("input record was modified")
		}
	})
	t.Run("grant opens three columns", func(t *testing.T) {
		out, s := e.FilterRecords(worker, ds, residentRecords(), Inputs{Now: testNow, Grants: []Grant{grant}}, nil)
		if out[0]["name"] != "张三丰" || out[0]["phone"] != "13812345678" || out[0]["address"] != "河西区滨江路88号3栋501室" {
			t.Errorf("granted columns not full: %v", out[0])
		}
		if out[0]["id_no"] != "1****************X" {
			t.Errorf("ungranted column not masked: %v", out[0]["id_no"])
		}
		for _, c := range s.Columns {
			if c.Column == "phone" && (c.GrantID != 9 || c.Decision != Full) {
				t.Errorf("phone outcome %+v", c)
			}
		}
	})
	t.Run("owner sees all", func(t *testing.T) {
		out, s := e.FilterRecords(owner, ds, residentRecords(), Inputs{Now: testNow}, nil)
		if out[1]["income"] != 4100.0 || out[1]["id_no"] != "34052419800101001X" || s.Restricted() != true /* secret_note */ {
			t.Errorf("owner row %v, summary %+v", out[1], s)
		}
	})
	t.Run("model endpoint", func(t *testing.T) {
		model := Reader{Role: RoleModel, IsModel: true, Clearance: 4}
		out, _ := e.Filter(model, ds, residentRecords()[0], Inputs{Now: testNow}, nil)
		m := out.(map[string]any)
		if m["phone"] != "138****5678" || m["income"] != nil {
			t.Errorf("model sees %v", m)
		}
	})
	t.Run("citizen sees only public", func(t *testing.T) {
		out, s := e.Filter(Reader{Role: citybrain.RoleCitizen}, ds, toAny(residentRecords()), Inputs{Now: testNow}, nil)
		rows := out.([]any)
		if len(rows) != 2 || !reflect.DeepEqual(rows[0], map[string]any{}) {
			t.Errorf("citizen rows %v", rows)
		}
		if s.Denied == 0 {
			t.Errorf("summary %+v", s)
		}
	})
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i := range ms {
		out[i] = ms[i]
	}
	return out
}

func TestFilterConsent(t *testing.T) {
	e := NewEnforcer(func() *Policy { p := DefaultPolicy(); return &p }(), testMasker(t))
	ds := &Dataset{Name: "home_sensors", Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional, SharingReason: "养老服务", HomeDevice: true,
		Columns: []Column{
			{Name: "household", Category: CatPersonal, Grade: GradeGeneral3, HouseholdKey: true},
			{Name: "heart_rate", Category: CatSensitivePersonal, Grade: GradeGeneral4, PIKind: PIHealth},
		}}
	rows := []map[string]any{
		{"household": "H1", "heart_rate": "72"},
		{"household": "H2", "heart_rate": "80"},
		{"household": "H3", "heart_rate": "90"},
	}
	consent := func(h, purpose string) ConsentStatus {
		switch h {
		case "H1":
			return ConsentGranted
		case "H2":
			return ConsentWithdrawn
		}
		return ConsentUnknown
	}
	owner := Reader{UserID: 1, Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4, Purpose: "elderly_care"}
	out, s := e.FilterRecords(owner, ds, rows, Inputs{Now: testNow}, consent)
	if len(out) != 2 || s.ConsentDropped != 1 {
		t.Fatalf("rows %v summary %+v", out, s)
	}
	if out[0]["heart_rate"] != "72" {
		t.Errorf("granted household: %v", out[0])
	}
	if _, ok := out[1]["heart_rate"]; ok {
		t.Errorf("unknown consent should be aggregate-only at row level: %v", out[1])
	}
}

func TestMaskTextFor(t *testing.T) {
	e := NewEnforcer(func() *Policy { p := DefaultPolicy(); return &p }(), testMasker(t))
	model := Reader{Role: RoleModel, IsModel: true}
	text := "联系人张三，电话13812345678，路灯坏了"
	got := e.MaskTextFor(model, text, GradeGeneral3, Inputs{Now: testNow})
	if strings.Contains(got, "13812345678") || strings.Contains(got, "张三") || !strings.Contains(got, "路灯坏了") {
		t.Errorf("MaskTextFor(model) = %q", got)
	}
}

func platformDataset(t *testing.T, name string) *Dataset {
	t.Helper()
	for _, d := range PlatformCatalog() {
		if d.Name == name {
			d := d
			return &d
		}
	}
	t.Fatalf("no platform dataset %s", name)
	return nil
}

// TestFilterEnvelopes checks that records nested in envelopes (a detail object, a
// page) are governed field by field: no subtree passes whole under Other.
func TestFilterEnvelopes(t *testing.T) {
	e := NewEnforcer(func() *Policy { p := DefaultPolicy(); return &p }(), testMasker(t))
	ds := platformDataset(t, "workorders")
	var detail map[string]any
	if err := json.Unmarshal([]byte(`{"order": {"id": 7, "state": "dispatched", "description": "联系人张三，电话13812345678，路灯坏了",
	  "address": "河西区滨江路88号3栋501室", "reporters": [{"name": "张三", "phone": "13812345678", "channel": "app"}]},
	  "history": [{"id": 1, "note": "已派单"}], "actions": ["accept"]}`), &detail); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		r                 Reader
		phone, addr, desc any
	}{
		{"dept staff", Reader{Role: citybrain.RoleDept, Department: "URBAN_MGMT", Clearance: 3}, "138****5678", "河西区滨江路****", "联系人张*，电话138****5678，路灯坏了"},
		{"operator calls back", Reader{Role: citybrain.RoleOperator, Clearance: 4}, "13812345678", "河西区滨江路88号3栋501室", "联系人张三，电话13812345678，路灯坏了"},
		{"citizen", Reader{Role: citybrain.RoleCitizen, Clearance: 1}, nil, nil, "联系人张*，电话138****5678，路灯坏了"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, s := e.Filter(tt.r, ds, detail, Inputs{Now: testNow}, nil)
			o := out.(map[string]any)["order"].(map[string]any)
			rep := o["reporters"].([]any)[0].(map[string]any)
			if rep["phone"] != tt.phone || o["address"] != tt.addr || o["description"] != tt.desc {
				t.Errorf("phone %v address %v description %v (summary %+v)", rep["phone"], o["address"], o["description"], s)
			}
			if o["state"] != "dispatched" || rep["channel"] != "app" {
				t.Errorf("operational fields lost: %v", o)
			}
		})
	}
}
