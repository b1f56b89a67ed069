package governance

import (
	"strings"
	"unicode/utf8"
)

// Suggestion is the detector's proposal for one column, for a person to confirm.
type Suggestion struct {
	Column   string   `json:"column"`
	PIKind   PIKind   `json:"pi_kind,omitempty"`
	Category Category `json:"category"`
	Grade    Grade    `json:"grade"`
	// Share is the fraction of non-empty sampled values that matched PIKind.
	Share float64 `json:"share"`
	// HeaderHint is the kind the column header suggested, if any.
	HeaderHint PIKind `json:"header_hint,omitempty"`
	Reason     string `json:"reason"`
}

// SuggestColumn proposes a classification for a column from its header and a sample
// of its values. A kind is proposed when at least half the non-empty values are of that
// kind, or a fifth when the header suggests the same kind; names need a header that
// suggests names. Free-text columns in which at least a fifth of the values contain
// personal information become PIFreeText. Other columns get a category from header
// keywords and grade 一般2 (一般1 is a person's decision).
func (d *Detector) SuggestColumn(header string, values []string) Suggestion {
	s := Suggestion{Column: header, HeaderHint: d.HeaderHint(header)}
	counts := map[PIKind]int{}
	n, withPI, long := 0, 0, 0
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		n++
		if utf8.RuneCountInString(v) > 30 {
			long++
		}
		spans := d.FindValue(header, v)
		if len(spans) == 1 && spans[0].Start == strings.Index(v, spans[0].Value) && len(spans[0].Value) == len(v) {
			counts[spans[0].Kind]++
		} else if len(spans) > 0 {
			withPI++
		}
	}
	best, bestN := PINone, 0
	for _, k := range PIKinds() {
		if counts[k] > bestN {
			best, bestN = k, counts[k]
		}
	}
	if n > 0 {
		s.Share = float64(bestN) / float64(n)
	}
	switch {
	case n > 0 && best != PINone && (s.Share >= 0.5 || (best == s.HeaderHint && s.Share >= 0.2)):
		s.PIKind = best
		s.Reason = "值匹配 values match " + best.ZH()
	case n > 0 && long*2 >= n && float64(withPI+bestN)/float64(n) >= 0.2:
		s.PIKind = PIFreeText
		s.Share = float64(withPI+bestN) / float64(n)
		s.Reason = "自由文本含个人信息 free text containing personal information"
	case n == 0 && s.HeaderHint != PINone:
		s.PIKind = s.HeaderHint
		s.Reason = "列名提示 header suggests " + s.HeaderHint.ZH()
	}
	if s.PIKind != PINone {
		s.Category, s.Grade = s.PIKind.Suggest()
		return s
	}
	s.Category, s.Grade = headerCategory(header), GradeGeneral2
	if s.Reason == "" {
		s.Reason = "未发现个人信息 no personal information found"
	}
	return s
}

// headerCategory guesses a non-personal category from header keywords.
func headerCategory(header string) Category {
	h := strings.ToLower(header)
	has := func(ws ...string) bool {
		for _, w := range ws {
			if strings.Contains(h, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("pm2", "pm10", "aqi", "噪声", "水质", "空气", "温度", "湿度", "排放", "noise", "air", "water_quality", "环境"):
		return CatEnvironment
	case has("设备", "device", "传感器", "sensor", "电量", "battery", "信号", "rssi", "在线"):
		return CatDevice
	case has("井盖", "路灯", "管网", "桥梁", "道路", "管道", "manhole", "streetlight", "pipe", "bridge", "road"):
		return CatInfrastructure
	case has("工单", "办结", "审批", "部门", "社区", "街道", "区域", "网格", "dept", "order", "case", "督办", "area"):
		return CatGovernment
	case has("治安", "消防", "应急", "安全", "fire", "emergency", "police"):
		return CatPublicSafety
	case has("养老", "教育", "医疗", "服务", "学校", "school", "service"):
		return CatPublicService
	case has("产值", "税", "营收", "企业", "gdp", "revenue", "tax"):
		return CatEconomy
	}
	return CatOther
}

// SuggestDataset proposes a classification for every column of a table given its
// header row and a sample of rows (each row aligned with the header).
func (d *Detector) SuggestDataset(header []string, rows [][]string) []Suggestion {
	out := make([]Suggestion, len(header))
	col := make([]string, 0, len(rows))
	for i, h := range header {
		col = col[:0]
		for _, r := range rows {
			if i < len(r) {
				col = append(col, r[i])
			}
		}
		out[i] = d.SuggestColumn(h, col)
	}
	return out
}
