package governance

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is one piece of personal information found in a text: Text[Start:End] (byte
// offsets into the input) is of the given kind.
type Span struct {
	Kind  PIKind `json:"kind"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Value string `json:"value"`
}

// Detector finds personal information in single values and in free text. It is
// immutable after NewDetector and safe for concurrent use.
type Detector struct {
	surnames   surnameSet
	notName    map[string]bool
	idRe       *regexp.Regexp
	mobileRe   *regexp.Regexp
	landRe     *regexp.Regexp
	cardRe     *regexp.Regexp
	emailRe    *regexp.Regexp
	plateRe    *regexp.Regexp
	healthRe   *regexp.Regexp
	addrRe     *regexp.Regexp
	nameCueRe  *regexp.Regexp
	nameVerbRe *regexp.Regexp
	nameHints  []string
	addrHints  []string
	healthList []string
}

// healthTerms lists health and disability terms (sensitive PI, PIPL art. 28). Plain
// "病" alone is not a term: 病虫害 and 病害 are about trees and roads.
func healthTerms() []string {
	return strings.Fields(`糖尿病 高血压 高血脂 冠心病 心脏病 心肌梗死 心梗 脑梗 脑梗塞 脑卒中 中风 偏瘫
残疾 残疾人 残疾证 肢体残疾 视力残疾 听力残疾 智力残疾 精神残疾 病史 既往史 慢性病 慢病
精神病 精神分裂 抑郁症 焦虑症 阿尔茨海默 老年痴呆 认知障碍 帕金森 癫痫 哮喘 慢阻肺 肺结核 结核病
乙肝 丙肝 艾滋病 HIV阳性 梅毒 癌症 肺癌 胃癌 肝癌 乳腺癌 肿瘤 白血病 尿毒症 透析 化疗 失能 半失能
失智 卧床 怀孕 孕妇 孕期 流产 住院治疗 确诊 阳性病例 过敏史 服药 血糖 血压偏高 心律不齐
搭桥 心脏支架 手术 康复治疗 病危 病重 瘫痪`)
}

// NewDetector builds a detector.
func NewDetector() *Detector {
	terms := healthTerms()
	sort.Slice(terms, func(i, j int) bool { return len(terms[i]) > len(terms[j]) })
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = regexp.QuoteMeta(t)
	}
	d := &Detector{
		surnames: newSurnameSet(),
		idRe:     regexp.MustCompile(`[1-9][0-9]{5}[ \-]?[0-9]{8}[ \-]?[0-9]{3}[0-9Xx]`),
		mobileRe: regexp.MustCompile(`(?:(?:\+86|0086|\(\+86\)|（\+86）)[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]{4}){2}|1[3-9][0-9][ \-][0-9]{4}[ \-][0-9]{4}`),
		landRe:   regexp.MustCompile(`(?:\((?:010|02[0-9]|0[3-9][0-9]{2})\)|（(?:010|02[0-9]|0[3-9][0-9]{2})）|(?:010|02[0-9]|0[3-9][0-9]{2}))[ \-]?[2-9][0-9]{2,3}[ \-]?[0-9]{4}`),
		cardRe:   regexp.MustCompile(`[0-9]{4}(?:[ \-][0-9]{4}){2,3}(?:[ \-][0-9]{1,4})?|[0-9]{13,19}`),
		emailRe:  regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`),
		plateRe:  regexp.MustCompile(`[` + plateProvinces + `][A-HJ-NP-Za-hj-np-z][·• ]?(?:[A-HJ-NP-Za-hj-np-z0-9]{4}[挂学警]|[A-HJ-NP-Za-hj-np-z0-9]{5,6})`),
		healthRe: regexp.MustCompile(strings.Join(quoted, "|")),
		addrRe: regexp.MustCompile(`(?:[\p{Han}]{1,8}(?:省|自治区|市|区|县|镇|乡|街道))*` +
			`[\p{Han}0-9]{1,12}?(?:大道|大街|路|街|巷|弄|胡同|里|村|小区|社区|花园|家园|新村|公寓|大厦|苑)` +
			`(?:[0-9]+|[一二三四五六七八九十百]+)(?:号院|号楼|号|栋|幢|弄|组)` +
			`(?:[0-9A-Za-z]+(?:号楼|栋|幢|座))?(?:[0-9一二三四五六七八九十]+单元)?(?:[0-9]+(?:室|号|层|楼))?` +
			`|(?:[\p{Han}]{1,8}(?:省|自治区|市|区|县|镇|乡|街道))*[\p{Han}0-9]{1,12}?(?:小区|社区|花园|家园|新村|公寓|大厦|苑|村)` +
			`[0-9A-Za-z一二三四五六七八九十]+(?:号楼|栋|幢|座)(?:[0-9一二三四五六七八九十]+单元)?(?:[0-9]+(?:室|号))?`),
		nameCueRe:  regexp.MustCompile(`(?:姓名|联系人|户主|申请人|报告人|反映人|举报人|投诉人|当事人|患者|监护人|负责人|业主|租户|居民|老人|独居老人|家属|紧急联系人)[：:为是]?\s*`),
		nameVerbRe: regexp.MustCompile(`(\p{Han}{2,4}?)(?:说|反映|称|表示|投诉|举报|来电|报告)`),
		nameHints:  []string{"姓名", "名字", "联系人", "户主", "申请人", "报告人", "反映人", "投诉人", "负责人", "监护人", "业主", "居民", "name", "contact"},
		addrHints:  []string{"地址", "住址", "户籍", "居住地", "现住", "门牌", "address"},
	}
	d.healthList = terms
	d.notName = map[string]bool{}
	for _, w := range notNames() {
		d.notName[w] = true
	}
	return d
}

