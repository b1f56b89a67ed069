package governance

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

var testNow = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)

func residentAttr(col string, g Grade, kind PIKind) Attribute {
	return Attribute{Dataset: "residents", Column: col, Grade: g, Category: CatPersonal, PIKind: kind, Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional}
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	owner := Reader{UserID: 1, Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 4}
	worker := Reader{UserID: 2, Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 4}
	lowWorker := Reader{UserID: 3, Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 2}
	model := Reader{Role: RoleModel, IsModel: true, Clearance: 4}
	citizen := Reader{UserID: 4, Role: citybrain.RoleCitizen}
	auditor := Reader{UserID: 5, Role: citybrain.RoleAuditor, Clearance: 4}
	device := Reader{Role: citybrain.RoleDevice, Clearance: 5}
	grant := Grant{ID: 7, Dataset: "residents", Columns: []string{"name", "phone", "address"}, Grantee: "STREET_OFFICE", Level: Full,
		Purpose: "独居老人走访", Start: testNow.Add(-time.Hour), Expires: testNow.Add(30 * 24 * time.Hour)}
	env := Attribute{Dataset: "air", Column: "pm25", Grade: GradeGeneral2, Category: CatEnvironment, Owner: "ECO_ENV", Sharing: ShareUnconditional}
	public := env
	public.Grade = GradeGeneral1
	important := Attribute{Dataset: "pipes", Column: "layout", Grade: GradeImportant, Category: CatInfrastructure, Owner: "WATER", Sharing: ShareConditional}
	notShared := residentAttr("name", GradeGeneral3, PIName)
	notShared.Sharing = ShareNone
	counts := residentAttr("income", GradeGeneral4, PINone)
	ungraded := residentAttr("x", GradeUnknown, PINone)
	home := Attribute{Dataset: "home_sensors", Column: "heart_rate", Grade: GradeGeneral4, Category: CatSensitivePersonal, PIKind: PIHealth, Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional, HomeDevice: true}
	homeGranted, homeWithdrawn := home, home
	homeGranted.Consent, homeWithdrawn.Consent = ConsentGranted, ConsentWithdrawn

	tests := []struct {
		name   string
		r      Reader
		a      Attribute
		grants []Grant
		want   Decision
	}{
		{"owner full", owner, residentAttr("id_no", GradeGeneral4, PIIDCard), nil, Full},
		{"owner ungraded counts as core", owner, ungraded, nil, Deny},
		{"owner ungraded with clearance 5", Reader{Role: citybrain.RoleDept, Department: "CIVIL_AFFAIRS", Clearance: 5}, ungraded, nil, Full},
		{"other dept general2 full", worker, env, nil, Full},
		{"other dept general3 masked", worker, residentAttr("name", GradeGeneral3, PIName), nil, Masked},
		{"other dept general4 maskable masked", worker, residentAttr("phone", GradeGeneral4, PIMobile), nil, Masked},
		{"other dept general4 other aggregate", worker, counts, nil, AggregateOnly},
		{"other dept important deny", worker, important, nil, Deny},
		{"other dept ungraded deny", worker, ungraded, nil, Deny},
		{"grant lifts to full", worker, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{grant}, Full},
		{"grant covers only its columns", worker, residentAttr("id_no", GradeGeneral4, PIIDCard), []Grant{grant}, Masked},
		{"grant not capped by clearance below important", lowWorker, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{grant}, Full},
		{"low clearance general2 masked", Reader{Role: citybrain.RoleDept, Department: "WATER", Clearance: 1}, env, nil, Masked},
		{"important grant needs clearance 5", worker, important, []Grant{{Dataset: "pipes", Grantee: "STREET_OFFICE", Level: Full, Start: testNow.Add(-time.Hour), Expires: testNow.Add(time.Hour)}}, Deny},
		{"expired grant", worker, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{func() Grant { g := grant; g.Expires = testNow; return g }()}, Masked},
		{"revoked grant", worker, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{func() Grant { g := grant; g.Revoked = true; return g }()}, Masked},
		{"grant other purpose", Reader{Role: citybrain.RoleWorker, Department: "STREET_OFFICE", Clearance: 4, Purpose: "营销"}, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{grant}, Masked},
		{"not shared deny", worker, notShared, nil, Deny},
		{"not shared deny despite grant", worker, notShared, []Grant{{Dataset: "residents", Grantee: "STREET_OFFICE", Level: Full, Start: testNow.Add(-time.Hour), Expires: testNow.Add(time.Hour)}}, Deny},
		{"model personal masked", model, residentAttr("name", GradeGeneral3, PIName), nil, Masked},
		{"model env full", model, env, nil, Full},
		{"model important deny", model, important, nil, Deny},
		{"model personal masked despite grant", model, residentAttr("phone", GradeGeneral4, PIMobile), []Grant{{Dataset: "residents", Grantee: "", Level: Full, Start: testNow.Add(-time.Hour), Expires: testNow.Add(time.Hour)}}, Masked},
		{"citizen public full", citizen, public, nil, Full},
		{"citizen general2 deny", citizen, env, nil, Deny},
		{"auditor masked", auditor, residentAttr("phone", GradeGeneral4, PIMobile), nil, Masked},
		{"device deny", device, env, nil, Deny},
		{"home consent unknown aggregate", owner, home, nil, AggregateOnly},
		{"home consent granted owner full", owner, homeGranted, nil, Full},
		{"home consent withdrawn deny", owner, homeWithdrawn, nil, Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Decide(tt.r, tt.a, Inputs{Now: testNow, Grants: tt.grants})
			if got != tt.want {
				t.Errorf("Decide = %s, want %s (%+v)", got, tt.want, p.Explain(tt.r, tt.a, Inputs{Now: testNow, Grants: tt.grants}))
			}
		})
	}
	if err := p.Validate(); err != nil {
		t.Errorf("default policy invalid: %v", err)
	}
}

