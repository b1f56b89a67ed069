package governance

import (
	"strings"

	"github.com/citybrain/citybrain"
)

// Grade is a data level (分级) per GB/T 43697-2024, with 一般数据 split into four
// sub-levels as public-data practice does. Grades are ordered: a larger value is a
// higher, more protected level. The zero value is GradeUnknown, treated as the
// highest grade by every decision until a person classifies the data (就高从严).
type Grade uint8

// The grades, lowest to highest.
const (
	GradeUnknown   Grade = iota // 未定级: not yet graded; decisions treat it as 核心
	GradeGeneral1               // 一般数据1级: public information
	GradeGeneral2               // 一般数据2级: internal, harm is slight
	GradeGeneral3               // 一般数据3级: e.g. names, birth dates; serious harm to a person
	GradeGeneral4               // 一般数据4级: ID and phone numbers, precise addresses, health data
	GradeImportant              // 重要数据
	GradeCore                   // 核心数据
)

type gradeName struct{ code, zh, en string }

func gradeNames() [7]gradeName {
	return [7]gradeName{
		{"unknown", "未定级", "ungraded"},
		{"general1", "一般数据1级", "general level 1"},
		{"general2", "一般数据2级", "general level 2"},
		{"general3", "一般数据3级", "general level 3"},
		{"general4", "一般数据4级", "general level 4"},
		{"important", "重要数据", "important data"},
		{"core", "核心数据", "core data"},
	}
}

// Grades lists the assignable grades from lowest to highest.
func Grades() []Grade {
	return []Grade{GradeGeneral1, GradeGeneral2, GradeGeneral3, GradeGeneral4, GradeImportant, GradeCore}
}

// String returns the stable machine code of the grade ("general3", "important"...).
func (g Grade) String() string {
	if names := gradeNames(); int(g) < len(names) {
		return names[g].code
	}
	return "unknown"
}

// ZH returns the Chinese name of the grade (一般数据3级, 重要数据...).
func (g Grade) ZH() string {
	names := gradeNames()
	if int(g) < len(names) {
		return names[g].zh
	}
	return names[0].zh
}

// EN returns the English name of the grade.
func (g Grade) EN() string {
	names := gradeNames()
	if int(g) < len(names) {
		return names[g].en
	}
	return names[0].en
}

// Valid reports whether g is an assignable grade (not unknown, not out of range).
func (g Grade) Valid() bool { return g >= GradeGeneral1 && g <= GradeCore }

// Effective returns the grade used for decisions: unknown grades count as core.
func (g Grade) Effective() Grade {
	if !g.Valid() {
		return GradeCore
	}
	return g
}

// Clearance returns the reader clearance (citybrain.Actor.Clearance, 1..5) needed to
// read the grade without a cap: 一般1..一般4 need 1..4, 重要 and 核心 need 5.
func (g Grade) Clearance() int {
	e := g.Effective()
	if e >= GradeImportant {
		return 5
	}
	return int(e)
}

// MarshalText encodes the grade as its machine code.
func (g Grade) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText decodes a machine code, a Chinese name or a short form (一般3, 重要, 核心, 3).
func (g *Grade) UnmarshalText(b []byte) error {
	x, err := ParseGrade(string(b))
	if err != nil {
		return err
	}
	*g = x
	return nil
}

// ParseGrade accepts "general3", "一般数据3级", "一般3", "3", "important", "重要数据", "重要",
// "core", "核心数据", "核心" (and the same for the other levels).
func ParseGrade(s string) (Grade, error) {
	s = strings.TrimSpace(s)
	for i, n := range gradeNames() {
		if s == n.code || s == n.zh || strings.EqualFold(s, n.en) {
			return Grade(i), nil
		}
	}
	switch s {
	case "一般1", "1", "L1":
		return GradeGeneral1, nil
	case "一般2", "2", "L2":
		return GradeGeneral2, nil
	case "一般3", "3", "L3":
		return GradeGeneral3, nil
	case "一般4", "4", "L4":
		return GradeGeneral4, nil
	case "重要", "5":
		return GradeImportant, nil
	case "核心", "6":
		return GradeCore, nil
	case "":
		return GradeUnknown, nil
	}
	return GradeUnknown, citybrain.FieldError("grade", "未知的数据级别 unknown grade %q", s)
}

