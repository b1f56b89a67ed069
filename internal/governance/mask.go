package governance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// MaskMethod says how a MASKED value is rendered.
type MaskMethod string

// The masking methods.
const (
	MaskAuto      MaskMethod = ""          // by the column's PIKind and the grade's profile
	MaskPartial   MaskMethod = "partial"   // keep a window of the value (138****5678)
	MaskPseudonym MaskMethod = "pseudonym" // keyed HMAC-SHA256 pseudonym, stable per deployment, for joins
	MaskRedact    MaskMethod = "redact"    // replace the whole value
	MaskText      MaskMethod = "text"      // free text: find PI inside and mask it in place
)

// ParseMaskMethod accepts the method names; "" and "auto" mean MaskAuto.
func ParseMaskMethod(s string) (MaskMethod, error) {
	switch MaskMethod(s) {
	case MaskAuto, MaskPartial, MaskPseudonym, MaskRedact, MaskText:
		return MaskMethod(s), nil
	case "auto":
		return MaskAuto, nil
	}
	return "", citybrain.FieldError("mask", "未知的脱敏方式 unknown masking method %q", s)
}

// MaskProfile holds the windows kept visible for one grade. The defaults follow
// common Chinese government practice; wider windows leak quasi-identifiers (6 leading
// ID digits give the region, 14 the birth date), so the default ID window is 1+1.
type MaskProfile struct {
	IDPrefix, IDSuffix         int // 身份证号: default 1 and 1 → 1****************X
	MobilePrefix, MobileSuffix int // 手机号: 3 and 4 → 138****5678
	CardPrefix, CardSuffix     int // 银行卡: 4 and 4
	LandlineSuffix             int // 固话: area code kept, last 4 digits kept
	EmailPrefix                int // 邮箱: first character of the local part
	// PseudonymizeKeys replaces ID, mobile, card and e-mail values by keyed
	// pseudonyms instead of partial masks, for receivers that must join records.
	PseudonymizeKeys bool
}

// DefaultMaskProfile returns the profile used for a grade unless configured: partial
// masks up to 一般4, pseudonyms for 重要 and 核心 so nothing of the value shows.
func DefaultMaskProfile(g Grade) MaskProfile {
	p := MaskProfile{IDPrefix: 1, IDSuffix: 1, MobilePrefix: 3, MobileSuffix: 4, CardPrefix: 4, CardSuffix: 4, LandlineSuffix: 4, EmailPrefix: 1}
	if g.Effective() >= GradeImportant {
		p.PseudonymizeKeys = true
	}
	return p
}

// Masker renders masked values and pseudonyms. It is immutable after NewMasker and
// safe for concurrent use.
type Masker struct {
	key      []byte
	profiles [GradeCore + 1]MaskProfile
	det      *Detector
	macs     sync.Pool
}

// MaskerOption configures a Masker.
type MaskerOption func(*Masker)

// WithProfile sets the masking profile of one grade.
func WithProfile(g Grade, p MaskProfile) MaskerOption {
	return func(m *Masker) {
		if int(g) < len(m.profiles) {
			m.profiles[g] = p
		}
	}
}

// WithDetector shares a detector (for free-text masking) instead of building one.
func WithDetector(d *Detector) MaskerOption { return func(m *Masker) { m.det = d } }

// NewMasker builds a masker with the deployment's pseudonym key (at least 16 bytes;
// keep it secret and stable, or pseudonyms stop joining).
func NewMasker(key []byte, opts ...MaskerOption) (*Masker, error) {
	if len(key) < 16 {
		return nil, citybrain.Errorf(citybrain.EINVALID, "假名化密钥至少16字节 pseudonym key must be at least 16 bytes")
	}
	m := &Masker{key: append([]byte(nil), key...)}
	for g := range m.profiles {
		m.profiles[g] = DefaultMaskProfile(Grade(g))
	}
	for _, o := range opts {
		o(m)
	}
	if m.det == nil {
		m.det = NewDetector()
	}
	m.macs.New = func() any { return hmac.New(sha256.New, m.key) }
	return m, nil
}

// Detector returns the detector the masker uses for free text.
func (m *Masker) Detector() *Detector { return m.det }

// Profile returns the masking profile for a grade.
func (m *Masker) Profile(g Grade) MaskProfile { return m.profiles[g.Effective()] }

// Pseudonym returns the keyed pseudonym of a value of the kind: "p_" and 20 base32
// characters of HMAC-SHA256(key, kind ":" normalized value). Equal values (also when
// formatted differently, e.g. phone numbers with spaces) give equal pseudonyms.
func (m *Masker) Pseudonym(kind PIKind, v string) string {
	mac := m.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(kind))
	mac.Write([]byte{':'})
	mac.Write([]byte(normalizeForJoin(kind, v)))
	var sum [sha256.Size]byte
	out := mac.Sum(sum[:0])
	m.macs.Put(mac)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	return "p_" + strings.ToLower(enc.EncodeToString(out[:12]))[:20]
}

func normalizeForJoin(kind PIKind, v string) string {
	v = strings.TrimSpace(v)
	switch kind {
	case PIMobile:
		if n, ok := NormalizeMobile(v); ok {
			return n
		}
	case PIIDCard:
		return strings.ToUpper(v)
	case PIBankCard:
		if d, ok := digitsOnly(v); ok {
			return d
		}
	case PIEmail:
		return strings.ToLower(v)
	}
	return v
}

