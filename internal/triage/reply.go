package triage

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Reply states: the moments a citizen is told about their case.
const (
	ReplyAccepted   = "accepted"   // 受理
	ReplyDispatched = "dispatched" // 派单
	ReplyClosed     = "closed"     // 办结
	ReplyExtension  = "extension"  // 延期
)

// ReplyInput is what a drafted reply is built from. Department may be a department code
// (resolved through the taxonomy) or a name.
type ReplyInput struct {
	State       string    `json:"state"`        // accepted, dispatched, closed, extension
	Category    string    `json:"category"`     // taxonomy code
	TrackingNo  string    `json:"tracking_no"`  // the case's tracking number
	CitizenName string    `json:"citizen_name"` // e.g. "王先生"; empty gives "市民朋友"
	Department  string    `json:"department"`   // code or name; empty: the category's lead
	Street      string    `json:"street"`
	Deadline    time.Time `json:"deadline"`    // the promised feedback time (accepted, dispatched)
	ExtendedTo  time.Time `json:"extended_to"` // the new deadline (extension)
	Reason      string    `json:"reason"`      // why the extension (extension)
	Result      string    `json:"result"`      // what was done (closed)
}

// categoryAction is what the responsible unit will do, per category, used in replies.
func categoryAction(code string) (doing, done string) {
	switch code {
	case "ROAD":
		return "安排道路养护人员到现场查看并修复", "已对相关道路设施进行了修复"
	case "STREETLIGHT":
		return "安排路灯维护人员现场检修", "已对相关路灯进行了检修"
	case "WATER_SUPPLY":
		return "联系供水单位排查管网并尽快恢复正常供水", "供水单位已完成排查处置"
	case "DRAINAGE":
		return "安排排水养护人员现场疏通、排涝", "已完成疏通和排水处置"
	case "HEATING_GAS":
		return "联系供热、燃气单位上门排查", "供热、燃气单位已上门处置"
	case "SANITATION":
		return "安排环卫作业人员清运、保洁", "已完成清运和保洁"
	case "GREENING":
		return "安排园林养护人员现场处置", "已完成树木、绿地的处置"
	case "STREET_ORDER":
		return "安排城管执法人员现场核查、依法处置", "城管执法人员已依法处置"
	case "NOISE":
		return "安排生态环境执法人员核查噪声情况", "已对噪声源进行核查并督促整改"
	case "POLLUTION":
		return "安排生态环境执法人员现场核查", "已对污染问题进行核查并督促整改"
	case "TRAFFIC":
		return "联系交警部门现场处置", "交警部门已到场处置"
	case "MARKET":
		return "安排市场监管人员核查经营者", "市场监管部门已核查处理"
	case "PROPERTY":
		return "联系房屋管理部门督促物业服务企业处理", "已督促物业服务企业完成处理"
	case "ELDERLY_CARE":
		return "联系民政部门和社区工作人员了解情况、提供帮助", "民政部门和社区已跟进帮扶"
	case "FIRE_SAFETY":
		return "安排应急管理和消防人员现场排查隐患", "已完成隐患排查和整改"
	case "PUBLIC_SECURITY":
		return "转公安机关核查处置（如遇紧急情况请直接拨打110）", "公安机关已核查处置"
	case "HEALTH":
		return "联系卫生健康部门核查", "卫生健康部门已核查处理"
	case "EDUCATION":
		return "联系教育部门核实情况", "教育部门已核实并答复"
	case "LABOR":
		return "联系人社部门（劳动保障监察）核查", "人社部门已介入处理"
	}
	return "由属地街道核实情况并协调处理", "属地街道已协调处理"
}

// formatTimeZh formats a time as 2026年11月28日17时30分 in the time's own location.
func formatTimeZh(t time.Time) string {
	if t.Minute() == 0 {
		return fmt.Sprintf("%d年%d月%d日%d时", t.Year(), int(t.Month()), t.Day(), t.Hour())
	}
	return fmt.Sprintf("%d年%d月%d日%d时%02d分", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
}

// DraftReply writes the Chinese reply to a citizen for a state of their case, from the
// templates of the category. It fails with EINVALID for an unknown state or category or
// a missing field the state needs.
func DraftReply(tax *Taxonomy, in ReplyInput) (string, error) {
	cat, ok := tax.Category(in.Category)
	if !ok {
		return "", citybrain.FieldError("category", "unknown category %q / 未知类别", in.Category)
	}
	if strings.TrimSpace(in.TrackingNo) == "" {
		return "", citybrain.FieldError("tracking_no", "tracking number is required / 需要工单编号")
	}
	dept := in.Department
	if dept == "" {
		dept = cat.Department
	}
	if d, ok := tax.Department(dept); ok {
		dept = d.NameZh
	}
	name := strings.TrimSpace(in.CitizenName)
	if name == "" {
		name = "市民朋友"
	}
	where := ""
	if in.Street != "" {
		where = "（" + in.Street + "）"
	}
	doing, done := categoryAction(cat.Code)
	var b strings.Builder
	fmt.Fprintf(&b, "%s，您好！", name)
	switch in.State {
	case ReplyAccepted:
		fmt.Fprintf(&b, "您反映的“%s”问题%s已受理，工单编号%s。", cat.NameZh, where, in.TrackingNo)
		if !in.Deadline.IsZero() {
			fmt.Fprintf(&b, "我们将尽快分派给责任单位，并在%s前给您反馈办理情况。", formatTimeZh(in.Deadline))
		} else {
			b.WriteString("我们将尽快分派给责任单位办理。")
		}
		b.WriteString("您可凭工单编号随时查询进度。")
	case ReplyDispatched:
		fmt.Fprintf(&b, "您反映的“%s”问题（工单%s）已派至%s，将%s。", cat.NameZh, in.TrackingNo, dept, doing)
		if !in.Deadline.IsZero() {
			fmt.Fprintf(&b, "办理时限为%s。", formatTimeZh(in.Deadline))
		}
	case ReplyExtension:
		if in.ExtendedTo.IsZero() {
			return "", citybrain.FieldError("extended_to", "extension needs the new deadline / 延期需要新的办理时限")
		}
		fmt.Fprintf(&b, "您反映的“%s”问题（工单%s）", cat.NameZh, in.TrackingNo)
		if r := strings.TrimSpace(in.Reason); r != "" {
			fmt.Fprintf(&b, "因%s，", strings.TrimRight(r, "。，,. "))
		} else {
			b.WriteString("因情况较复杂，")
		}
		fmt.Fprintf(&b, "%s申请延期办理，已获批准，办理时限延至%s。给您带来不便，敬请谅解。", dept, formatTimeZh(in.ExtendedTo))
	case ReplyClosed:
		fmt.Fprintf(&b, "您反映的“%s”问题（工单%s），%s", cat.NameZh, in.TrackingNo, dept)
		if r := strings.TrimSpace(in.Result); r != "" {
			fmt.Fprintf(&b, "办理结果：%s。", strings.TrimRight(r, "。，,. "))
		} else {
			fmt.Fprintf(&b, "%s。", done)
		}
		b.WriteString("经现场核查，工单已办结。请您对办理结果进行评价；如仍未解决，可在评价时选择“不满意”，我们将重新办理。")
	default:
		return "", citybrain.FieldError("state", "unknown reply state %q (accepted, dispatched, closed, extension) / 未知回复状态", in.State)
	}
	b.WriteString("感谢您对城市管理工作的支持！")
	return b.String(), nil
}

// runeLen is the length in runes.
func runeLen(s string) int { return utf8.RuneCountInString(s) }
