package governance

// PlatformCatalog returns the catalog entries of the data the platform itself holds:
// devices, device readings (one entry per device profile plus the generic
// "telemetry"), households and residents, work orders and their reporters, users,
// alerts and the audit log. Route Dataset names in internal/httpapi refer to these
// names. Keys a record carries that are not listed fall under Other. "households" and
// "residents" are templates (Platform false): no platform table stores them, and a
// dataset imported under the same name (civil affairs' residents list) replaces them.
//
// Grading notes (GB/T 43697-2024 and common practice): identity and phone numbers,
// precise addresses and health data are 一般4; names, household codes, e-mail,
// free-text descriptions written by residents are 一般3; operational data of devices
// and cases is 一般2; reference data is 一般1. Readings of home devices (door and
// motion sensors, smoke detectors, household meters) reveal when a resident is at home
// and are 一般3, from residents' homes, so household consent applies.
func PlatformCatalog() []Dataset {
	gen2 := func(cat Category) *Column { return &Column{Category: cat, Grade: GradeGeneral2, Confirmed: true} }
	col := func(name, label string, cat Category, g Grade, kind PIKind) Column {
		return Column{Name: name, Label: label, Category: cat, Grade: g, PIKind: kind, Confirmed: true}
	}
	pub := func(name, label string, cat Category) Column { return col(name, label, cat, GradeGeneral1, PINone) }
	op := func(name, label string, cat Category) Column { return col(name, label, cat, GradeGeneral2, PINone) }
	out := []Dataset{
		{Name: "devices", Title: "物联感知设备 IoT devices", Owner: PlatformOwner, Sharing: ShareUnconditional, Platform: true,
			Other: gen2(CatDevice),
			Columns: []Column{
				pub("id", "设备编号", CatDevice), op("name", "设备名称", CatDevice), pub("profile", "设备类型", CatDevice),
				pub("area", "所属区域", CatGovernment), op("lon", "经度", CatDevice), op("lat", "纬度", CatDevice),
				col("address", "安装地址", CatPersonal, GradeGeneral3, PIAddress), op("facility", "所属设施", CatInfrastructure),
				col("household", "所属住户", CatPersonal, GradeGeneral3, PINone),
			}},
		{Name: "telemetry", Title: "设备监测数据 device readings", Owner: PlatformOwner, Sharing: ShareUnconditional, Platform: true,
			Other: gen2(CatDevice),
			Columns: []Column{
				pub("device_id", "设备编号", CatDevice), pub("measurement", "测量项", CatDevice),
				op("ts", "时间", CatDevice), op("value", "数值", CatDevice), op("points", "数据点", CatDevice),
			}},
		{Name: "alerts", Title: "告警 alerts", Owner: PlatformOwner, Sharing: ShareUnconditional, Platform: true,
			Other: gen2(CatPublicSafety),
			Columns: []Column{
				pub("id", "编号", CatPublicSafety), op("summary", "摘要", CatPublicSafety),
				col("acked_by", "确认人", CatGovernment, GradeGeneral2, PINone), col("resolved_by", "处置人", CatGovernment, GradeGeneral2, PINone),
			}},
		{Name: "workorders", Title: "工单与诉求人 work orders and reporters", Owner: PlatformOwner, Sharing: ShareConditional,
			SharingReason: "诉求人信息仅用于办理与回访 reporters' details only for handling and call-backs", Platform: true,
			Other: gen2(CatGovernment),
			Columns: []Column{
				pub("id", "编号", CatGovernment), pub("tracking_no", "受理编号", CatGovernment), op("category", "类别", CatGovernment),
				op("state", "状态", CatGovernment),
				col("description", "诉求内容", CatPersonal, GradeGeneral3, PIFreeText),
				col("title", "标题", CatPersonal, GradeGeneral3, PIFreeText),
				col("address", "地址", CatPersonal, GradeGeneral4, PIAddress),
				col("attributes", "附加字段", CatPersonal, GradeGeneral3, PINone),
				col("media", "图片", CatPersonal, GradeGeneral3, PINone),
				col("rating_comment", "评价内容", CatPersonal, GradeGeneral3, PIFreeText),
				col("reporters.name", "诉求人姓名", CatPersonal, GradeGeneral3, PIName),
				col("reporters.phone", "诉求人电话", CatPersonal, GradeGeneral4, PIMobile),
				col("reporters.email", "诉求人邮箱", CatPersonal, GradeGeneral3, PIEmail),
				col("reporters.account_id", "诉求人账号", CatPersonal, GradeGeneral3, PINone),
				col("reporters.device_id", "诉求人设备", CatPersonal, GradeGeneral3, PINone),
				col("reporters.user_id", "诉求人用户", CatPersonal, GradeGeneral3, PINone),
				op("reporters.channel", "渠道", CatGovernment), op("reporters.reported_at", "反映时间", CatGovernment),
				op("reporters.order_id", "原工单", CatGovernment),
			}},
		{Name: "users", Title: "平台用户 platform users", Owner: PlatformOwner, Sharing: ShareConditional,
			SharingReason: "账号信息仅供平台管理 accounts are for platform administration", Platform: true,
			Other: gen2(CatGovernment),
			Columns: []Column{
				pub("id", "编号", CatGovernment), op("username", "用户名", CatGovernment),
				col("display_name", "姓名", CatPersonal, GradeGeneral3, PIName),
				op("role", "角色", CatGovernment), op("department", "部门", CatGovernment), op("area", "区域", CatGovernment),
				op("clearance", "许可级别", CatGovernment),
			}},
		{Name: "audit_log", Title: "审计日志 audit log", Owner: PlatformOwner, Sharing: ShareConditional,
			SharingReason: "审计日志仅供审计员查阅 only auditors read the audit log", Platform: true,
			Other: &Column{Category: CatGovernment, Grade: GradeGeneral3, Confirmed: true}},
		{Name: "households", Title: "住户 households", Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional,
			SharingReason: "住户信息按需共享 households shared on request",
			Columns: []Column{
				col("household", "住户编号", CatPersonal, GradeGeneral3, PINone),
				col("head_name", "户主姓名", CatPersonal, GradeGeneral3, PIName),
				col("phone", "联系电话", CatPersonal, GradeGeneral4, PIMobile),
				col("address", "住址", CatPersonal, GradeGeneral4, PIAddress),
				op("community", "社区", CatGovernment), op("members", "人口数", CatGovernment),
				col("care_level", "照护等级", CatSensitivePersonal, GradeGeneral4, PIHealth),
			}},
		{Name: "residents", Title: "居民 residents", Owner: "CIVIL_AFFAIRS", Sharing: ShareConditional,
			SharingReason: "居民信息按需共享 residents shared on request",
			Columns: []Column{
				col("name", "姓名", CatPersonal, GradeGeneral3, PIName),
				col("id_no", "身份证号", CatPersonal, GradeGeneral4, PIIDCard),
				col("phone", "手机号", CatPersonal, GradeGeneral4, PIMobile),
				col("address", "住址", CatPersonal, GradeGeneral4, PIAddress),
				col("household", "住户编号", CatPersonal, GradeGeneral3, PINone),
				col("birth_date", "出生日期", CatPersonal, GradeGeneral3, PINone),
				col("health", "健康状况", CatSensitivePersonal, GradeGeneral4, PIHealth),
				op("community", "社区", CatGovernment),
			}},
	}
	for _, p := range profileGrades() {
		owner := p.owner
		if owner == "" {
			owner = PlatformOwner
		}
		ds := Dataset{Name: "telemetry." + p.code, Title: "设备监测数据 readings: " + p.code, Owner: owner,
			Sharing: ShareUnconditional, Platform: true, HomeDevice: p.home,
			Columns: []Column{
				pub("device_id", "设备编号", CatDevice), pub("measurement", "测量项", CatDevice),
				col("ts", "时间", p.cat, p.grade, PINone), col("value", "数值", p.cat, p.grade, PINone),
			}}
		if p.home {
			ds.Other = &Column{Category: p.cat, Grade: p.grade, Confirmed: true}
			ds.Sharing, ds.SharingReason = ShareConditional, "居民家中设备数据须经住户同意 home data needs the household's consent"
			ds.Columns = append(ds.Columns, Column{Name: "household", Label: "住户编号", Category: CatPersonal, Grade: GradeGeneral3, HouseholdKey: true, Confirmed: true})
		}
		out = append(out, ds)
	}
	return out
}

