package triage

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// DayFigures are one day's counts of work orders.
type DayFigures struct {
	New     int `json:"new"`     // reports received
	Closed  int `json:"closed"`  // orders closed
	Overdue int `json:"overdue"` // open orders past their deadline at the end of the day
}

// Hotspot is a street and category with many new reports.
type Hotspot struct {
	Street   string `json:"street"`
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// CategoryCount is the number of new reports of one category today and the day before.
type CategoryCount struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
	Prev     int    `json:"prev"`
}

// NotableCase is a case leaders should see: an emergency, an escalation, a repeat report.
type NotableCase struct {
	TrackingNo string `json:"tracking_no"`
	Category   string `json:"category"`
	Street     string `json:"street"`
	Urgency    string `json:"urgency"`
	Status     string `json:"status"` // e.g. 处置中, 已办结
	Summary    string `json:"summary"`
}

// BriefInput is the figures a daily situation brief is written from; the caller (the work
// order service) computes them.
type BriefInput struct {
	Date       time.Time       `json:"date"`
	Area       string          `json:"area"` // the district or a street, e.g. 河西区 / 南湖街道
	Today      DayFigures      `json:"today"`
	Prev       *DayFigures     `json:"prev,omitempty"` // the day before, for trends
	Open       int             `json:"open"`           // orders open at the end of the day
	Escalated  int             `json:"escalated"`      // orders escalated (督办) today
	Hotspots   []Hotspot       `json:"hotspots,omitempty"`
	ByCategory []CategoryCount `json:"by_category,omitempty"`
	Notable    []NotableCase   `json:"notable,omitempty"`
	// Satisfaction is the share of satisfied ratings today, 0..1; nil when none.
	Satisfaction *float64 `json:"satisfaction,omitempty"`
}

// trendZh describes today against the day before: "较前一日增加8件（+18.2%）".
func trendZh(now, prev int) string {
	d := now - prev
	switch {
	case d == 0:
		return "与前一日持平"
	case prev == 0:
		return fmt.Sprintf("较前一日增加%d件", d)
	case d > 0:
		return fmt.Sprintf("较前一日增加%d件（+%.1f%%）", d, 100*float64(d)/float64(prev))
	default:
		return fmt.Sprintf("较前一日减少%d件（-%.1f%%）", -d, 100*float64(-d)/float64(prev))
	}
}

func (t *Taxonomy) nameZh(code string) string {
	if c, ok := t.Category(code); ok {
		return c.NameZh
	}
	return code
}