// Category is a data class (分类). The set is open: departments may add their own,
// but the ones below drive detection, masking and the default policy.
type Category string

// The built-in categories.
const (
	CatPersonal          Category = "personal"           // 个人信息
	CatSensitivePersonal Category = "sensitive_personal" // 敏感个人信息 (PIPL art. 28: health, finance, whereabouts...)
	CatInfrastructure    Category = "infrastructure"     // 公共基础设施
	CatEnvironment       Category = "environment"        // 生态环境
	CatGovernment        Category = "government"         // 政务运行
	CatDevice            Category = "device"             // 设备运行
	CatPublicService     Category = "public_service"     // 公共服务
	CatPublicSafety      Category = "public_safety"      // 公共安全
	CatEconomy           Category = "economy"            // 经济运行
	CatOther             Category = "other"              // 其他
)

// CategoryInfo describes a category in both languages.
type CategoryInfo struct {
	Code Category `json:"code"`
	ZH   string   `json:"name_zh"`
	EN   string   `json:"name_en"`
	// Personal is true for the classes that hold personal information.
	Personal bool `json:"personal"`
}

// Categories lists the built-in categories.
func Categories() []CategoryInfo {
	return []CategoryInfo{
		{CatPersonal, "个人信息", "personal information", true},
		{CatSensitivePersonal, "敏感个人信息", "sensitive personal information", true},
		{CatInfrastructure, "公共基础设施", "public infrastructure", false},
		{CatEnvironment, "生态环境", "ecology and environment", false},
		{CatGovernment, "政务运行", "government operations", false},
		{CatDevice, "设备运行", "device operations", false},
		{CatPublicService, "公共服务", "public services", false},
		{CatPublicSafety, "公共安全", "public safety", false},
		{CatEconomy, "经济运行", "economic operation", false},
		{CatOther, "其他", "other", false},
	}
}

// ParseCategory accepts a code or a Chinese or English name of a built-in category.
func ParseCategory(s string) (Category, error) {
	s = strings.TrimSpace(s)
	for _, c := range Categories() {
		if s == string(c.Code) || s == c.ZH || strings.EqualFold(s, c.EN) {
			return c.Code, nil
		}
	}
	return "", citybrain.FieldError("category", "未知的数据分类 unknown category %q", s)
}

// Personal reports whether the category holds personal information.
func (c Category) Personal() bool { return c == CatPersonal || c == CatSensitivePersonal }

// ZH returns the Chinese name of a built-in category, or the code itself.
func (c Category) ZH() string {
	for _, x := range Categories() {
		if x.Code == c {
			return x.ZH
		}
	}
	return string(c)
}

// Sharing is the sharing attribute of a dataset under the government data-sharing
// rules (国发〔2016〕51号, 政务数据共享条例).
type Sharing string

// The three sharing attributes.
const (
	ShareUnconditional Sharing = "unconditional" // 无条件共享
	ShareConditional   Sharing = "conditional"   // 有条件共享: reason (legal basis, conditions) required
	ShareNone          Sharing = "none"          // 不予共享: reason (legal basis) required
)

// ZH returns the Chinese name of the sharing attribute.
func (s Sharing) ZH() string {
	switch s {
	case ShareUnconditional:
		return "无条件共享"
	case ShareConditional:
		return "有条件共享"
	case ShareNone:
		return "不予共享"
	}
	return string(s)
}

// ParseSharing accepts a code or the Chinese name.
func ParseSharing(s string) (Sharing, error) {
	switch strings.TrimSpace(s) {
	case "unconditional", "无条件共享", "无条件":
		return ShareUnconditional, nil
	case "conditional", "有条件共享", "有条件":
		return ShareConditional, nil
	case "none", "不予共享", "不共享":
		return ShareNone, nil
	}
	return "", citybrain.FieldError("sharing", "共享属性须为 无条件共享/有条件共享/不予共享 (unconditional, conditional, none), not %q", s)
}