type profileGrade struct {
	code  string
	cat   Category
	grade Grade
	home  bool
	owner string // department that answers for home data ("" = the platform)
}

// profileGrades grades the readings of each built-in device profile.
func profileGrades() []profileGrade {
	return []profileGrade{
		{"gas_methane", CatInfrastructure, GradeGeneral2, false, ""},
		{"water_pipe", CatInfrastructure, GradeGeneral2, false, ""},
		{"drain_level", CatInfrastructure, GradeGeneral2, false, ""},
		{"rain_gauge", CatEnvironment, GradeGeneral1, false, ""},
		{"heat_pipe", CatInfrastructure, GradeGeneral2, false, ""},
		{"structure_tilt", CatInfrastructure, GradeGeneral2, false, ""},
		{"structure_displacement", CatInfrastructure, GradeGeneral2, false, ""},
		{"structure_strain", CatInfrastructure, GradeGeneral2, false, ""},
		{"manhole_cover", CatInfrastructure, GradeGeneral2, false, ""},
		{"crowd_density", CatPublicSafety, GradeGeneral2, false, ""},
		{"smoke_detector", CatSensitivePersonal, GradeGeneral3, true, "EMERGENCY"},
		{"door_sensor", CatSensitivePersonal, GradeGeneral3, true, "CIVIL_AFFAIRS"},
		{"motion_sensor", CatSensitivePersonal, GradeGeneral3, true, "CIVIL_AFFAIRS"},
		{"electricity_meter", CatPersonal, GradeGeneral3, true, "CIVIL_AFFAIRS"},
		{"water_meter", CatPersonal, GradeGeneral3, true, "WATER"},
		{"parking_space", CatInfrastructure, GradeGeneral1, false, ""},
		{"air_quality", CatEnvironment, GradeGeneral1, false, ""},
		{"noise", CatEnvironment, GradeGeneral1, false, ""},
		{"streetlight", CatInfrastructure, GradeGeneral2, false, ""},
		{"waste_bin", CatInfrastructure, GradeGeneral2, false, ""},
		{"generic", CatDevice, GradeGeneral2, false, ""},
	}
}