func TestEmptyPolicyDenies(t *testing.T) {
	var p Policy
	p.ConsentUnknownCap = Full
	a := Attribute{Dataset: "d", Column: "c", Grade: GradeGeneral1, Sharing: ShareUnconditional}
	for _, role := range []string{citybrain.RoleAdmin, citybrain.RoleCitizen, RoleModel} {
		if d := p.Decide(Reader{Role: role, Clearance: 5}, a, Inputs{Now: testNow}); d != Deny {
			t.Errorf("empty policy, role %s: %s, want DENY", role, d)
		}
	}
}

// random policy material over small domains so that matches are frequent

var (
	rndRoles    = []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker, citybrain.RoleAuditor, citybrain.RoleCitizen, RoleModel}
	rndDepts    = []string{"A", "B", "C", ""}
	rndPurposes = []string{"p1", "p2", ""}
	rndDatasets = []string{"d1", "d2"}
	rndColumns  = []string{"c1", "c2", "c3"}
	rndCats     = []Category{CatPersonal, CatSensitivePersonal, CatEnvironment, CatDevice}
	rndSharing  = []Sharing{ShareUnconditional, ShareConditional, ShareNone}
	rndKinds    = []PIKind{PINone, PIName, PIMobile}
)

func pickN[T any](r *rand.Rand, xs []T) []T {
	if r.Intn(2) == 0 {
		return nil
	}
	var out []T
	for _, x := range xs {
		if r.Intn(2) == 0 {
			out = append(out, x)
		}
	}
	return out
}

func randTri(r *rand.Rand) Tri {
	if r.Intn(3) > 0 {
		return Any
	}
	return Tri(1 + r.Intn(2))
}

func randRule(r *rand.Rand, id string) Rule {
	m := Match{
		Roles: pickN(r, rndRoles), Departments: pickN(r, rndDepts), Purposes: pickN(r, rndPurposes),
		Datasets: pickN(r, rndDatasets), Columns: pickN(r, rndColumns), Categories: pickN(r, rndCats), Sharing: pickN(r, rndSharing),
		Owner: randTri(r), Model: randTri(r), AboveClearance: randTri(r), Personal: randTri(r), Maskable: randTri(r), HomeDevice: randTri(r),
	}
	if r.Intn(3) == 0 {
		m.MinGrade = Grade(r.Intn(7))
	}
	if r.Intn(3) == 0 {
		m.MaxGrade = Grade(r.Intn(7))
	}
	return Rule{ID: id, Match: m, Effect: Decision(r.Intn(4))}
}

func randPolicy(r *rand.Rand) Policy {
	p := Policy{ConsentUnknownCap: Decision(r.Intn(4))}
	for i := r.Intn(8); i > 0; i-- {
		p.Permits = append(p.Permits, randRule(r, "p"))
	}
	for i := r.Intn(8); i > 0; i-- {
		p.Rules = append(p.Rules, randRule(r, "r"))
	}
	return p
}

func randReader(r *rand.Rand) Reader {
	role := rndRoles[r.Intn(len(rndRoles))]
	return Reader{UserID: int64(r.Intn(5)), Role: role, Department: rndDepts[r.Intn(len(rndDepts))], Clearance: r.Intn(6),
		Purpose: rndPurposes[r.Intn(len(rndPurposes))], IsModel: role == RoleModel}
}