// Find returns every piece of personal information found in text, in order, without
// overlaps (the more specific kind wins: ID > bank card > mobile > landline > ...).
func (d *Detector) Find(text string) []Span {
	var spans []Span
	add := func(kind PIKind, s, e int) {
		spans = append(spans, Span{Kind: kind, Start: s, End: e, Value: text[s:e]})
	}
	for _, m := range d.idRe.FindAllStringIndex(text, -1) {
		if asciiBoundary(text, m[0], m[1]) && ValidResidentID(stripSeparators(text[m[0]:m[1]])) {
			add(PIIDCard, m[0], m[1])
		}
	}
	for _, m := range d.emailRe.FindAllStringIndex(text, -1) {
		if ValidEmail(text[m[0]:m[1]]) && (m[0] == 0 || !isEmailChar(text[m[0]-1])) {
			add(PIEmail, m[0], m[1])
		}
	}
	for _, m := range d.cardRe.FindAllStringIndex(text, -1) {
		if asciiBoundary(text, m[0], m[1]) && ValidBankCard(text[m[0]:m[1]]) {
			add(PIBankCard, m[0], m[1])
		}
	}
	for _, m := range d.mobileRe.FindAllStringIndex(text, -1) {
		if asciiBoundary(text, m[0], m[1]) && !decimalAfter(text, m[1]) && !amountContext(text, m[0], m[1]) {
			if _, ok := NormalizeMobile(text[m[0]:m[1]]); ok {
				add(PIMobile, m[0], m[1])
			}
		}
	}
	for _, m := range d.landRe.FindAllStringIndex(text, -1) {
		if asciiBoundary(text, m[0], m[1]) && !decimalAfter(text, m[1]) && ValidLandline(text[m[0]:m[1]]) {
			add(PILandline, m[0], m[1])
		}
	}
	for _, m := range d.plateRe.FindAllStringIndex(text, -1) {
		if (m[1] == len(text) || !isAlnum(text[m[1]])) && ValidPlate(text[m[0]:m[1]]) {
			add(PIPlate, m[0], m[1])
		}
	}
	for _, m := range d.addrRe.FindAllStringIndex(text, -1) {
		s := trimAddressLead(text, m[0], m[1])
		if m[1]-s >= 9 { // at least three runes
			add(PIAddress, s, m[1])
		}
	}
	var addr []Span
	for _, sp := range spans {
		if sp.Kind == PIAddress {
			if n := len(addr); n > 0 && addr[n-1].End == sp.Start {
				addr[n-1].End = sp.End
				addr[n-1].Value = text[addr[n-1].Start:sp.End]
				continue
			}
			addr = append(addr, sp)
		}
	}
	spans = append(spans[:len(spans)-countKind(spans, PIAddress)], addr...)
	for _, m := range d.nameCueRe.FindAllStringIndex(text, -1) {
		if n := d.nameAt(text[m[1]:]); n > 0 {
			add(PIName, m[1], m[1]+n)
		}
	}
	// a name right before a reporting verb: 张伟说, 李建国反映, 王芳称
	for _, m := range d.nameVerbRe.FindAllStringSubmatchIndex(text, -1) {
		if n := d.nameAt(text[m[2]:m[3]]); n == m[3]-m[2] && (m[2] == 0 || !startsWithHan(text[:m[2]])) {
			add(PIName, m[2], m[3])
		}
	}
	for _, m := range d.healthRe.FindAllStringIndex(text, -1) {
		add(PIHealth, m[0], m[1])
	}
	return resolveOverlaps(text, spans)
}

