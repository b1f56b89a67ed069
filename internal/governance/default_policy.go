package governance

import "github.com/citybrain/citybrain"

// PlatformOwner is the owner recorded for the platform's own tables (devices, telemetry,
// alerts, work orders, users). No user belongs to it, so nobody reads them as an owner:
// access comes from the baseline permits and the dataset-specific permits below.
const PlatformOwner = "PLATFORM"

// DefaultPolicy returns the district's starting policy. It is data: it can be serialised
// as JSON, reviewed and replaced as a whole.
//
// Who sees what by default (permits, combined by max; nothing matching means DENY):
//
//   - Owners: staff (admin, operator, dept, worker) of the department that owns a
//     dataset see it FULL, at any grade up to their clearance for 重要/核心 (rule below).
//   - Other departments (admin, operator, dept, worker of another department; street and
//     community workers count as STREET_OFFICE), for datasets shared 无条件 or 有条件:
//     一般1 and 一般2 FULL when the reader's clearance covers the grade, MASKED otherwise;
//     一般3 MASKED;
//     一般4 MASKED when the column holds a maskable kind of personal information (ID,
//     phone, name, address...), AGGREGATE_ONLY otherwise;
//     重要 and 核心 DENY unless an approved grant says otherwise.
//   - 不予共享 datasets: nothing for other departments (a rule keeps grants from opening them).
//   - Approved grants (inputs to each decision) add access for the grantee department up
//     to the granted level: the owner's approval, for a stated purpose and period, is the
//     legal basis, so a grant is not capped by the reader's clearance below 重要.
//   - Auditors: MASKED up to 一般4 (they check how data is used, not the people in it),
//     and the audit log itself in full.
//   - Admins: the users table in full (they manage accounts).
//   - Operators (12345 / command center): work-order reporters' contacts in full, to call back.
//   - The AI model endpoint (role "model", IsModel): 一般1/一般2 FULL, 一般3/一般4
//     MASKED when maskable; never more than MASKED for personal information.
//   - Citizens and anonymous readers: 一般1 of unconditionally shared datasets; in work
//     orders (the work-order service returns only a citizen's own cases) 一般1/一般2
//     FULL and maskable 一般3/一般4 MASKED.
//   - Devices: nothing.
//
// Restrictions (rules, combined by min; a DENY always wins over permits and grants):
//
//   - above-clearance-important: 重要/核心 data needs clearance 5, whoever reads it.
//   - model-personal: the model endpoint sees personal information at most MASKED.
//   - model-important: the model endpoint never sees 重要/核心 data.
//   - not-shared: 不予共享 datasets are DENY for everyone but the owner.
//   - citizen: citizens and anonymous readers see 一般4 at most AGGREGATE_ONLY, and
//     重要/核心 never.
//   - device: devices read nothing through the data API.
//
// Household consent is built into every decision: home-device data of a household that
// withdrew consent for the purpose is DENY; without a recorded consent it is at most
// AGGREGATE_ONLY (ConsentUnknownCap).
func DefaultPolicy() Policy {
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker}
	shared := []Sharing{ShareUnconditional, ShareConditional}
	public := []string{citybrain.RoleCitizen, RoleAnonymous}
	return Policy{
		ConsentUnknownCap: AggregateOnly,
		Permits: []Rule{
			{ID: "owner", Match: Match{Roles: staff, Owner: Yes}, Effect: Full,
				Note: "数据所有部门可见全部 owners see their own data in full"},
			{ID: "share-general12", Match: Match{Roles: staff, Owner: No, Sharing: shared, MaxGrade: GradeGeneral2, AboveClearance: No}, Effect: Full,
				Note: "一般1/2级数据在政务内部完整共享 general levels 1-2 shared in full within government"},
			{ID: "share-general12-low-clearance", Match: Match{Roles: staff, Owner: No, Sharing: shared, MaxGrade: GradeGeneral2, AboveClearance: Yes}, Effect: Masked,
				Note: "许可级别不足时脱敏 masked for readers whose clearance is below the grade"},
			{ID: "share-general3", Match: Match{Roles: staff, Owner: No, Sharing: shared, MinGrade: GradeGeneral3, MaxGrade: GradeGeneral3}, Effect: Masked,
				Note: "一般3级数据脱敏共享 general level 3 shared masked"},
			{ID: "share-general4-maskable", Match: Match{Roles: staff, Owner: No, Sharing: shared, MinGrade: GradeGeneral4, MaxGrade: GradeGeneral4, Maskable: Yes}, Effect: Masked,
				Note: "一般4级个人信息脱敏共享 general level 4 personal information shared masked"},
			{ID: "share-general4-aggregate", Match: Match{Roles: staff, Owner: No, Sharing: shared, MinGrade: GradeGeneral4, MaxGrade: GradeGeneral4, Maskable: No}, Effect: AggregateOnly,
				Note: "一般4级其他数据仅统计 other general level 4 data as aggregates only"},
			{ID: "auditor", Match: Match{Roles: []string{citybrain.RoleAuditor}, MaxGrade: GradeGeneral4}, Effect: Masked,
				Note: "审计员脱敏可见 auditors see data masked"},
			{ID: "model-general12", Match: Match{Model: Yes, Sharing: shared, MaxGrade: GradeGeneral2}, Effect: Full,
				Note: "模型可见一般1/2级 the model sees general levels 1-2"},
			{ID: "model-general34", Match: Match{Model: Yes, Sharing: shared, MinGrade: GradeGeneral3, MaxGrade: GradeGeneral4, Maskable: Yes}, Effect: Masked,
				Note: "模型仅见脱敏个人信息 the model sees personal information masked"},
			{ID: "auditor-audit-log", Match: Match{Roles: []string{citybrain.RoleAuditor}, Datasets: []string{"audit_log"}, MaxGrade: GradeGeneral4}, Effect: Full,
				Note: "审计员查阅审计日志 auditors read the audit log"},
			{ID: "admin-users", Match: Match{Roles: []string{citybrain.RoleAdmin}, Datasets: []string{"users"}, MaxGrade: GradeGeneral4}, Effect: Full,
				Note: "管理员管理账号 admins manage accounts"},
			{ID: "operator-reporters", Match: Match{Roles: []string{citybrain.RoleOperator}, Datasets: []string{"workorders"}, MaxGrade: GradeGeneral4}, Effect: Full,
				Note: "指挥中心回访诉求人 the command center calls reporters back"},
			{ID: "citizen-workorders", Match: Match{Roles: []string{citybrain.RoleCitizen}, Datasets: []string{"workorders"}, MaxGrade: GradeGeneral2}, Effect: Full,
				Note: "市民查看本人诉求的办理情况 citizens follow their own cases (the work-order service returns only their own)"},
			{ID: "citizen-workorders-personal", Match: Match{Roles: []string{citybrain.RoleCitizen}, Datasets: []string{"workorders"}, MinGrade: GradeGeneral3, MaxGrade: GradeGeneral4, Maskable: Yes}, Effect: Masked,
				Note: "市民所见个人信息脱敏 personal details masked for citizens"},
			{ID: "public", Match: Match{Roles: public, Sharing: []Sharing{ShareUnconditional}, MaxGrade: GradeGeneral1}, Effect: Full,
				Note: "公开数据 public data"},
		},
		Rules: []Rule{
			{ID: "above-clearance-important", Match: Match{AboveClearance: Yes, MinGrade: GradeImportant}, Effect: Deny,
				Note: "重要/核心数据须相应许可 important and core data need clearance 5"},
			{ID: "model-personal", Match: Match{Model: Yes, Personal: Yes}, Effect: Masked,
				Note: "外部模型只见脱敏个人信息 the model sees personal information masked at most"},
			{ID: "model-important", Match: Match{Model: Yes, MinGrade: GradeImportant}, Effect: Deny,
				Note: "外部模型不得接触重要/核心数据 no important or core data to the model"},
			{ID: "not-shared", Match: Match{Owner: No, Sharing: []Sharing{ShareNone}}, Effect: Deny,
				Note: "不予共享 not shared"},
			{ID: "citizen", Match: Match{Roles: public, MinGrade: GradeGeneral4}, Effect: AggregateOnly,
				Note: "市民不见一般4级以上原始数据 citizens never see raw data above general level 3"},
			{ID: "citizen-important", Match: Match{Roles: public, MinGrade: GradeImportant}, Effect: Deny,
				Note: "市民不接触重要/核心数据 no important or core data for citizens"},
			{ID: "device", Match: Match{Roles: []string{citybrain.RoleDevice}}, Effect: Deny,
				Note: "设备不读数据 devices read no data"},
		},
	}
}
