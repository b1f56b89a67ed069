package rule

import (
	"errors"
	"strings"
	"testing"

	"github.com/citybrain/citybrain"
)

func testCatalog(p string) (ProfileInfo, bool) {
	switch p {
	case "waterlogging":
		return ProfileInfo{Measurements: []string{"level_cm", "battery"}}, true
	case "air_quality":
		return ProfileInfo{Measurements: []string{"pm25", "pm10"}}, true
	case "door_sensor":
		return ProfileInfo{Measurements: []string{"battery"}, Events: []string{"door_open", "motion"}}, true
	case "generic":
		return ProfileInfo{AnyMeasurement: true}, true
	}
	return ProfileInfo{}, false
}

func TestValidateCondition(t *testing.T) {
	tests := []struct {
		name      string
		profile   string
		cond      string
		line, col int    // 0 = valid
		contains  string // in the English message
	}{
		{"simple", "waterlogging", "level_cm > 30", 0, 0, ""},
		{"and", "air_quality", "pm25 > 75 && pm10 > 150", 0, 0, ""},
		{"window avg", "air_quality", `avg("pm25", "15m") > 75`, 0, 0, ""},
		{"window min max shadow builtins", "air_quality", `min("pm25", "1h") > 10 and max("pm10","1h") < 500`, 0, 0, ""},
		{"delta", "waterlogging", `delta("level_cm", "10m") > 10`, 0, 0, ""},
		{"arith and abs", "waterlogging", `abs(level_cm - 30) < 2 || level_cm * 2 >= 100`, 0, 0, ""},
		{"ternary", "waterlogging", `battery < 10 ? level_cm > 20 : level_cm > 30`, 0, 0, ""},
		{"generic any name", "generic", `foo_bar > 1`, 0, 0, ""},
		{"unknown measurement", "waterlogging", "level_cm > 30 && levl > 3", 1, 18, `unknown measurement "levl"`},
		{"unknown measurement in window", "air_quality", `avg("pm2.5", "15m") > 75`, 1, 5, `unknown measurement "pm2.5"`},
		{"syntax error", "waterlogging", "level_cm > > 30", 1, 12, "unexpected token"},
		{"second line", "waterlogging", "level_cm > 30 &&\n  battery <", 2, 11, ""},
		{"not bool", "waterlogging", "level_cm + 1", 1, 1, "bool"},
		{"unknown function", "waterlogging", `median("level_cm", "5m") > 3`, 1, 1, "unknown function median"},
		{"window arity", "waterlogging", `avg("level_cm") > 3`, 1, 1, "two arguments"},
		{"window non literal", "waterlogging", `avg(level_cm, "5m") > 3`, 1, 5, "quoted measurement"},
		{"window bad duration", "waterlogging", `avg("level_cm", "forever") > 3`, 1, 17, "duration"},
		{"window too long", "waterlogging", `avg("level_cm", "48h") > 3`, 1, 17, "duration"},
		{"range refused", "waterlogging", `level_cm in 1..100000000`, 1, 14, "not allowed"},
		{"closure refused", "waterlogging", `all([1,2], # > 0) && level_cm > 1`, 1, 1, "not allowed"},
		{"let refused", "waterlogging", `let x = level_cm; x > 1`, 1, 5, "not allowed"},
		{"member refused", "waterlogging", `level_cm.foo > 1`, 1, 10, "not allowed"},
		{"string compare", "waterlogging", `level_cm > "a"`, 1, 10, ""},
		{"reserved prefix", "generic", `__w0 > 1`, 1, 1, "__"},
		{"too many nodes", "generic", strings.Repeat("x+", 150) + "1 > 0", 1, 0, ""},
		{"chinese column counts runes", "generic", "水位 > 30 && 水位 >", 1, 15, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(Rule{ID: "r", Name: "规则", Profile: tt.profile, Condition: tt.cond, Severity: SeverityWarning}, testCatalog)
			if tt.line == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ce *ConditionError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ConditionError, got %T %v", err, err)
			}
			if citybrain.ErrorCode(err) != citybrain.EINVALID || citybrain.ErrorField(err) != "condition" {
				t.Errorf("code %q field %q", citybrain.ErrorCode(err), citybrain.ErrorField(err))
			}
			if ce.Line != tt.line || (tt.col != 0 && ce.Column != tt.col) {
				t.Errorf("position %d:%d, want %d:%d (%s)\n%s", ce.Line, ce.Column, tt.line, tt.col, ce.Message, ce.Snippet)
			}
			if !strings.Contains(ce.Message, tt.contains) {
				t.Errorf("message %q lacks %q", ce.Message, tt.contains)
			}
			if ce.MessageZH == "" || !strings.Contains(ce.Snippet, "^") {
				t.Errorf("missing Chinese message or caret: %+v", ce)
			}
			// the caret sits under the reported column
			lines := strings.Split(ce.Snippet, "\n")
			if got := len([]rune(lines[len(lines)-1])); got != ce.Column {
				t.Errorf("caret at %d, column %d", got, ce.Column)
			}
		})
	}
}