func randAttr(r *rand.Rand) Attribute {
	return Attribute{Dataset: rndDatasets[r.Intn(2)], Column: rndColumns[r.Intn(3)], Grade: Grade(r.Intn(7)), Category: rndCats[r.Intn(len(rndCats))],
		PIKind: rndKinds[r.Intn(3)], Owner: rndDepts[r.Intn(3)], Sharing: rndSharing[r.Intn(3)], HomeDevice: r.Intn(3) == 0, Consent: ConsentStatus(r.Intn(3))}
}

func randGrants(r *rand.Rand) []Grant {
	var gs []Grant
	for i := r.Intn(3); i > 0; i-- {
		start := testNow.Add(time.Duration(r.Intn(48)-24) * time.Hour)
		gs = append(gs, Grant{ID: int64(i), Dataset: rndDatasets[r.Intn(2)], Columns: pickN(r, rndColumns), Grantee: rndDepts[r.Intn(3)],
			Level: Decision(r.Intn(4)), Purpose: rndPurposes[r.Intn(3)], Start: start, Expires: start.Add(time.Duration(r.Intn(48)) * time.Hour), Revoked: r.Intn(5) == 0})
	}
	return gs
}

// TestAddingRuleNeverWidens proves over many random policies, readers, attributes,
// grants and consents that adding a rule (any effect, any match) never gives a wider
// decision, and that a matching DENY rule always yields DENY.
func TestAddingRuleNeverWidens(t *testing.T) {
	r := rand.New(rand.NewSource(43697))
	const cases = 100000
	widened, denyChecked := 0, 0
	for i := 0; i < cases; i++ {
		p := randPolicy(r)
		rd, a := randReader(r), randAttr(r)
		in := Inputs{Now: testNow, Grants: randGrants(r)}
		before := p.Decide(rd, a, in)
		extra := randRule(r, "extra")
		p2 := p
		p2.Rules = append(append([]Rule(nil), p.Rules...), extra)
		// insert at a random position too: order must not matter
		if len(p2.Rules) > 1 && r.Intn(2) == 0 {
			j := r.Intn(len(p2.Rules))
			p2.Rules[j], p2.Rules[len(p2.Rules)-1] = p2.Rules[len(p2.Rules)-1], p2.Rules[j]
		}
		after := p2.Decide(rd, a, in)
		if after > before {
			widened++
			if widened < 5 {
				t.Errorf("case %d: adding %+v widened %s to %s\npolicy %+v\nreader %+v attr %+v", i, extra, before, after, p, rd, a)
			}
		}
		if extra.Effect == Deny && extra.Match.Matches(&rd, &a) {
			denyChecked++
			if after != Deny {
				t.Errorf("case %d: matching DENY rule gave %s", i, after)
			}
		}
		if extra.Match.Matches(&rd, &a) && after > extra.Effect {
			t.Errorf("case %d: matching rule with effect %s but decision %s (most restrictive must win)", i, extra.Effect, after)
		}
	}
	if widened > 0 {
		t.Fatalf("%d of %d additions widened access", widened, cases)
	}
	if denyChecked < 1000 {
		t.Fatalf("only %d cases exercised a matching DENY rule; the generator is too narrow", denyChecked)
	}
}

// TestGrantsNeverOverrideDeny checks that no grant lifts a decision that a DENY rule
// or withdrawn consent made, and that decisions never exceed a grant-free decision
// when grants are removed (grants only add).
func TestGrantsNeverOverrideDeny(t *testing.T) {
	r := rand.New(rand.NewSource(11643))
	for i := 0; i < 100000; i++ {
		p := randPolicy(r)
		rd, a := randReader(r), randAttr(r)
		grants := randGrants(r)
		without := p.Decide(rd, a, Inputs{Now: testNow})
		with := p.Decide(rd, a, Inputs{Now: testNow, Grants: grants})
		if with < without {
			t.Fatalf("case %d: a grant narrowed %s to %s", i, without, with)
		}
		denied := a.HomeDevice && a.Consent == ConsentWithdrawn
		for _, rl := range p.Rules {
			if rl.Effect == Deny && rl.Match.Matches(&rd, &a) {
				denied = true
			}
		}
		if denied && with != Deny {
			t.Fatalf("case %d: grant lifted a DENY to %s", i, with)
		}
	}
}

// TestPolicyIsData checks that the policy survives a JSON round trip unchanged in
// behaviour (it is stored and reviewed as data).
func TestPolicyIsData(t *testing.T) {
	p := DefaultPolicy()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(2024))
	for i := 0; i < 20000; i++ {
		rd, a := randReader(r), randAttr(r)
		in := Inputs{Now: testNow, Grants: randGrants(r)}
		if x, y := p.Decide(rd, a, in), q.Decide(rd, a, in); x != y {
			t.Fatalf("round trip changed a decision: %s vs %s for %+v %+v", x, y, rd, a)
		}
	}
}
