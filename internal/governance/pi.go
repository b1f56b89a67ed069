package governance

import (
	"strings"
	"unicode/utf8"
)

// PIKind names a kind of personal information (个人信息类型).
type PIKind string

// The kinds the detector finds and the masker knows.
const (
	PINone     PIKind = ""
	PIIDCard   PIKind = "id_card"   // 居民身份证号码 (GB 11643)
	PIMobile   PIKind = "mobile"    // 手机号码
	PILandline PIKind = "landline"  // 固定电话
	PIBankCard PIKind = "bank_card" // 银行卡号
	PIEmail    PIKind = "email"     // 电子邮箱
	PIPlate    PIKind = "plate"     // 机动车号牌
	PIName     PIKind = "name"      // 姓名
	PIAddress  PIKind = "address"   // 详细住址
	PIHealth   PIKind = "health"    // 健康信息 (sensitive, PIPL art. 28)
	// PIFreeText marks a column of free text (complaints, notes) that may carry any of
	// the kinds above; masking it masks the PI found inside.
	PIFreeText PIKind = "free_text"
)

// PIKinds lists the detectable kinds.
func PIKinds() []PIKind {
	return []PIKind{PIIDCard, PIMobile, PILandline, PIBankCard, PIEmail, PIPlate, PIName, PIAddress, PIHealth}
}

// ZH returns the Chinese name of the kind.
func (k PIKind) ZH() string {
	switch k {
	case PIIDCard:
		return "身份证号"
	case PIMobile:
		return "手机号"
	case PILandline:
		return "固定电话"
	case PIBankCard:
		return "银行卡号"
	case PIEmail:
		return "电子邮箱"
	case PIPlate:
		return "车牌号"
	case PIName:
		return "姓名"
	case PIAddress:
		return "地址"
	case PIHealth:
		return "健康信息"
	case PIFreeText:
		return "自由文本"
	}
	return "无"
}

// Suggest returns the category and grade the platform suggests for a column holding
// this kind of information; a person confirms or changes it.
func (k PIKind) Suggest() (Category, Grade) {
	switch k {
	case PIIDCard, PIMobile, PIAddress:
		return CatPersonal, GradeGeneral4
	case PIBankCard, PIHealth:
		return CatSensitivePersonal, GradeGeneral4
	case PILandline, PIEmail, PIPlate, PIName, PIFreeText:
		return CatPersonal, GradeGeneral3
	}
	return CatOther, GradeGeneral2
}

// --- validators -----------------------------------------------------------------

// ValidResidentID reports whether s is a well-formed 18-character resident identity
// number (GB 11643-1999): a plausible region code (valid province, city part 01-70 or
// 90), a real birth date between 1900 and 2099, and the ISO 7064 MOD 11-2 check
// character ("X" upper or lower case).
func ValidResidentID(s string) bool {
	if len(s) == 20 || len(s) == 21 {
		s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	}
	if len(s) != 18 {
		return false
	}
	sum := 0
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * weights[i]
	}
	check := "10X98765432"[sum%11]
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if last != check {
		return false
	}
	if !validRegion(s[:6]) {
		return false
	}
	y := atoi(s[6:10])
	m := atoi(s[10:12])
	d := atoi(s[12:14])
	return validDate(y, m, d)
}

