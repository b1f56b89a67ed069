package rule

import "time"

// DemoRules are the rules shipped for the demo district, over the built-in device profiles.
// IDs are stable so seeding is idempotent. demo-elderly-household-quiet is an accelerated
// copy of the 12-hour household rule (a 3-minute window) so a demo session shows an absence alert.
func DemoRules() []Rule {
	d := func(x time.Duration) Duration { return Duration(x) }
	return []Rule{
		{ID: "demo-waterlogging-high", Name: "积水超过30厘米 / Waterlogging above 30 cm", Profile: "drain_level",
			Description: "道路积水水位持续2分钟超过30厘米，派排水工单 / water level above 30 cm for 2 minutes",
			Kind:        KindCondition, Condition: "level_cm > 30", For: d(2 * time.Minute), Severity: SeverityCritical, Enabled: true,
			OpenWorkOrder: true, WorkOrderCategory: "DRAINAGE"},
		{ID: "demo-water-rising", Name: "水位10分钟上涨超过10厘米 / Water rising over 10 cm in 10 min", Profile: "drain_level",
			Kind: KindRate, Condition: `delta("level_cm", "10m") > 10`, Severity: SeverityWarning, Enabled: true},
		{ID: "demo-gas-high", Name: "可燃气体浓度超过10%LEL / Methane above 10 %LEL", Profile: "gas_methane",
			Kind: KindCondition, Condition: "ch4_lel > 10", Severity: SeverityCritical, Enabled: true,
			OpenWorkOrder: true, WorkOrderCategory: "HEATING_GAS"},
		{ID: "demo-pm25-avg", Name: "PM2.5 15分钟均值超过75 / PM2.5 15-minute average above 75", Profile: "air_quality",
			Kind: KindWindow, Condition: `avg("pm25", "15m") > 75`, Severity: SeverityWarning, Enabled: true},
		{ID: "demo-manhole-open", Name: "井盖开启或倾斜 / Manhole cover open or tilted", Profile: "manhole_cover",
			Kind: KindCondition, Condition: "open > 0 || tilt_deg > 15", Severity: SeverityCritical, Enabled: true,
			OpenWorkOrder: true, WorkOrderCategory: "ROAD"},
		{ID: "demo-smoke-alarm", Name: "烟感报警 / Smoke alarm", Profile: "smoke_detector",
			Kind: KindEvent, Activity: []string{"smoke_alarm"}, Severity: SeverityCritical, Enabled: true,
			OpenWorkOrder: true, WorkOrderCategory: "FIRE_SAFETY"},
		{ID: "demo-elderly-household-silent", Name: "独居老人家庭白天12小时无活动 / Elderly household: no door or motion activity for 12 h in the day",
			Description: "门磁和人体感应均无活动（白天08:00–20:00累计12小时），派社区养老工单 / neither door nor motion sensor shows life for 12 daytime hours",
			Profile:     AnyProfile, Kind: KindAbsence, Group: GroupHousehold,
			Activity: []string{"door_open", "door_close", "open_count", "motion", "motion_count", "motion_detected"}, For: d(12 * time.Hour),
			DailyWindow: &DailyWindow{Start: "08:00", End: "20:00"}, Severity: SeverityCritical, Enabled: true,
			OpenWorkOrder: true, WorkOrderCategory: "ELDERLY_CARE"},
		{ID: "demo-elderly-household-quiet", Name: "演示加速：独居老人家庭3分钟无活动 / Demo (accelerated): elderly household silent for 3 min",
			Description: "演示用短窗口：把12小时缩短为3分钟，便于在演示中几分钟内看到无活动告警 / the demo uses a short window: the 12-hour rule shortened to 3 minutes so an absence alert shows within minutes",
			Profile:     AnyProfile, Kind: KindAbsence, Group: GroupHousehold,
			Activity: []string{"door_open", "door_close", "open_count", "motion", "motion_count", "motion_detected"}, For: d(3 * time.Minute),
			Severity: SeverityCritical, Enabled: true, OpenWorkOrder: true, WorkOrderCategory: "ELDERLY_CARE"},
		{ID: "demo-device-offline", Name: "设备离线超过30分钟 / Device offline for more than 30 minutes", Profile: AnyProfile,
			Kind: KindOffline, For: d(30 * time.Minute), Severity: SeverityWarning, Enabled: true},
	}
}
