package assess

// MetricInfo describes a platform metric available to formulas.
type MetricInfo struct {
	Name   string   `json:"name"`
	NameZH string   `json:"name_zh"`
	NameEN string   `json:"name_en"`
	Unit   string   `json:"unit"`
	Kinds  []string `json:"kinds"` // unit kinds it is computed for
	// Evidence says which records a drill-down lists: "workorders", "devices", "alerts", "sharing".
	Evidence string `json:"evidence"`
}

var areaKinds = []string{UnitStreet, UnitCommunity}
var allKinds = []string{UnitStreet, UnitCommunity, UnitDepartment}

// Catalog lists every platform metric. Rates are percentages (0–100).
func Catalog() []MetricInfo {
	return []MetricInfo{
		{"wo_count", "工单量（立案数）", "work orders filed", "件", allKinds, "workorders"},
		{"wo_response_rate", "响应率（按时签收）", "responded in time", "%", allKinds, "workorders"},
		{"wo_closed_rate", "结案率", "closure rate", "%", allKinds, "workorders"},
		{"wo_ontime_close_rate", "按期办结率", "closed on time", "%", allKinds, "workorders"},
		{"wo_resolve_rate", "解决率", "resolution rate", "%", allKinds, "workorders"},
		{"wo_satisfaction_rate", "满意率", "satisfaction rate", "%", allKinds, "workorders"},
		{"wo_rework_rate", "返工率", "rework rate", "%", allKinds, "workorders"},
		{"wo_extension_rate", "延期率", "extension rate", "%", allKinds, "workorders"},
		{"wo_overdue_rate", "超期率", "overdue rate", "%", allKinds, "workorders"},
		{"wo_avg_handle_hours", "平均处置时长", "average handling time", "h", allKinds, "workorders"},
		{"wo_duplicate_rate", "重复件率", "duplicate rate", "%", allKinds, "workorders"},
		{"wo_per_10k", "每万人工单量", "orders per 10,000 residents", "件", areaKinds, "workorders"},
		{"dev_registered", "注册设备数", "devices registered", "台", areaKinds, "devices"},
		{"dev_online_rate", "设备在线率", "device online rate", "%", areaKinds, "devices"},
		{"dev_silent", "沉默设备数", "silent devices", "台", areaKinds, "devices"},
		{"dev_silent_rate", "沉默设备率", "silent device rate", "%", areaKinds, "devices"},
		{"dev_mttr_hours", "故障平均修复时长", "mean time to repair", "h", areaKinds, "devices"},
		{"alert_count", "告警数", "alerts raised", "次", areaKinds, "alerts"},
		{"alert_ack_ontime_rate", "告警及时确认率", "alerts acknowledged in time", "%", areaKinds, "alerts"},
		{"alert_resolve_hours", "告警平均解除时长", "time to resolve alerts", "h", areaKinds, "alerts"},
		{"gov_datasets", "编目数据集数", "datasets catalogued", "个", []string{UnitDepartment}, "sharing"},
		{"gov_graded_rate", "分类分级完成率", "datasets classified and graded", "%", []string{UnitDepartment}, "sharing"},
		{"gov_share_ontime_rate", "共享申请按时答复率", "sharing requests answered on time", "%", []string{UnitDepartment}, "sharing"},
		{"gov_sharing_rate", "共享率", "sharing rate", "%", []string{UnitDepartment}, "sharing"},
		{"gov_audit_anomalies", "审计异常数", "audit anomalies", "次", []string{UnitDepartment}, "sharing"},
	}
}

// KnownMetric reports whether name is in the catalog.
func KnownMetric(name string) bool {
	for _, m := range Catalog() {
		if m.Name == name {
			return true
		}
	}
	return false
}