func TestValidateFields(t *testing.T) {
	base := func() Rule {
		return Rule{ID: "r", Name: "积水", Profile: "waterlogging", Condition: "level_cm > 30", Severity: SeverityCritical}
	}
	tests := []struct {
		name  string
		edit  func(r *Rule)
		field string // "" = valid
	}{
		{"valid", func(r *Rule) {}, ""},
		{"no name", func(r *Rule) { r.Name = " " }, "name"},
		{"long name counts runes", func(r *Rule) { r.Name = strings.Repeat("水", 100) }, ""},
		{"too long name", func(r *Rule) { r.Name = strings.Repeat("水", 101) }, "name"},
		{"unknown profile", func(r *Rule) { r.Profile = "spaceship" }, "profile"},
		{"bad severity", func(r *Rule) { r.Severity = "fatal" }, "severity"},
		{"negative for", func(r *Rule) { r.For = -1 }, "for"},
		{"bad kind", func(r *Rule) { r.Kind = "magic" }, "kind"},
		{"absence needs activity", func(r *Rule) {
			r.Kind, r.Condition, r.Profile, r.For = KindAbsence, "", "door_sensor", Duration(3600e9)
		}, "activity"},
		{"absence unknown event", func(r *Rule) {
			r.Kind, r.Condition, r.Profile, r.For, r.Activity = KindAbsence, "", "door_sensor", Duration(3600e9), []string{"teleport"}
		}, "activity"},
		{"absence measurement ok", func(r *Rule) {
			r.Kind, r.Condition, r.Profile, r.For, r.Activity = KindAbsence, "", "door_sensor", Duration(3600e9), []string{"battery", "motion"}
		}, ""},
		{"absence bad window", func(r *Rule) {
			r.Kind, r.Condition, r.Profile, r.For, r.Activity = KindAbsence, "", "door_sensor", Duration(3600e9), []string{"motion"}
			r.DailyWindow = &DailyWindow{Start: "8", End: "20:00"}
		}, "daily_window"},
		{"absence with condition", func(r *Rule) {
			r.Kind, r.Profile, r.For, r.Activity = KindAbsence, "door_sensor", Duration(3600e9), []string{"motion"}
		}, "condition"},
		{"offline needs for", func(r *Rule) { r.Kind, r.Condition = KindOffline, "" }, "for"},
		{"work order needs category", func(r *Rule) { r.OpenWorkOrder = true }, "work_order_category"},
		{"empty condition", func(r *Rule) { r.Condition = "" }, "condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.edit(&r)
			err := Validate(r, testCatalog)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if citybrain.ErrorCode(err) != citybrain.EINVALID || citybrain.ErrorField(err) != tt.field {
				t.Fatalf("want EINVALID on %q, got %v (field %q)", tt.field, err, citybrain.ErrorField(err))
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]string{`"2m"`: "2m", `"1h30m"`: "1h30m", `90`: "1m30s", `"1d"`: "24h", `"12h"`: "12h"} {
		var d Duration
		if err := d.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if d.String() != want {
			t.Errorf("%s: got %s want %s", in, d, want)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("want error for \"soon\"")
	}
}

// FuzzCompile: conditions come from users; compiling must never panic and either succeed
// or return a positioned ConditionError or a field error.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"level_cm > 30", `avg("pm25","15m") > 75`, "a &&", "((((", `"\u6c34"`, "1..2", "x ? y : z", `delta("a",`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		_, err := compile(Rule{ID: "r", Name: "n", Profile: "generic", Condition: cond, Severity: SeverityInfo}, testCatalog)
		if err == nil {
			return
		}
		var ce *ConditionError
		if errors.As(err, &ce) {
			if ce.Line < 1 || ce.Column < 1 {
				t.Fatalf("bad position %+v", ce)
			}
			return
		}
		if citybrain.ErrorCode(err) != citybrain.EINVALID {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
