package governance

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func testMasker(t testing.TB, opts ...MaskerOption) *Masker {
	t.Helper()
	m, err := NewMasker([]byte("test-deployment-key-0123456789"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMask(t *testing.T) {
	m := testMasker(t)
	tests := []struct {
		kind PIKind
		in   string
		want string
	}{
		{PIIDCard, "11010519491231002X", "1****************X"},
		{PIMobile, "13812345678", "138****5678"},
		{PIMobile, "+86 138 1234 5678", "138****5678"},
		{PIName, "张三丰", "张**"},
		{PIName, "张三", "张*"},
		{PIName, "欧阳修", "欧阳*"},
		{PIName, "欧阳娜娜", "欧阳**"},
		{PIName, "买买提·艾力", "买**·**"},
		{PIAddress, "河西区滨江路123号幸福小区3栋2单元501室", "河西区滨江路****"},
		{PIAddress, "河西区东湖街道幸福小区3栋2单元501室", "河西区东湖街道幸福小区****"},
		{PIAddress, "滨江路", "滨江路"},
		{PIBankCard, "6222021234567890128", "6222***********0128"},
		{PIBankCard, "4111 1111 1111 1111", "4111********1111"},
		{PIEmail, "zhangsan@example.com", "z***@example.com"},
		{PILandline, "010-62345678", "010-****5678"},
		{PILandline, "(0755)2345678", "0755-***5678"},
		{PIPlate, "京A12345", "京A1***5"},
		{PIHealth, "高血压", "****"},
		{PINone, "abc", "a*c"},
		{PINone, "ab", "**"},
		{PINone, "中文内容", "中**容"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.in, func(t *testing.T) {
			got := m.Mask(tt.kind, MaskAuto, GradeGeneral4, tt.in)
			if got != tt.want {
				t.Errorf("Mask(%s, %q) = %q, want %q", tt.kind, tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Mask(%s, %q) = %q is not valid UTF-8", tt.kind, tt.in, got)
			}
		})
	}
}

func TestMaskProfilePerGrade(t *testing.T) {
	wide := DefaultMaskProfile(GradeGeneral3)
	wide.IDPrefix, wide.IDSuffix = 6, 4
	m := testMasker(t, WithProfile(GradeGeneral3, wide))
	if got, want := m.Mask(PIIDCard, MaskAuto, GradeGeneral3, "11010519491231002X"), "110105********002X"; got != want {
		t.Errorf("general3 wide window: got %q, want %q", got, want)
	}
	if got, want := m.Mask(PIIDCard, MaskAuto, GradeGeneral4, "11010519491231002X"), "1****************X"; got != want {
		t.Errorf("general4 default window: got %q, want %q", got, want)
	}
	// important data: pseudonyms by default, nothing of the value shows
	got := m.Mask(PIMobile, MaskAuto, GradeImportant, "13812345678")
	if !strings.HasPrefix(got, "p_") || strings.Contains(got, "5678") {
		t.Errorf("important mobile = %q, want a pseudonym", got)
	}
}

func TestPseudonym(t *testing.T) {
	m := testMasker(t)
	other, err := NewMasker([]byte("another-deployment-key-987654"))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Pseudonym(PIMobile, "13812345678")
	if b := m.Pseudonym(PIMobile, "+86 138-1234-5678"); a != b {
		t.Errorf("same number, different format: %q != %q", a, b)
	}
	if b := m.Pseudonym(PIMobile, "13812345679"); a == b {
		t.Errorf("different numbers share pseudonym %q", a)
	}
	if b := other.Pseudonym(PIMobile, "13812345678"); a == b {
		t.Errorf("different keys give the same pseudonym %q", a)
	}
	if b := m.Pseudonym(PIIDCard, "13812345678"); a == b {
		t.Errorf("kind is not part of the pseudonym")
	}
	if len(a) != 22 {
		t.Errorf("pseudonym %q has length %d, want 22", a, len(a))
	}
	if _, err := NewMasker([]byte("short")); err == nil {
		t.Error("NewMasker accepted a 5-byte key")
	}
}

func TestMaskText(t *testing.T) {
	m := testMasker(t)
	in := "户主欧阳娜娜，身份证34052419800101001X，手机+86 138 1234 5678，住河西区滨江路88号幸福小区3栋2单元501室，患有糖尿病。"
	got := m.MaskText(in, GradeGeneral4)
	want := "户主欧阳**，身份证3****************X，手机138****5678，住河西区滨江路****，患有****。"
	if got != want {
		t.Errorf("MaskText =\n%s\nwant\n%s", got, want)
	}
	for _, leak := range []string{"娜娜", "0101", "1234 5678", "88号", "糖尿病"} {
		if strings.Contains(got, leak) {
			t.Errorf("masked text still contains %q", leak)
		}
	}
	clean := "路灯不亮三天了，请尽快维修"
	if got := m.MaskText(clean, GradeGeneral4); got != clean {
		t.Errorf("clean text changed: %q", got)
	}
}

// FuzzMaskText checks that masking outside text never panics, always returns valid
// UTF-8 for valid input, and never leaves a detected ID or mobile number in place.
func FuzzMaskText(f *testing.F) {
	for _, s := range []string{"", "联系人张三13812345678", "34052419800101001X", "欧阳", "·", "a@b.cn", "河西区滨江路1号", "京A12345挂", "\xff\xfe", "户主银行卡6222021234567890128"} {
		f.Add(s)
	}
	m := testMasker(f)
	f.Fuzz(func(t *testing.T, s string) {
		out := m.MaskText(s, GradeGeneral4)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("MaskText(%q) = %q: invalid UTF-8", s, out)
		}
		for _, sp := range m.Detector().Find(out) {
			if sp.Kind == PIIDCard || sp.Kind == PIMobile || sp.Kind == PIBankCard {
				t.Fatalf("MaskText(%q) = %q still holds %s %q", s, out, sp.Kind, sp.Value)
			}
		}
		for _, k := range PIKinds() {
			_ = m.Mask(k, MaskAuto, GradeGeneral3, s)
		}
	})
}