// FindValue returns the personal information in one column value, using the column
// header as context: a value under a 姓名 header that is a plausible name is a name,
// which Find alone would not claim without a cue word.
func (d *Detector) FindValue(header, value string) []Span {
	hint := d.HeaderHint(header)
	v := strings.TrimSpace(value)
	off := strings.Index(value, v)
	if v == "" {
		return nil
	}
	if hint == PIName {
		if n := d.nameAt(v); n == len(v) {
			return []Span{{Kind: PIName, Start: off, End: off + n, Value: v}}
		}
	}
	if k := d.ValueKind(v); k != PINone && k != PIName {
		return []Span{{Kind: k, Start: off, End: off + len(v), Value: v}}
	}
	spans := d.Find(value)
	if hint == PIAddress && len(spans) == 0 && d.looksLikeLooseAddress(v) {
		return []Span{{Kind: PIAddress, Start: off, End: off + len(v), Value: v}}
	}
	return spans
}

// ValueKind classifies a whole value: the kind it is entirely, or PINone. Names are
// never claimed without context (see FindValue).
func (d *Detector) ValueKind(v string) PIKind {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return PINone
	case ValidResidentID(v):
		return PIIDCard
	case ValidBankCard(v):
		return PIBankCard
	}
	if _, ok := NormalizeMobile(v); ok {
		return PIMobile
	}
	switch {
	case ValidLandline(v):
		return PILandline
	case ValidEmail(v):
		return PIEmail
	case ValidPlate(v):
		return PIPlate
	}
	if utf8.RuneCountInString(v) <= 40 && d.healthRe.MatchString(v) {
		return PIHealth
	}
	return PINone
}

// IsName reports whether v is a plausible Chinese personal name: a known surname
// (compound surnames included) followed by one or two Han characters, or a minority
// name written with a middle dot.
func (d *Detector) IsName(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && d.nameAt(v) == len(v)
}

// nameAt returns the byte length of a name at the start of s, or 0.
func (d *Detector) nameAt(s string) int {
	var runes []rune
	for i, r := range s {
		if i > 24 {
			break
		}
		runes = append(runes, r)
	}
	// minority names written with a middle dot: 买买提·艾力
	if i := strings.IndexRune(s, '·'); i > 0 && i <= 15 && allHan(s[:i]) {
		j := i + len("·")
		end, n := j, 0
		for k, r := range s[j:] {
			if !unicode.Is(unicode.Han, r) || n >= 6 || nameStop(r) {
				break
			}
			end = j + k + utf8.RuneLen(r)
			n++
		}
		if n >= 1 {
			return end
		}
	}
	sl := d.surnames.surnameLen(runes)
	if sl == 0 {
		return 0
	}
	given := 0
	for i := sl; i < len(runes) && given < 2; i++ {
		r := runes[i]
		if !unicode.Is(unicode.Han, r) || nameStop(r) {
			break
		}
		given++
	}
	if given == 0 {
		return 0
	}
	if d.notName[string(runes[:2])] {
		return 0
	}
	// a Han character right after the name means it was not a name (or a longer word)
	if next := sl + given; next < len(runes) && unicode.Is(unicode.Han, runes[next]) && !nameStop(runes[next]) && given == 2 {
		return 0
	}
	return len(string(runes[:sl+given]))
}

// nameStop lists characters that end a name in running text (verbs, particles, titles).
func nameStop(r rune) bool {
	return strings.ContainsRune("电话手机的在是住家说反映先生女士同志年岁男女联身地址等和与及称反对了们也都已于从向被把给让请号先老师傅师大爷阿姨奶爷某妈叔哥姐", r)
}

// HeaderHint maps a column header to the kind of PI it suggests, or PINone.
func (d *Detector) HeaderHint(header string) PIKind {
	h := strings.ToLower(strings.TrimSpace(header))
	if h == "" {
		return PINone
	}
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(h, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("身份证", "证件号", "公民身份", "id_card", "idcard", "id_no", "identity"):
		return PIIDCard
	case has("银行卡", "卡号", "账号", "bank", "card_no"):
		return PIBankCard
	case has("手机", "mobile", "cell"):
		return PIMobile
	case has("座机", "固话", "固定电话", "landline"):
		return PILandline
	case has("电话", "联系方式", "phone", "tel"):
		return PIMobile
	case has("邮箱", "email", "e-mail", "mail"):
		return PIEmail
	case has("车牌", "号牌", "plate"):
		return PIPlate
	case has(d.addrHints...):
		return PIAddress
	case has("病史", "疾病", "诊断", "健康", "残疾", "病情", "health", "diagnos", "disab"):
		return PIHealth
	case has(d.nameHints...):
		return PIName
	}
	return PINone
}

// looksLikeLooseAddress accepts addresses without a house number under an address
// header ("河西区滨江路", "幸福小区").
func (d *Detector) looksLikeLooseAddress(v string) bool {
	for _, w := range []string{"路", "街", "巷", "号", "小区", "社区", "村", "栋", "室", "区", "镇"} {
		if strings.Contains(v, w) {
			return true
		}
	}
	return false
}

