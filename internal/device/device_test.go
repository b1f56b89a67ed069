package device

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/citybrain/citybrain"
)

func mustProfiles(t testing.TB) *Profiles {
	t.Helper()
	ps, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestBuiltinProfilesCoverTheDistrict(t *testing.T) {
	ps := mustProfiles(t)
	want := map[string][]string{
		"gas_methane":            {"ch4_lel"},
		"water_pipe":             {"pressure_mpa", "flow_m3h"},
		"drain_level":            {"level_cm"},
		"rain_gauge":             {"rainfall_mm"},
		"heat_pipe":              {"temperature_c", "pressure_mpa"},
		"structure_tilt":         {"tilt_x_deg", "tilt_y_deg"},
		"structure_displacement": {"displacement_mm"},
		"structure_strain":       {"strain_ue"},
		"manhole_cover":          {"tilt_deg", "open"},
		"crowd_density":          {"count", "density_pm2"},
		"smoke_detector":         {"smoke"},
		"door_sensor":            {"open"},
		"motion_sensor":          {"motion"},
		"electricity_meter":      {"energy_kwh", "power_kw"},
		"water_meter":            {"total_m3"},
		"parking_space":          {"occupied"},
		"air_quality":            {"pm25", "pm10", "no2", "o3"},
		"noise":                  {"noise_dba"},
		"streetlight":            {"on", "power_w", "fault"},
		"waste_bin":              {"fill_pct"},
		"generic":                {},
	}
	for code, keys := range want {
		t.Run(code, func(t *testing.T) {
			p := ps.Get(code)
			if p == nil {
				t.Fatalf("profile %s missing", code)
			}
			if p.NameZh == "" || p.NameEn == "" || p.Interval() <= 0 {
				t.Fatalf("profile %s incomplete: %+v", code, p)
			}
			for _, k := range append(keys, KeyBattery, KeyRSSI, KeySignal) {
				if p.Measurement(k) == nil {
					t.Errorf("profile %s lacks measurement %s", code, k)
				}
			}
		})
	}
	if !ps.Get("generic").Generic {
		t.Error("generic profile must be generic")
	}
	for _, k := range []string{"bridge", "gas_valve_well", "pumping_station"} {
		if !ps.ValidFacilityKind(k) {
			t.Errorf("facility kind %s missing", k)
		}
	}
	if ps.Get("streetlight").Command("switch") == nil || ps.Get("smoke_detector").Event("smoke_alarm") == nil {
		t.Error("streetlight switch command or smoke alarm event missing")
	}
}

func TestMeasurementCheck(t *testing.T) {
	ps := mustProfiles(t)
	cases := []struct {
		profile, key string
		v            float64
		want         string
	}{
		{"gas_methane", "ch4_lel", 12, ""},
		{"gas_methane", "ch4_lel", 100, ""},
		{"gas_methane", "ch4_lel", 100.5, ReasonOutOfRange},
		{"gas_methane", "ch4_lel", -1, ReasonOutOfRange},
		{"door_sensor", "open", 1, ""},
		{"door_sensor", "open", 0, ""},
		{"door_sensor", "open", 2, ReasonNotBoolean},
		{"streetlight", "fault_code", 3, ""},
		{"streetlight", "fault_code", 9, ReasonNotInEnum},
		{"air_quality", "battery", 101, ReasonOutOfRange},
		{"air_quality", "rssi", -80, ""},
	}
	for _, c := range cases {
		t.Run(c.profile+"/"+c.key+"="+strconv.FormatFloat(c.v, 'g', -1, 64), func(t *testing.T) {
			if got := ps.Get(c.profile).Measurement(c.key).Check(c.v); got != c.want {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseProfilesRefusesBadCatalogues(t *testing.T) {
	cases := map[string]string{
		"bad yaml":     "profiles: [",
		"no interval":  "profiles: [{code: a, name_zh: 甲, name_en: A}]",
		"bad code":     "profiles: [{code: A-1, name_zh: 甲, name_en: A, interval_s: 5}]",
		"dup":          "profiles: [{code: a, name_zh: 甲, name_en: A, interval_s: 5}, {code: a, name_zh: 甲, name_en: A, interval_s: 5}]",
		"min>max":      "profiles: [{code: a, name_zh: 甲, name_en: A, interval_s: 5, measurements: [{key: x, min: 5, max: 1}]}]",
		"empty enum":   "profiles: [{code: a, name_zh: 甲, name_en: A, interval_s: 5, measurements: [{key: x, kind: enum}]}]",
		"status clash": "profiles: [{code: a, name_zh: 甲, name_en: A, interval_s: 5, measurements: [{key: battery}]}]",
		"unknown kind": "profiles: [{code: a, name_zh: 甲, name_en: A, interval_s: 5, measurements: [{key: x, kind: text}]}]",
		"no names":     "profiles: [{code: a, interval_s: 5}]",
	}
	for name, y := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseProfiles([]byte(y)); citybrain.ErrorCode(err) != citybrain.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{
		"gw-001": true, "A.b_c-9": true, "x": true,
		"": false, "-a": false, "a/b": false, "a+b": false, "a#": false, "a|b": false, "设备": false,
		"inline": false, "Inline": false, strings.Repeat("a", 65): false, strings.Repeat("a", 64): true,
	} {
		if got := ValidID(id) == nil; got != ok {
			t.Errorf("ValidID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}

func TestCredentials(t *testing.T) {
	s1, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := NewSecret()
	if s1 == s2 || len(s1) != 43 {
		t.Fatalf("secrets %q %q", s1, s2)
	}
	c := NewCredentialCache()
	c.Put(CachedCredential{DeviceID: "d1", Hash: HashSecret(s1), Profile: "noise"})
	c.Put(CachedCredential{DeviceID: "d2", Hash: HashSecret(s2), Profile: "noise", Disabled: true})
	cases := []struct {
		id, secret, want string
	}{
		{"d1", s1, AuthOK}, {"d1", s2, AuthBadSecret}, {"d1", "", AuthBadSecret},
		{"nope", s1, AuthUnknownDevice}, {"d2", s2, AuthDisabled}, {"d2", s1, AuthBadSecret},
	}
	for _, cs := range cases {
		p, r := c.Verify(cs.id, []byte(cs.secret))
		if r != cs.want {
			t.Errorf("Verify(%s) = %q, want %q", cs.id, r, cs.want)
		}
		if r == AuthOK && p != "noise" {
			t.Errorf("profile = %q", p)
		}
	}
	c.Remove("d1")
	if _, r := c.Verify("d1", []byte(s1)); r != AuthUnknownDevice {
		t.Errorf("after Remove: %q", r)
	}
}

func TestStatusStates(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	st := NewStatusTracker()
	st.Register("a", time.Minute, false)
	st.Register("d", time.Minute, true)
	if s := st.Get("a", t0); s.State != StateNeverSeen {
		t.Fatalf("state %s", s.State)
	}
	if !st.Connected("a", t0) {
		t.Fatal("first connect must report a change")
	}
	if st.Connected("a", t0) {
		t.Fatal("second connect is no change")
	}
	st.Seen("a", t0.Add(10*time.Second).UnixMilli(), StatusValues{Battery: 15, RSSI: -90, Has: HasBattery | HasRSSI})
	s := st.Get("a", t0.Add(time.Minute))
	if s.State != StateOnline || s.Battery == nil || *s.Battery != 15 || s.RSSI == nil || s.Signal != nil {
		t.Fatalf("status %+v", s)
	}
	// 2.5 minutes after the last message: still within; just after: silent, reported once.
	if got := st.Sweep(t0.Add(10*time.Second + 150*time.Second)); len(got) != 0 {
		t.Fatalf("sweep at the limit flagged %v", got)
	}
	got := st.Sweep(t0.Add(10*time.Second + 151*time.Second))
	if len(got) != 1 || got[0].DeviceID != "a" || got[0].State != StateSilent {
		t.Fatalf("sweep = %+v", got)
	}
	if again := st.Sweep(t0.Add(time.Hour)); len(again) != 0 {
		t.Fatalf("silence reported twice: %+v", again)
	}
	if !st.Seen("a", t0.Add(time.Hour).UnixMilli(), StatusValues{}) {
		t.Fatal("coming back must be reported")
	}
	if !st.Disconnected("a", t0.Add(time.Hour+time.Second), "will") {
		t.Fatal("disconnect must report a change")
	}
	if s := st.Get("a", t0.Add(time.Hour+2*time.Second)); s.State != StateOffline || s.OfflineReason != "will" {
		t.Fatalf("after will: %+v", s)
	}
	if s := st.Get("d", t0); s.State != StateDisabled {
		t.Fatalf("disabled: %+v", s)
	}
	// HTTP-only device: online while it reports within its window.
	st.Register("h", time.Minute, false)
	st.Seen("h", t0.UnixMilli(), StatusValues{})
	if s := st.Get("h", t0.Add(time.Minute)); s.State != StateOnline {
		t.Fatalf("http device: %+v", s)
	}
}

func TestStampTSIsMonotonicPerDevice(t *testing.T) {
	st := NewStatusTracker()
	a := st.StampTS("x", 1000)
	b := st.StampTS("x", 1000)
	c := st.StampTS("x", 999)
	d := st.StampTS("y", 1000)
	if a != 1000 || b != 1001 || c != 1002 || d != 1000 {
		t.Fatalf("stamps %d %d %d %d", a, b, c, d)
	}
}

func TestQuarantineKeepsLastN(t *testing.T) {
	q := NewQuarantine(3)
	for i := 0; i < 5; i++ {
		q.Add("d", Rejection{Reason: ReasonOutOfRange, Detail: strconv.Itoa(i)})
	}
	q.Add("d", Rejection{Reason: ReasonMalformed, Detail: "5"})
	r := q.Report("d")
	if r.Total != 6 || r.ByReason[ReasonOutOfRange] != 5 || r.ByReason[ReasonMalformed] != 1 {
		t.Fatalf("report %+v", r)
	}
	if len(r.Recent) != 3 || r.Recent[0].Detail != "5" || r.Recent[2].Detail != "3" {
		t.Fatalf("recent %+v", r.Recent)
	}
	if r.Recent[0].Message == "" {
		t.Fatal("message not filled")
	}
	if got := q.Report("other"); got.Total != 0 || len(got.Recent) != 0 {
		t.Fatalf("other %+v", got)
	}
	if ex := Excerpt([]byte(strings.Repeat("水", 100))); len(ex) > ExcerptBytes || !strings.HasPrefix(ex, "水") {
		t.Fatalf("excerpt %q", ex)
	}
}

func newService(t *testing.T, clock citybrain.Clock) (*Service, *MemRepository) {
	repo := NewMemRepository()
	return NewService(repo, mustProfiles(t), NewCredentialCache(), NewStatusTracker(), clock), repo
}

func TestServiceLifecycle(t *testing.T) {
	clock := &citybrain.FixedClock{T: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)}
	s, repo := newService(t, clock)
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{Role: citybrain.RoleOperator})

	if _, err := s.CreateFacility(ctx, Facility{ID: "bridge-1", Kind: "bridge", Name: "解放桥", Area: "g1"}); err != nil {
		t.Fatal(err)
	}
	d, secret, err := s.Create(ctx, Input{ID: "tilt-1", Profile: "structure_tilt", Area: "g1", Facility: "bridge-1", Lon: 117.2, Lat: 39.1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "tilt-1" || secret == "" {
		t.Fatalf("created %+v %q", d, secret)
	}
	if p, r := s.Credentials().Verify("tilt-1", []byte(secret)); r != AuthOK || p != "structure_tilt" {
		t.Fatalf("verify %q %q", p, r)
	}
	errCases := []struct {
		name string
		in   Input
		code string
	}{
		{"duplicate", Input{ID: "tilt-1", Profile: "structure_tilt"}, citybrain.ECONFLICT},
		{"no profile", Input{ID: "x1"}, citybrain.EINVALID},
		{"unknown profile", Input{ID: "x1", Profile: "teleporter"}, citybrain.EINVALID},
		{"bad id", Input{ID: "a/b", Profile: "noise"}, citybrain.EINVALID},
		{"unknown facility", Input{ID: "x1", Profile: "noise", Facility: "nope"}, citybrain.EINVALID},
		{"bad lat", Input{ID: "x1", Profile: "noise", Lat: 91}, citybrain.EINVALID},
		{"long name", Input{ID: "x1", Profile: "noise", Name: strings.Repeat("路", 101)}, citybrain.EINVALID},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := s.Create(ctx, c.in); citybrain.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
		})
	}
	// 100 runes of Chinese is fine although it is 300 bytes.
	if _, _, err := s.Create(ctx, Input{ID: "x1", Profile: "noise", Name: strings.Repeat("路", 100), Area: "g2"}); err != nil {
		t.Fatal(err)
	}
	citizen := citybrain.WithActor(context.Background(), &citybrain.Actor{Role: citybrain.RoleCitizen})
	if _, _, err := s.Create(citizen, Input{ID: "x2", Profile: "noise"}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("citizen create: %v", err)
	}
	if _, _, err := s.List(citizen, Filter{}); citybrain.ErrorCode(err) != citybrain.EFORBIDDEN {
		t.Fatalf("citizen list: %v", err)
	}

	newSecret, err := s.Rotate(ctx, "tilt-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, r := s.Credentials().Verify("tilt-1", []byte(secret)); r != AuthBadSecret {
		t.Fatalf("old secret still works: %q", r)
	}
	if _, r := s.Credentials().Verify("tilt-1", []byte(newSecret)); r != AuthOK {
		t.Fatalf("new secret refused: %q", r)
	}
	if _, err := s.SetDisabled(ctx, "tilt-1", true); err != nil {
		t.Fatal(err)
	}
	if _, r := s.Credentials().Verify("tilt-1", []byte(newSecret)); r != AuthDisabled {
		t.Fatalf("disabled device authenticates: %q", r)
	}
	name := "桥梁倾角1"
	d, err = s.Update(ctx, "tilt-1", Patch{Name: &name})
	if err != nil || d.Name != name || !d.Disabled {
		t.Fatalf("update %+v %v", d, err)
	}

	page, next, err := s.List(ctx, Filter{Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != "tilt-1" || next != "tilt-1" {
		t.Fatalf("page1 %+v %q %v", page, next, err)
	}
	page, next, err = s.List(ctx, Filter{Limit: 1, After: next})
	if err != nil || len(page) != 1 || page[0].ID != "x1" {
		t.Fatalf("page2 %+v %q %v", page, next, err)
	}
	page, _, _ = s.List(ctx, Filter{Area: "g1"})
	if len(page) != 1 {
		t.Fatalf("area filter %+v", page)
	}
	page, _, _ = s.List(ctx, Filter{Status: StateDisabled})
	if len(page) != 1 || page[0].ID != "tilt-1" {
		t.Fatalf("status filter %+v", page)
	}
	if _, _, err := s.List(ctx, Filter{Status: "sleepy"}); citybrain.ErrorCode(err) != citybrain.EINVALID {
		t.Fatalf("bad status filter: %v", err)
	}

	// A fresh service loading the same repository knows the credentials.
	s2 := NewService(repo, mustProfiles(t), NewCredentialCache(), NewStatusTracker(), clock)
	if err := s2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, r := s2.Credentials().Verify("tilt-1", []byte(newSecret)); r != AuthDisabled {
		t.Fatalf("reloaded: %q", r)
	}

	if err := s.Delete(ctx, "tilt-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "tilt-1"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.Delete(ctx, "tilt-1"); citybrain.ErrorCode(err) != citybrain.ENOTFOUND {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestComputeHealth(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	st := NewStatusTracker()
	devs := []Device{
		{ID: "a", Area: "g1", Profile: "noise"},
		{ID: "b", Area: "g1", Profile: "noise"},
		{ID: "c", Area: "g2", Profile: "smoke_detector"},
		{ID: "d", Area: "g2", Profile: "smoke_detector", Disabled: true},
	}
	st.Register("a", time.Minute, false)
	st.Register("b", time.Minute, false)
	st.Register("c", time.Hour, false)
	st.Connected("a", t0)
	st.Seen("a", t0.UnixMilli(), StatusValues{Battery: 10, Has: HasBattery})
	st.Seen("b", t0.Add(-time.Hour).UnixMilli(), StatusValues{})
	h := ComputeHealth(devs, st, t0.Add(30*time.Second))
	if h.Total.Registered != 3 || h.Total.Online != 1 || h.Total.Silent != 1 || h.Total.NeverSeen != 1 || h.Total.Disabled != 1 || h.Total.LowBattery != 1 {
		t.Fatalf("total %+v", h.Total)
	}
	if len(h.ByArea) != 2 || h.ByArea[0].Area != "g1" || h.ByArea[0].OnlineRate != 0.5 {
		t.Fatalf("by area %+v", h.ByArea)
	}
	if len(h.ByAreaProfile) != 2 || len(h.ByProfile) != 2 {
		t.Fatalf("by profile %+v %+v", h.ByProfile, h.ByAreaProfile)
	}
}

// TestDomainImports fails when this domain package imports an adapter technology.
func TestDomainImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p == "net/http" || p == "database/sql" || strings.HasPrefix(p, "github.com/nats-io/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Error("doc.go missing")
	}
}

func TestImportExportCSV(t *testing.T) {
	s, _ := newService(t, nil)
	ctx := context.Background()
	in := "id,name,profile,area,lon,lat,address,disabled\n" +
		"aq-1,东门微站,air_quality,g1,117.2,39.1,和平路1号,false\n" +
		"aq-2,,air_quality,g1,,,,\n" +
		"bad/id,,noise,g1,,,,\n" +
		"n-1,,teleporter,g1,,,,\n" +
		"n-2,,noise,g1,east,,,\n" +
		"\n" +
		"aq-1,,air_quality,g1,,,,\n" +
		"n-3,,noise,g2,,,,yes\n"
	secrets := map[string]string{}
	var last int
	res, err := ImportCSV(ctx, s, strings.NewReader(in), func(d Device, secret string) error { secrets[d.ID] = secret; return nil },
		func(done, total int) { last = done })
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 7 || res.Created != 3 || len(res.Errors) != 4 || last != 7 {
		t.Fatalf("result %+v last %d", res, last)
	}
	wantLines := []int{4, 5, 6, 8}
	for i, e := range res.Errors {
		if e.Line != wantLines[i] || e.Msg == "" {
			t.Fatalf("error %d: %+v", i, e)
		}
	}
	if res.Errors[3].Code != citybrain.ECONFLICT {
		t.Fatalf("duplicate row: %+v", res.Errors[3])
	}
	if _, r := s.Credentials().Verify("aq-1", []byte(secrets["aq-1"])); r != AuthOK {
		t.Fatalf("imported secret: %q", r)
	}
	if d, _ := s.Get(ctx, "n-3"); !d.Disabled {
		t.Fatal("disabled column ignored")
	}
	var out strings.Builder
	n, err := ExportCSV(ctx, s, &out)
	if err != nil || n != 3 || !strings.Contains(out.String(), "aq-1,东门微站,air_quality,g1,117.2,39.1,和平路1号,,,false") {
		t.Fatalf("export %d %v\n%s", n, err, out.String())
	}
	// GB18030 (Excel on Chinese Windows) is accepted too.
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String("id,name,profile\nsm-1,烟感一号,smoke_detector\n")
	res, err = ImportCSV(ctx, s, strings.NewReader(gb), nil, nil)
	if err != nil || res.Created != 1 {
		t.Fatalf("gb18030 %+v %v", res, err)
	}
	if d, _ := s.Get(ctx, "sm-1"); d.Name != "烟感一号" {
		t.Fatalf("gb18030 name %q", d.Name)
	}
	for _, bad := range []string{"", "name,profile\nx,noise\n", "id,colour\n", "id,profile\n\"x\n"} {
		if _, err := ImportCSV(ctx, s, strings.NewReader(bad), nil, nil); citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("bad file %q: %v", bad, err)
		}
	}
}

func TestCredentialReloadKeepsConcurrentChanges(t *testing.T) {
	c := NewCredentialCache()
	c.Put(CachedCredential{DeviceID: "old", Hash: HashSecret("a")})
	c.Put(CachedCredential{DeviceID: "gone", Hash: HashSecret("g")})
	since := c.Generation()
	// The snapshot is read now (it has old and gone); then, before Load, a device is created,
	// one is deleted and one rotated.
	snapshot := []CachedCredential{{DeviceID: "old", Hash: HashSecret("a")}, {DeviceID: "gone", Hash: HashSecret("g")}, {DeviceID: "other", Hash: HashSecret("o")}}
	c.Put(CachedCredential{DeviceID: "new", Hash: HashSecret("n")})
	c.Remove("gone")
	c.Put(CachedCredential{DeviceID: "old", Hash: HashSecret("rotated")})
	c.Load(snapshot, since)
	for id, secret := range map[string]string{"new": "n", "old": "rotated", "other": "o"} {
		if _, r := c.Verify(id, []byte(secret)); r != AuthOK {
			t.Errorf("%s: %q", id, r)
		}
	}
	if _, r := c.Verify("gone", []byte("g")); r != AuthUnknownDevice {
		t.Errorf("deleted device came back: %q", r)
	}
	// A later load with nothing changed in between takes the snapshot as it is.
	c.Load([]CachedCredential{{DeviceID: "new", Hash: HashSecret("n")}}, c.Generation())
	if c.Len() != 1 {
		t.Fatalf("len %d", c.Len())
	}
}
