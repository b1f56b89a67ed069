package triage

import (
	"strings"
	"testing"
)

// heldOutThreshold is set just under the measured held-out accuracy (91.1% on the shipped
// data; 91.6–91.9% with other generator seeds; see docs/triage.md): the test fails when a
// change to the data, the features or training makes triage worse.
const heldOutThreshold = 0.90

// TestHeldOut trains on the training split (New) and reports accuracy, per-category
// precision and recall and the confusions on the held-out split. Run with -v to see the
// tables of docs/triage.md.
func TestHeldOut(t *testing.T) {
	c := testClassifier(t)
	all, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(c, SplitOf(all, SplitTest))
	t.Logf("\n%s", ev.Markdown(c.Taxonomy()))
	if ev.Accuracy < heldOutThreshold {
		t.Errorf("held-out accuracy %.3f < %.3f", ev.Accuracy, heldOutThreshold)
	}
	if ev.ECE > 0.10 {
		t.Errorf("calibration error %.3f > 0.10", ev.ECE)
	}
	if ev.EmergencyRecall < 0.70 {
		t.Errorf("emergency recall %.3f < 0.70", ev.EmergencyRecall)
	}
	for _, m := range ev.PerClass {
		if m.Recall < 0.70 {
			t.Errorf("%s recall %.2f < 0.70", m.Category, m.Recall)
		}
	}
}

// TestNovelSubtopics is the harder figure: every fifth subtopic is removed from training
// altogether (all its phrasings), and the model is evaluated on the held-out lines of
// those subtopics only, i.e. on kinds of problems it never saw, recognised from shared
// vocabulary alone.
func TestNovelSubtopics(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an extra model")
	}
	tax, err := DefaultTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	all, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	novel := func(e Example) bool {
		p := strings.Split(e.Template, "/")
		return len(p) == 3 && len(p[1]) == 2 && (p[1][1]-'0')%5 == 2
	}
	var train, test []Example
	for _, e := range all {
		switch {
		case e.Split == SplitTrain && !novel(e):
			train = append(train, e)
		case e.Split == SplitTest && novel(e):
			test = append(test, e)
		}
	}
	c, err := Train(tax, train)
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(c, test)
	t.Logf("novel subtopics: %d reports, top-1 accuracy %.1f%%, top-2 %.1f%%, macro F1 %.3f, ECE %.3f",
		ev.N, 100*ev.Accuracy, 100*ev.Top2Accuracy, ev.MacroF1, ev.ECE)
	if ev.Accuracy < 0.50 {
		t.Errorf("novel-subtopic accuracy %.3f < 0.50", ev.Accuracy)
	}
}

func TestEvaluateCounts(t *testing.T) {
	c := testClassifier(t)
	ex := []Example{
		{Text: "路灯不亮", Category: "STREETLIGHT", Urgency: UrgencyNormal},
		{Text: "井盖丢了，黑洞洞的", Category: "ROAD", Urgency: UrgencyEmergency},
		{Text: "路灯不亮", Category: "ROAD", Urgency: UrgencyNormal}, // deliberately wrong label
	}
	ev := Evaluate(c, ex)
	if ev.N != 3 || ev.Accuracy < 0.66 || ev.Accuracy > 0.67 {
		t.Fatalf("accuracy %.3f over %d", ev.Accuracy, ev.N)
	}
	var road ClassMetrics
	for _, m := range ev.PerClass {
		if m.Category == "ROAD" {
			road = m
		}
	}
	if road.Support != 2 || road.Correct != 1 || road.Recall != 0.5 || road.Precision != 1 {
		t.Errorf("ROAD metrics %+v", road)
	}
	if len(ev.Confusions) != 1 || ev.Confusions[0].True != "ROAD" || ev.Confusions[0].Predicted != "STREETLIGHT" {
		t.Errorf("confusions %+v", ev.Confusions)
	}
	if ev.EmergencyRecall != 1 {
		t.Errorf("emergency recall %.2f", ev.EmergencyRecall)
	}
	if md := ev.Markdown(c.Taxonomy()); !strings.Contains(md, "| ROAD | 道路桥梁设施 | 2 | 1.00 | 0.50 |") {
		t.Errorf("markdown:\n%s", md)
	}
}
