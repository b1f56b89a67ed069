package triage

import "testing"

func TestDefaultMasker(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"我的电话13812345678，请回电", "我的电话[手机号]，请回电"},
		{"身份证号11010119900307123X", "身份证号[身份证号]"},
		{"身份证110101199003071234。", "身份证[身份证号]。"},
		{"老身份证110101900307123", "老身份证[身份证号]"},
		{"联系邮箱 zhang.san@example.com 谢谢", "联系邮箱 [邮箱] 谢谢"},
		{"+86 15912345678", "+86 [手机号]"},
		{"河西大街188号3栋1201室，2026年11月28日", "河西大街188号3栋1201室，2026年11月28日"},
		{"座机02584561234", "座机02584561234"},             // 11 digits, not a mobile
		{"订单号138123456789", "订单号138123456789"},         // 12 digits
		{"user@localhost 不是邮箱", "user@localhost 不是邮箱"}, // no dot in the domain
		{"", ""},
	} {
		if got := DefaultMasker(tc.in); got != tc.want {
			t.Errorf("DefaultMasker(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzDefaultMasker(f *testing.F) {
	for _, s := range []string{"13812345678", "a@b.cn", "11010119900307123X", "路灯\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := DefaultMasker(s)
		if DefaultMasker(out) != out {
			t.Fatalf("not idempotent: %q -> %q", s, out)
		}
	})
}