// Mask renders v masked for a column of the kind and grade with the method.
func (m *Masker) Mask(kind PIKind, method MaskMethod, g Grade, v string) string {
	if v == "" {
		return ""
	}
	p := &m.profiles[g.Effective()]
	switch method {
	case MaskPseudonym:
		return m.Pseudonym(kind, v)
	case MaskRedact:
		return "****"
	case MaskText:
		return m.MaskText(v, g)
	}
	if p.PseudonymizeKeys && method == MaskAuto {
		switch kind {
		case PIIDCard, PIMobile, PIBankCard, PIEmail:
			return m.Pseudonym(kind, v)
		}
	}
	switch kind {
	case PIIDCard:
		return keepWindow(strings.TrimSpace(v), p.IDPrefix, p.IDSuffix)
	case PIMobile:
		if n, ok := NormalizeMobile(v); ok {
			return keepWindow(n, p.MobilePrefix, p.MobileSuffix)
		}
		return keepWindow(v, p.MobilePrefix, p.MobileSuffix)
	case PIBankCard:
		if d, ok := digitsOnly(strings.TrimSpace(v)); ok {
			return keepWindow(d, p.CardPrefix, p.CardSuffix)
		}
		return keepWindow(v, p.CardPrefix, p.CardSuffix)
	case PILandline:
		return maskLandline(v, p.LandlineSuffix)
	case PIEmail:
		return maskEmail(v, p.EmailPrefix)
	case PIName:
		return m.MaskName(v)
	case PIAddress:
		return MaskAddress(v)
	case PIPlate:
		return keepWindow(v, 3, 1)
	case PIHealth:
		return "****"
	case PIFreeText:
		return m.MaskText(v, g)
	}
	return keepWindow(v, 1, 1)
}

// keepWindow keeps the first pre and last suf runes of v and stars the rest, one star
// per hidden rune. Values too short to hide anything become all stars.
func keepWindow(v string, pre, suf int) string {
	n := utf8.RuneCountInString(v)
	if pre < 0 {
		pre = 0
	}
	if suf < 0 {
		suf = 0
	}
	if pre+suf >= n {
		// too short for the window: keep at most the first rune so something is hidden
		pre, suf = 0, 0
		if n >= 3 {
			pre = 1
		}
	}
	if n == len(v) { // ASCII: one allocation
		b := []byte(v)
		for i := pre; i < n-suf; i++ {
			b[i] = '*'
		}
		return string(b)
	}
	var b strings.Builder
	b.Grow(len(v))
	i := 0
	for _, r := range v {
		if i < pre || i >= n-suf {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		i++
	}
	return b.String()
}

// MaskName keeps the surname and stars the given name: 张三丰 → 张**, 欧阳修 → 欧阳*,
// 买买提·艾力 → 买**·**. Values that do not start with a known surname keep their
// first character.
func (m *Masker) MaskName(v string) string {
	v = strings.TrimSpace(v)
	runes := []rune(v)
	if len(runes) == 0 {
		return ""
	}
	keep := m.det.surnames.surnameLen(runes)
	if keep == 0 {
		keep = 1
	}
	if keep >= len(runes) {
		keep = len(runes) - 1
		if keep == 0 {
			return "*"
		}
	}
	var b strings.Builder
	b.Grow(len(v))
	for i, r := range runes {
		switch {
		case i < keep, r == '·':
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

// MaskAddress keeps an address down to the street or community (街道, 路, 街, 巷,
// 社区, 小区, 村...) before the first house number and replaces the rest by "****".
func MaskAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	cut := 0
	var prev rune
	for i, r := range v {
		if r < utf8.RuneSelf && (r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			break // the first house number: nothing after it is kept
		}
		end := i + utf8.RuneLen(r)
		switch r {
		case '路', '街', '巷', '弄', '村', '镇', '乡', '区', '县':
			cut = end
		case '道':
			if prev == '街' || prev == '大' {
				cut = end
			}
		case '同':
			if prev == '胡' {
				cut = end
			}
		case '园':
			if prev == '花' || prev == '家' {
				cut = end
			}
		}
		prev = r
	}
	if cut == 0 {
		// nothing recognisable: keep the first two characters
		return keepWindow(v, 2, 0)
	}
	if cut >= len(v) {
		return v
	}
	return v[:cut] + "****"
}

func maskEmail(v string, pre int) string {
	v = strings.TrimSpace(v)
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return keepWindow(v, 1, 0)
	}
	local := v[:at]
	if pre >= utf8.RuneCountInString(local) {
		pre = 0
	}
	var b strings.Builder
	i := 0
	for _, r := range local {
		if i >= pre {
			break
		}
		b.WriteRune(r)
		i++
	}
	b.WriteString("***")
	b.WriteString(v[at:])
	return b.String()
}

func maskLandline(v string, suf int) string {
	v = strings.TrimSpace(v)
	d, ok := digitsOnly(strings.NewReplacer("(", "", ")", "", "（", "", "）", "").Replace(v))
	if !ok || len(d) < 10 {
		return keepWindow(v, 0, suf)
	}
	alen := 4
	if strings.HasPrefix(d, "010") || strings.HasPrefix(d, "02") {
		alen = 3
	}
	local := d[alen:]
	if suf >= len(local) {
		suf = 0
	}
	return d[:alen] + "-" + strings.Repeat("*", len(local)-suf) + local[len(local)-suf:]
}

// MaskText finds the personal information in free text and masks each piece in place
// with the grade's profile, leaving the rest of the text as it was. This is what goes
// to an external AI model.
func (m *Masker) MaskText(text string, g Grade) string {
	spans := m.det.Find(text)
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, s := range spans {
		b.WriteString(text[last:s.Start])
		b.WriteString(m.Mask(s.Kind, MaskAuto, g, s.Value))
		last = s.End
	}
	b.WriteString(text[last:])
	return b.String()
}
