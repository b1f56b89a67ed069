package triage

import (
	"context"
	"strings"
	"sync"
	"testing"
)

var (
	sharedOnce sync.Once
	shared     *Classifier
	sharedErr  error
)

// testClassifier trains the shipped classifier once for the package's tests.
func testClassifier(t testing.TB) *Classifier {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestTaxonomy(t *testing.T) {
	tax, err := DefaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ROAD", "STREETLIGHT", "WATER_SUPPLY", "DRAINAGE", "HEATING_GAS", "SANITATION", "GREENING",
		"STREET_ORDER", "NOISE", "POLLUTION", "TRAFFIC", "MARKET", "PROPERTY", "ELDERLY_CARE", "FIRE_SAFETY",
		"PUBLIC_SECURITY", "HEALTH", "EDUCATION", "LABOR", "OTHER"}
	if got := strings.Join(tax.Codes(), ","); got != strings.Join(want, ",") {
		t.Fatalf("codes changed: %s", got)
	}
	for _, c := range tax.Categories() {
		d, ok := tax.Department(c.Department)
		if !ok || d.NameZh == "" {
			t.Errorf("%s: department %s missing", c.Code, c.Department)
		}
	}
	if tax.LeadDepartment("DRAINAGE") != "WATER" || tax.LeadDepartment("NOPE") != "" {
		t.Error("LeadDepartment")
	}
	if _, err := ParseTaxonomy("code\tname_zh\tname_en\tdefault_department\nX\t某\tX\tNOPE\n", departmentsTSV); err == nil {
		t.Error("unknown department accepted")
	}
}

func TestDataset(t *testing.T) {
	tax, err := DefaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	all, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	perCat := map[string]int{}
	texts := map[string]string{}
	phrasing := map[string]string{} // template → split
	nTest := 0
	for i, e := range all {
		if _, ok := tax.Category(e.Category); !ok {
			t.Fatalf("line %d: unknown category %s", i+1, e.Category)
		}
		switch e.Urgency {
		case UrgencyEmergency, UrgencyUrgent, UrgencyNormal:
		default:
			t.Fatalf("line %d: urgency %q", i+1, e.Urgency)
		}
		if e.Split != SplitTrain && e.Split != SplitTest {
			t.Fatalf("line %d: split %q", i+1, e.Split)
		}
		if e.Split == SplitTest {
			nTest++
		}
		perCat[e.Category]++
		if prev, dup := texts[e.Text]; dup {
			t.Fatalf("line %d: duplicate text (also in %s): %s", i+1, prev, e.Text)
		}
		texts[e.Text] = e.Split
		if s, ok := phrasing[e.Template]; ok && s != e.Split {
			t.Fatalf("template %s is in both splits", e.Template)
		}
		phrasing[e.Template] = e.Split
	}
	for _, code := range tax.Codes() {
		if perCat[code] < 110 {
			t.Errorf("%s: %d examples, want >= 110", code, perCat[code])
		}
	}
	share := float64(nTest) / float64(len(all))
	if share < 0.08 || share > 0.25 {
		t.Errorf("held-out share %.2f", share)
	}
	t.Logf("%d examples, %d held out (%.1f%%), %d phrasings", len(all), nTest, 100*share, len(phrasing))
}

