package triage

import "testing"

func TestTmp(t *testing.T) {
	c := testClassifier(t)
	for _, s := range []string{"小区门口下水道堵了，污水漫到路上", "楼道里有燃气味，我电话13812345678", "楼下KTV唱到凌晨三点，吵得睡不着", "半夜一群人在楼下喝酒喧哗", "小区里的电梯坏了三天了物业不管", "马路上的井盖响得厉害"} {
		r := c.Classify(s)
		t.Log(r.Category, r.Confidence, r.Urgency, r.Reasons, r.Alternatives[0])
	}
}
