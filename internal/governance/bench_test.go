package governance

import (
	"testing"

	"github.com/citybrain/citybrain"
)

// BenchmarkDecideAndMask measures one full policy decision (default policy, one
// active grant among several, no caching) plus the masking of the value, per attribute
// value, over a mix of kinds. The goal is at least 1,000,000 values/s on one core:
//
//	go test -run='^$' -bench=DecideAndMask -cpu=1 ./internal/governance/
func BenchmarkDecideAndMask(b *testing.B) {
	p := DefaultPolicy()
	m := testMasker(b)
	reader := Reader{UserID: 2, Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 4, Purpose: "走访"}
	grants := []Grant{
		{ID: 1, Dataset: "other", Grantee: "STREET_OFFICE", Level: Full, Start: testNow.Add(-1e9), Expires: testNow.Add(1e12)},
		{ID: 2, Dataset: "residents", Columns: []string{"community"}, Grantee: "STREET_OFFICE", Level: Full, Start: testNow.Add(-1e9), Expires: testNow.Add(1e12)},
	}
	in := Inputs{Now: testNow, Grants: grants}
	type item struct {
		a Attribute
		c Column
		v string
	}
	items := []item{
		{residentAttr("name", GradeGeneral3, PIName), Column{Grade: GradeGeneral3, PIKind: PIName}, "欧阳娜娜"},
		{residentAttr("id_no", GradeGeneral4, PIIDCard), Column{Grade: GradeGeneral4, PIKind: PIIDCard}, "11010519491231002X"},
		{residentAttr("phone", GradeGeneral4, PIMobile), Column{Grade: GradeGeneral4, PIKind: PIMobile}, "13812345678"},
		{residentAttr("address", GradeGeneral4, PIAddress), Column{Grade: GradeGeneral4, PIKind: PIAddress}, "河西区滨江路88号幸福小区3栋2单元501室"},
		{residentAttr("card", GradeGeneral4, PIBankCard), Column{Grade: GradeGeneral4, PIKind: PIBankCard}, "6222021234567890128"},
		{residentAttr("community", GradeGeneral2, PINone), Column{Grade: GradeGeneral2}, "东湖社区"},
		{residentAttr("email", GradeGeneral3, PIEmail), Column{Grade: GradeGeneral3, PIKind: PIEmail}, "zhangsan@example.com"},
		{residentAttr("income", GradeGeneral4, PINone), Column{Grade: GradeGeneral4}, "3200"},
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	sink := 0
	for i := 0; i < b.N; i++ {
		it := &items[i%len(items)]
		switch p.Decide(reader, it.a, in) {
		case Full:
			sink += len(it.v)
		case Masked:
			sink += len(m.Mask(it.c.PIKind, it.c.Mask, it.c.Grade, it.v))
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	if sink == 0 {
		b.Fatal("nothing decided")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
	if cpu > 0 {
		// values per second of CPU time: the one-core rate even when other processes
		// share the machine (wall-clock values/s is lower then)
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "values/cpu-s")
	}
}

// BenchmarkFilterRecords measures the enforcement helper on 100-row responses of the
// residents table (decisions planned once per response, then applied per value).
func BenchmarkFilterRecords(b *testing.B) {
	p := DefaultPolicy()
	e := NewEnforcer(&p, testMasker(b))
	ds := residentsDataset()
	var rows []map[string]any
	for i := 0; i < 50; i++ {
		rows = append(rows, residentRecords()...)
	}
	reader := Reader{UserID: 2, Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 4}
	values := 0
	for _, r := range rows {
		values += len(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		e.FilterRecords(reader, ds, rows, Inputs{Now: testNow}, nil)
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.N*values)/b.Elapsed().Seconds(), "values/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*values)/cpu.Seconds(), "values/cpu-s")
	}
}