// Column is one attribute of a dataset with its class and grade.
type Column struct {
	Name     string   `json:"name"`
	Label    string   `json:"label,omitempty"` // human title, e.g. the CSV header in Chinese
	Category Category `json:"category"`
	Grade    Grade    `json:"grade"`
	// PIKind names the kind of personal information the column holds (drives masking).
	PIKind PIKind `json:"pi_kind,omitempty"`
	// Mask overrides the masking method for the column ("" = by PIKind).
	Mask MaskMethod `json:"mask,omitempty"`
	// HouseholdKey marks the column that names the household a row belongs to; rows of
	// a home-device dataset are filtered by that household's consent.
	HouseholdKey bool `json:"household_key,omitempty"`
	// Confirmed is true once a person has accepted or set the classification.
	Confirmed bool `json:"confirmed"`
}

// Dataset is a catalog entry: a table of the platform or one a department brought in.
type Dataset struct {
	Name    string  `json:"name"`
	Title   string  `json:"title,omitempty"`
	Owner   string  `json:"owner"` // owning department code
	Sharing Sharing `json:"sharing"`
	// SharingReason is the legal basis or the conditions; required unless unconditional.
	SharingReason string `json:"sharing_reason,omitempty"`
	// HomeDevice is true for data from residents' homes (smart-home, elderly care), which
	// needs the household's consent for the reader's purpose.
	HomeDevice bool     `json:"home_device,omitempty"`
	Columns    []Column `json:"columns"`
	// Other classifies keys not listed in Columns (platform tables whose records grow
	// new fields); nil means such keys are dropped (default deny). Nested keys are
	// listed with dots: "reporters.phone".
	Other *Column `json:"other,omitempty"`
	// Platform marks the platform's own tables (catalogued in code, not imported).
	Platform bool `json:"platform,omitempty"`
	// Rows is the number of imported rows (0 for platform tables).
	Rows int64 `json:"rows,omitempty"`
}

// Grade returns the dataset's grade: the highest of its columns (就高从严). An empty
// dataset or any ungraded column makes it GradeUnknown.
func (d *Dataset) Grade() Grade {
	if len(d.Columns) == 0 {
		return GradeUnknown
	}
	g := GradeGeneral1
	for _, c := range d.Columns {
		if !c.Grade.Valid() {
			return GradeUnknown
		}
		if c.Grade > g {
			g = c.Grade
		}
	}
	return g
}

// Column returns the named column, or nil.
func (d *Dataset) Column(name string) *Column {
	for i := range d.Columns {
		if d.Columns[i].Name == name {
			return &d.Columns[i]
		}
	}
	return nil
}

// Validate checks the dataset for the mistakes a client can make.
func (d *Dataset) Validate() error {
	if strings.TrimSpace(d.Name) == "" {
		return citybrain.FieldError("name", "数据集名称不能为空 name is required")
	}
	if strings.TrimSpace(d.Owner) == "" {
		return citybrain.FieldError("owner", "须指定数据所有部门 owner department is required")
	}
	switch d.Sharing {
	case ShareUnconditional:
	case ShareConditional, ShareNone:
		if strings.TrimSpace(d.SharingReason) == "" {
			return citybrain.FieldError("sharing_reason", "%s须说明理由或依据 a reason is required for %s sharing", d.Sharing.ZH(), d.Sharing)
		}
	default:
		return citybrain.FieldError("sharing", "共享属性须为 无条件共享/有条件共享/不予共享 (unconditional, conditional, none), not %q", d.Sharing)
	}
	seen := make(map[string]bool, len(d.Columns))
	for _, c := range d.Columns {
		if strings.TrimSpace(c.Name) == "" {
			return citybrain.FieldError("columns", "列名不能为空 column name is required")
		}
		if seen[c.Name] {
			return citybrain.FieldError("columns", "列名重复 duplicate column %q", c.Name)
		}
		seen[c.Name] = true
		if c.Grade != GradeUnknown && !c.Grade.Valid() {
			return citybrain.FieldError("columns", "列 %q 的级别无效 invalid grade", c.Name)
		}
	}
	return nil
}
