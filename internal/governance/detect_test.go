package governance

import (
	"strings"
	"testing"
)

func TestValidResidentID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"34052419800101001X", true},
		{"51343620000320711X", true},
		{"11010519491231002X", true},
		{"11010519491231002x", true},
		{"110105194912310021", false}, // wrong check character
		{"11010519491331002X", false}, // month 13
		{"110105190002290020", false}, // 1900 is not a leap year (and check)
		{"99010519491231002X", false}, // no province 99
		{"1101051949123100", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := ValidResidentID(tt.id); got != tt.want {
				t.Errorf("ValidResidentID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
	// every correctly computed check character validates
	base := "44030619900307123"
	id := base + string(ResidentIDCheck(base))
	if !ValidResidentID(id) {
		t.Errorf("computed ID %s does not validate", id)
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"luhn-visa", ValidBankCard, "4111111111111111", true},
		{"luhn-unionpay", ValidBankCard, "6222021234567890128", true},
		{"unionpay-bad", ValidBankCard, "6222021234567890127", false},
		{"card-spaces", ValidBankCard, "4111 1111 1111 1111", true},
		{"card-bad-luhn", ValidBankCard, "4111111111111112", false},
		{"card-order-no", ValidBankCard, "2026112800012345", false},
		{"landline-bj", ValidLandline, "010-62345678", true},
		{"landline-paren", ValidLandline, "(0755)2345678", true},
		{"landline-short", ValidLandline, "010-6234567", false},
		{"landline-400", ValidLandline, "400-820-8820", false},
		{"email", ValidEmail, "zhang.san@example.com", true},
		{"email-no-tld", ValidEmail, "zhang@localhost", false},
		{"plate", ValidPlate, "京A12345", true},
		{"plate-dot", ValidPlate, "粤B·D12345", true},
		{"plate-nev-large", ValidPlate, "沪A12345F", true},
		{"plate-letters", ValidPlate, "京ABCDEF", false},
		{"plate-io", ValidPlate, "京O12345", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeMobile(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"13812345678", "13812345678", true},
		{"+86 138 1234 5678", "13812345678", true},
		{"+86-138-1234-5678", "13812345678", true},
		{"0086 13812345678", "13812345678", true},
		{"138-1234-5678", "13812345678", true},
		{"12812345678", "", false},
		{"1381234567", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeMobile(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFindInText(t *testing.T) {
	d := NewDetector()
	tests := []struct {
		text string
		want []string // kind:value
	}{
		{"联系人张三，电话13812345678，住河西区滨江路123号。", []string{"name:张三", "mobile:13812345678", "address:河西区滨江路123号"}},
		{"户主欧阳娜娜身份证34052419800101001X", []string{"name:欧阳娜娜", "id_card:34052419800101001X"}},
		{"订单号202611280001234567已支付13812345678.00元", nil},
		{"老人患有高血压和糖尿病，车牌京A12345", []string{"health:高血压", "health:糖尿病", "plate:京A12345"}},
		{"树木病虫害严重", nil},
		{"张伟说路灯坏了", []string{"name:张伟"}},
		{"居民反映路灯坏了，有人举报，他们说明天修", nil},
		{"楼下的李大妈反映漏水", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var got []string
			for _, s := range d.Find(tt.text) {
				got = append(got, string(s.Kind)+":"+s.Value)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Find = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSuggestColumn(t *testing.T) {
	d := NewDetector()
	tests := []struct {
		header string
		values []string
		kind   PIKind
		grade  Grade
	}{
		{"姓名", []string{"张三", "李四", "欧阳修", "王小明"}, PIName, GradeGeneral3},
		{"名称", []string{"张三", "李四"}, PINone, GradeGeneral2},
		{"联系电话", []string{"13812345678", "139 0000 1111", "", "010-62345678"}, PIMobile, GradeGeneral4},
		{"身份证号", []string{"34052419800101001X", "11010519491231002X"}, PIIDCard, GradeGeneral4},
		{"备注", []string{"无", "无", "已联系"}, PINone, GradeGeneral2},
		{"PM2.5", []string{"35", "42", "18"}, PINone, GradeGeneral2},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			s := d.SuggestColumn(tt.header, tt.values)
			if s.PIKind != tt.kind || s.Grade != tt.grade {
				t.Errorf("SuggestColumn(%q) = %s %s, want %s %s (%s)", tt.header, s.PIKind, s.Grade, tt.kind, tt.grade, s.Reason)
			}
		})
	}
}