func TestClassify(t *testing.T) {
	c := testClassifier(t)
	cases := []struct {
		text, category, urgency string
	}{
		{"江东中路上有个井盖不见了，晚上很危险", "ROAD", UrgencyEmergency},
		{"小区门口的路灯坏了一个星期了", "STREETLIGHT", ""},
		{"家里停水了也没有通知", "WATER_SUPPLY", ""},
		{"下雨以后路口积水很深，下水道堵了", "DRAINAGE", ""},
		{"楼道里有很浓的燃气味", "HEATING_GAS", UrgencyEmergency},
		{"垃圾桶满了好几天没人清运", "SANITATION", ""},
		{"大风把路边的树刮倒了", "GREENING", ""},
		{"有人在人行道上摆摊占道经营", "STREET_ORDER", ""},
		{"工地半夜还在打桩，吵得睡不着", "NOISE", ""},
		{"楼下饭店油烟直排，熏得不敢开窗", "POLLUTION", ""},
		{"有辆车违停把消防车道堵了", "TRAFFIC", ""},
		{"超市卖过期牛奶", "MARKET", ""},
		{"电梯坏了，我妈被困在里面", "PROPERTY", UrgencyEmergency},
		{"隔壁独居老人好几天没出门了", "ELDERLY_CARE", ""},
		{"有人在楼道里给电动车充电", "FIRE_SAFETY", ""},
		{"接到冒充公检法的诈骗电话", "PUBLIC_SECURITY", ""},
		{"这家诊所没有行医资格还在给人输液", "HEALTH", ""},
		{"孩子明年上小学，学区怎么划分", "EDUCATION", ""},
		{"老板拖欠我们三个月工资", "LABOR", ""},
		{"请问居住证怎么办理", "OTHER", ""},
		{"楼下ＫＴＶ音乐太吵，一直闹到凌晨两点", "NOISE", ""},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			r := c.Classify(tc.text)
			if r.Category != tc.category {
				t.Errorf("category %s (%.2f, reasons %v), want %s", r.Category, r.Confidence, r.Reasons, tc.category)
			}
			if tc.urgency != "" && r.Urgency != tc.urgency {
				t.Errorf("urgency %s, want %s", r.Urgency, tc.urgency)
			}
			cat, _ := c.Taxonomy().Category(r.Category)
			if r.Department != cat.Department || r.DepartmentZh == "" || r.CategoryNameZh != cat.NameZh {
				t.Errorf("department %s/%s for %s", r.Department, r.DepartmentZh, r.Category)
			}
			if r.Confidence <= 0 || r.Confidence > 1 || len(r.Reasons) == 0 || len(r.Alternatives) != 3 || r.Source != "offline" {
				t.Errorf("result %+v", r)
			}
			for _, a := range r.Alternatives {
				if a.Confidence > r.Confidence {
					t.Errorf("alternative %s more likely than the answer", a.Category)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"ＫＴＶ": "ktv", "LED屏": "led屏", "１２３４５": "12345", "a\u3000b": "a b", "井盖": "井盖"} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
	a := extract(normalize("ＫＴＶ太吵"), nil)
	b := extract(normalize("ktv太吵"), nil)
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("features differ: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].h != b[i].h {
			t.Fatal("full-width and half-width give different features")
		}
	}
}

func TestClassifyUnusable(t *testing.T) {
	c := testClassifier(t)
	for _, s := range []string{"", "   ", "！！！？？", "\x00\xff"} {
		r := c.Classify(s)
		if r.Category != "OTHER" || r.Confidence != 0 || r.Department != "STREET_OFFICE" {
			t.Errorf("Classify(%q) = %+v", s, r)
		}
	}
}

func TestReasonsComeFromText(t *testing.T) {
	c := testClassifier(t)
	text := "小区门口下水道堵了，污水冒出来"
	r := c.Classify(text)
	for _, s := range r.Reasons {
		if !strings.Contains(text, s) {
			t.Errorf("reason %q not in text", s)
		}
	}
}

func TestEmergencyRules(t *testing.T) {
	c := testClassifier(t)
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"厨房有煤气味", true},
		{"燃气管道被挖破了，正往外漏", true},
		{"路上自来水管爆了，水往外涌", true},
		{"对面楼着火了", true},
		{"电梯卡在半空，里面有人出不来", true},
		{"有人打架，有人受伤", true},
		{"路面塌陷，有个大坑两米深", true},
		{"井盖被人偷走了", true},
		{"smell gas in the kitchen", true},
		{"路灯不亮", false},
		{"暖气不热", false},
		{"燃气费太贵了想咨询", false},
	} {
		if got := c.matchEmergency(normalize(tc.text)) != ""; got != tc.want {
			t.Errorf("%s: emergency %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestConcurrentClassify(t *testing.T) {
	c := testClassifier(t)
	texts := []string{"井盖丢了", "路灯不亮", "垃圾没人收", "拖欠工资", "油烟扰民"}
	want := make([]Result, len(texts))
	for i, s := range texts {
		want[i] = c.Classify(s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				k := (g + i) % len(texts)
				if r := c.Classify(texts[k]); r.Category != want[k].Category || r.Confidence != want[k].Confidence {
					t.Errorf("concurrent result differs for %s", texts[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTrainIsDeterministic(t *testing.T) {
	tax, _ := DefaultTaxonomy()
	ex := []Example{
		{Text: "路灯不亮", Category: "STREETLIGHT"}, {Text: "井盖丢了", Category: "ROAD", Urgency: UrgencyEmergency},
		{Text: "路灯坏了", Category: "STREETLIGHT"}, {Text: "路面有坑", Category: "ROAD"},
	}
	a, err := Train(tax, ex)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Train(tax, ex)
	if ra, rb := a.Classify("路灯"), b.Classify("路灯"); ra.Confidence != rb.Confidence || ra.Category != "STREETLIGHT" {
		t.Errorf("%+v vs %+v", ra, rb)
	}
	if _, err := Train(tax, []Example{{Text: "x", Category: "NOPE"}}); err == nil {
		t.Error("unknown category accepted")
	}
	if _, err := Train(tax, nil); err == nil {
		t.Error("empty training set accepted")
	}
}

func TestOfflineTriager(t *testing.T) {
	var tr Triager = testClassifier(t)
	r, err := tr.Triage(context.Background(), "暖气不热，屋里才十二度")
	if err != nil || r.Category != "HEATING_GAS" || r.Department != "HEAT_GAS" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestLazy(t *testing.T) {
	l := NewLazy(nil, ModelOptions{})
	r, err := l.Triage(context.Background(), "路灯不亮")
	if err != nil || r.Category != "STREETLIGHT" {
		t.Fatalf("%+v %v", r, err)
	}
	if c, err := l.Classifier(); err != nil || c == nil {
		t.Fatal(err)
	}
}

func TestNewWithHumanChoices(t *testing.T) {
	// A local kind of report the shipped data does not know, taught by triage decisions.
	text := "共享充电宝押金退不了"
	var extra []Example
	for i := 0; i < 30; i++ {
		extra = append(extra, Example{Text: text, Category: "MARKET"})
	}
	c, err := NewWith(extra)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Classify(text); r.Category != "MARKET" {
		t.Errorf("after training on decisions: %s", r.Category)
	}
}