// startsWithHan reports whether the text before a candidate ends in a Han character (the
// candidate is then inside a longer word, not a name standing alone).
func startsWithHan(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return unicode.Is(unicode.Han, r)
}

func countKind(spans []Span, k PIKind) int {
	n := 0
	for _, s := range spans {
		if s.Kind == k {
			n++
		}
	}
	return n
}

// notNames lists common words that start with a surname character; a "name" that
// begins with one of them is the word, not a person (户主银行卡 is not 户主 + 银行卡).
func notNames() []string {
	return strings.Fields(`银行 高压 高速 高温 明天 明年 平安 和平 安全 安装 文明 文化 国家 国庆 黄色 白色 方面 方便
马路 路口 路灯 路面 石头 金额 程序 时间 万元 钱款 车辆 车位 车库 于是 单元 房屋 房子 楼道 楼下 管理 管道
电梯 江边 周边 周末 常常 通知 信息 全部 全体 公司 公共 元旦 花园 林业 关于 家中 家里 家人 同意 申请 解决
应该 应急 向阳 水管 严重 雷雨 雷电 费用 时候 阳台 东西 南北 师傅 经过 由于 区域 区里 邻居 居民 居住 居委`)
}

func allHan(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return s != ""
}

func isEmailChar(c byte) bool { return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0 }

// asciiBoundary reports that text[s:e] is not glued to other digits or ASCII letters.
func asciiBoundary(text string, s, e int) bool {
	if s > 0 && isAlnum(text[s-1]) {
		return false
	}
	if e < len(text) && isAlnum(text[e]) {
		return false
	}
	return true
}

// amountContext reports a number that is money: followed by 元/万/块 or preceded by
// a currency sign or 金额.
func amountContext(text string, s, e int) bool {
	for _, suf := range []string{"元", "万", "块", "亿"} {
		if strings.HasPrefix(text[e:], suf) {
			return true
		}
	}
	before := strings.TrimRight(text[:s], " :：")
	for _, pre := range []string{"¥", "￥", "金额", "RMB", "价格", "费用"} {
		if strings.HasSuffix(before, pre) {
			return true
		}
	}
	return false
}

func stripSeparators(s string) string {
	if !strings.ContainsAny(s, " -") {
		return s
	}
	return strings.NewReplacer(" ", "", "-", "").Replace(s)
}

// decimalAfter reports a decimal point followed by a digit at e ("13812345678.00").
func decimalAfter(text string, e int) bool {
	return e+1 < len(text) && text[e] == '.' && text[e+1] >= '0' && text[e+1] <= '9'
}

// trimAddressLead drops cue words the greedy address pattern swallowed ("家住", "我住在").
func trimAddressLead(text string, s, e int) int {
	seg := text[s:e]
	best := 0
	for _, cue := range []string{"住在", "家住", "住址", "地址", "位于", "地点", "现住", "居住在", "搬到", "来自"} {
		if i := strings.LastIndex(seg[:min(len(seg), 36)], cue); i >= 0 && i+len(cue) > best {
			best = i + len(cue)
		}
	}
	s += best
	for _, lead := range []string{"住", "在", "于", "到", "是"} {
		if strings.HasPrefix(text[s:e], lead) {
			s += len(lead)
		}
	}
	return s
}

// resolveOverlaps sorts spans and keeps, of any overlapping group, the one found by the
// more specific detector (earlier in Find's order), then the longer.
func resolveOverlaps(text string, spans []Span) []Span {
	if len(spans) < 2 {
		return spans
	}
	rank := func(k PIKind) int {
		switch k {
		case PIIDCard:
			return 0
		case PIEmail:
			return 1
		case PIBankCard:
			return 2
		case PIMobile:
			return 3
		case PILandline:
			return 4
		case PIPlate:
			return 5
		case PIName:
			return 6
		case PIAddress:
			return 7
		}
		return 8
	}
	sorted := make([]Span, len(spans))
	copy(sorted, spans)
	sort.SliceStable(sorted, func(i, j int) bool {
		ri, rj := rank(sorted[i].Kind), rank(sorted[j].Kind)
		if ri != rj {
			return ri < rj
		}
		return sorted[i].End-sorted[i].Start > sorted[j].End-sorted[j].Start
	})
	var kept []Span
	for _, s := range sorted {
		ok := true
		for _, k := range kept {
			if s.Start < k.End && k.Start < s.End {
				// an address that swallowed a name or number before it keeps its tail
				if s.Kind == PIAddress && k.End < s.End {
					s.Start = trimAddressLead(text, k.End, s.End)
					s.Value = text[s.Start:s.End]
					if s.End-s.Start >= 9 {
						continue
					}
				}
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, s)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Start < kept[j].Start })
	return kept
}