// ResidentIDCheck returns the check character for the first 17 digits of an ID.
func ResidentIDCheck(first17 string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17 && i < len(first17); i++ {
		sum += int(first17[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return d <= 29
	}
	return d <= days[m]
}

// validRegion checks the GB/T 2260 prefix: a province code in use and a city part
// that exists in the code scheme (01-70, or 90 for directly administered counties).
func validRegion(code string) bool {
	switch code[:2] {
	case "11", "12", "13", "14", "15",
		"21", "22", "23",
		"31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46",
		"50", "51", "52", "53", "54",
		"61", "62", "63", "64", "65",
		"71", "81", "82":
	default:
		return false
	}
	city := atoi(code[2:4])
	return (city >= 1 && city <= 70) || city == 90
}

// Luhn reports whether the digit string passes the Luhn (ISO/IEC 7812) check.
func Luhn(digits string) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ValidBankCard reports whether s (spaces and dashes allowed between digit groups) is a
// 13-19 digit card number with a common issuer prefix (UnionPay 62/60/9558/9559, Visa 4,
// Mastercard 51-55 and 2221-2720, Amex 34/37, JCB 35) that passes Luhn, and is not a
// valid resident ID.
func ValidBankCard(s string) bool {
	d, ok := digitsOnly(s)
	if !ok || len(d) < 13 || len(d) > 19 {
		return false
	}
	if len(d) == 18 && ValidResidentID(d) {
		return false
	}
	if !bankPrefix(d) {
		return false
	}
	return Luhn(d)
}

func bankPrefix(d string) bool {
	switch {
	case strings.HasPrefix(d, "62"), strings.HasPrefix(d, "60"):
		return len(d) >= 16
	case strings.HasPrefix(d, "9558"), strings.HasPrefix(d, "9559"):
		return len(d) >= 16
	case d[0] == '4':
		return len(d) == 13 || len(d) == 16 || len(d) == 19
	case d[0] == '5' && d[1] >= '1' && d[1] <= '5':
		return len(d) == 16
	case d[0] == '2':
		p := atoi(d[:4])
		return p >= 2221 && p <= 2720 && len(d) == 16
	case strings.HasPrefix(d, "34"), strings.HasPrefix(d, "37"):
		return len(d) == 15
	case strings.HasPrefix(d, "35"):
		return len(d) >= 16
	}
	return false
}

// digitsOnly strips single spaces and dashes between digits; ok is false if any other
// character occurs.
func digitsOnly(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-':
			if i == 0 || i == len(s)-1 {
				return "", false
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// NormalizeMobile returns the 11-digit mobile number in s (accepting +86/0086/86
// prefixes and spaces or dashes between groups) and whether s is one.
func NormalizeMobile(s string) (string, bool) {
	if len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && allDigits(s) {
		return s, true
	}
	s = strings.TrimSpace(s)
	for _, p := range []string{"+86", "0086", "(+86)", "（+86）"} {
		if strings.HasPrefix(s, p) {
			s = strings.TrimLeft(s[len(p):], " -")
			break
		}
	}
	d, ok := digitsOnly(s)
	if !ok {
		return "", false
	}
	if len(d) == 13 && strings.HasPrefix(d, "86") && !strings.HasPrefix(s, "86 ") && len(s) == 13 {
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' || d[1] < '3' || d[1] > '9' {
		return "", false
	}
	return d, true
}

// ValidLandline reports whether s is a mainland landline with area code: 010 or 02x
// followed by 8 digits, or a 4-digit 0xxx code followed by 7 or 8 digits; the area code
// may be in parentheses and separated by a dash or space; a local number starts 2-9.
func ValidLandline(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer("（", "(", "）", ")").Replace(s)
	area := ""
	rest := ""
	if strings.HasPrefix(s, "(") {
		i := strings.IndexByte(s, ')')
		if i < 0 {
			return false
		}
		area, rest = s[1:i], strings.TrimLeft(s[i+1:], " -")
	} else if i := strings.IndexAny(s, " -"); i > 0 {
		area, rest = s[:i], s[i+1:]
	} else {
		d, ok := digitsOnly(s)
		if !ok || len(d) < 10 || d[0] != '0' {
			return false
		}
		if strings.HasPrefix(d, "010") || strings.HasPrefix(d, "02") {
			area, rest = d[:3], d[3:]
		} else {
			area, rest = d[:4], d[4:]
		}
	}
	local, ok := digitsOnly(rest)
	if !ok || len(local) < 7 || len(local) > 8 || local[0] < '2' {
		return false
	}
	if _, ok := digitsOnly(area); !ok || len(area) < 3 || area[0] != '0' {
		return false
	}
	switch {
	case area == "010" || (len(area) == 3 && area[1] == '2'):
		return len(local) == 8
	case len(area) == 4 && area[1] >= '3' && area[1] <= '9':
		return true
	}
	return false
}

// ValidEmail reports whether s looks like an e-mail address (local@domain.tld).
func ValidEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 || at != strings.LastIndexByte(s, '@') || at > 64 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(isAlnum(c) || strings.IndexByte("._%+-", c) >= 0) {
			return false
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	if dot < 1 || len(domain)-dot-1 < 2 {
		return false
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !(isAlnum(c) || c == '.' || c == '-') {
			return false
		}
	}
	for i := dot + 1; i < len(domain); i++ {
		if !isLetter(domain[i]) {
			return false
		}
	}
	return !strings.Contains(domain, "..")
}

func isAlnum(c byte) bool  { return isLetter(c) || (c >= '0' && c <= '9') }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// ValidPlate reports whether s is a mainland motor-vehicle plate: a province
// abbreviation, an issuing-authority letter, then 5 characters (at least two digits, no
// I or O) or a 6-character new-energy number (D/F then 5, or 5 digits then D/F), an
// optional separator dot and an optional 挂/学/警 suffix.
func ValidPlate(s string) bool {
	s = strings.ToUpper(strings.TrimSpace(s))
	r, n := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(plateProvinces, r) {
		return false
	}
	s = s[n:]
	if len(s) < 1 || !plateLetter(s[0]) {
		return false
	}
	s = s[1:]
	for _, sep := range []string{"·", "•", " ", "-"} {
		s = strings.TrimPrefix(s, sep)
	}
	suffix := false
	for _, suf := range []string{"挂", "学", "警"} {
		if strings.HasSuffix(s, suf) {
			s = strings.TrimSuffix(s, suf)
			suffix = true
			break
		}
	}
	for i := 0; i < len(s); i++ {
		if !plateLetter(s[i]) && !(s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	switch {
	case suffix && len(s) == 4:
		return digits >= 2
	case len(s) == 5:
		return digits >= 2
	case len(s) == 6:
		if (s[0] == 'D' || s[0] == 'F') && allDigits(s[2:]) {
			return true
		}
		return allDigits(s[:5]) && (s[5] == 'D' || s[5] == 'F')
	}
	return false
}

func plateLetter(c byte) bool { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