// DraftBrief writes the daily situation brief in Chinese from the figures. It is a pure
// function: the same input gives the same text.
func DraftBrief(tax *Taxonomy, in BriefInput) string {
	var b strings.Builder
	area := in.Area
	if area == "" {
		area = "全区"
	}
	fmt.Fprintf(&b, "%s城市运行日报（%d年%d月%d日）\n\n", area, in.Date.Year(), int(in.Date.Month()), in.Date.Day())

	b.WriteString("一、总体情况\n")
	fmt.Fprintf(&b, "当日新受理群众诉求%d件", in.Today.New)
	if in.Prev != nil {
		fmt.Fprintf(&b, "，%s", trendZh(in.Today.New, in.Prev.New))
	}
	fmt.Fprintf(&b, "；办结%d件", in.Today.Closed)
	if in.Prev != nil {
		fmt.Fprintf(&b, "，%s", trendZh(in.Today.Closed, in.Prev.Closed))
	}
	fmt.Fprintf(&b, "；超期未办结%d件", in.Today.Overdue)
	if in.Prev != nil {
		fmt.Fprintf(&b, "，%s", trendZh(in.Today.Overdue, in.Prev.Overdue))
	}
	fmt.Fprintf(&b, "；在办%d件", in.Open)
	if in.Escalated > 0 {
		fmt.Fprintf(&b, "；当日督办%d件", in.Escalated)
	}
	b.WriteString("。")
	if in.Satisfaction != nil {
		fmt.Fprintf(&b, "当日回访满意率%.1f%%。", 100**in.Satisfaction)
	}
	b.WriteString("\n")

	b.WriteString("\n二、热点问题\n")
	hs := append([]Hotspot(nil), in.Hotspots...)
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].Count > hs[j].Count })
	if len(hs) == 0 {
		b.WriteString("当日无集中反映的热点问题。\n")
	}
	for i, h := range hs {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "%d. %s · %s：%d件\n", i+1, h.Street, tax.nameZh(h.Category), h.Count)
	}

	cats := append([]CategoryCount(nil), in.ByCategory...)
	sort.SliceStable(cats, func(i, j int) bool { return cats[i].Count > cats[j].Count })
	var rising []CategoryCount
	if len(cats) > 0 {
		b.WriteString("\n三、分类情况\n")
		var parts []string
		for _, c := range cats {
			if c.Count == 0 && c.Prev == 0 {
				continue
			}
			p := fmt.Sprintf("%s%d件", tax.nameZh(c.Category), c.Count)
			if in.Prev != nil || c.Prev > 0 {
				if d := c.Count - c.Prev; d > 0 {
					p += fmt.Sprintf("（+%d）", d)
				} else if d < 0 {
					p += fmt.Sprintf("（%d）", d)
				}
			}
			parts = append(parts, p)
			if d := c.Count - c.Prev; d >= 3 && float64(c.Count) >= 1.5*float64(c.Prev) {
				rising = append(rising, c)
			}
		}
		b.WriteString(strings.Join(parts, "，"))
		b.WriteString("。\n")
	}

	b.WriteString("\n四、重点关注\n")
	if len(in.Notable) == 0 {
		b.WriteString("当日无需重点关注的案件。\n")
	}
	for _, n := range in.Notable {
		tag := ""
		switch n.Urgency {
		case UrgencyEmergency:
			tag = "【紧急】"
		case UrgencyUrgent:
			tag = "【较急】"
		}
		status := ""
		if n.Status != "" {
			status = "（" + n.Status + "）"
		}
		fmt.Fprintf(&b, "- %s%s %s %s：%s%s\n", tag, n.TrackingNo, tax.nameZh(n.Category), n.Street, truncateRunes(strings.TrimSpace(n.Summary), 60), status)
	}

	b.WriteString("\n五、工作建议\n")
	var advice []string
	if in.Today.Overdue > 0 {
		advice = append(advice, fmt.Sprintf("超期未办结%d件，请责任单位加快办理，指挥中心将逐件督办。", in.Today.Overdue))
	}
	for _, c := range rising {
		cat, _ := tax.Category(c.Category)
		dep, _ := tax.Department(cat.Department)
		who := dep.NameZh
		if who == "" {
			who = "相关部门"
		}
		advice = append(advice, fmt.Sprintf("%s类诉求较前一日明显增加（%d件→%d件），建议%s提前排查、集中处置。", tax.nameZh(c.Category), c.Prev, c.Count, who))
	}
	if len(hs) > 0 && hs[0].Count >= 3 {
		advice = append(advice, fmt.Sprintf("%s的%s问题集中反映%d件，建议属地街道会同责任部门现场研判，考虑并单处理。", hs[0].Street, tax.nameZh(hs[0].Category), hs[0].Count))
	}
	if in.Satisfaction != nil && *in.Satisfaction < 0.9 {
		advice = append(advice, fmt.Sprintf("回访满意率%.1f%%，低于90%%，建议对不满意工单逐件回访、返工。", 100**in.Satisfaction))
	}
	if in.Today.New > 0 && in.Today.Closed < in.Today.New/2 {
		advice = append(advice, "当日办结数不足新增数的一半，在办工单可能积压，请关注各单位签收和处置进度。")
	}
	if len(advice) == 0 {
		advice = append(advice, "各项指标运行平稳，请各单位继续按时办理。")
	}
	for i, a := range advice {
		fmt.Fprintf(&b, "%d. %s\n", i+1, a)
	}
	return b.String()
}
