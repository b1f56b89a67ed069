package device

import (
	"embed"
	"fmt"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/citybrain/citybrain"
)

//go:embed profiles/*.yaml
var profileFS embed.FS

// Value kinds of a measurement.
const (
	KindNumber  = "number"  // any number in [Min, Max]
	KindBoolean = "boolean" // true/false, stored as 1/0
	KindEnum    = "enum"    // one of the listed integer codes
)

// Status keys every profile accepts: they update the device status and are stored as readings.
const (
	KeyBattery = "battery" // battery level, %
	KeyRSSI    = "rssi"    // received signal strength, dBm
	KeySignal  = "signal"  // signal quality, %
)

// EnumValue is one allowed code of an enum measurement.
type EnumValue struct {
	Code   int    `yaml:"code" json:"code"`
	NameZh string `yaml:"name_zh" json:"name_zh"`
	NameEn string `yaml:"name_en" json:"name_en"`
}

// Measurement is one quantity a profile reports.
type Measurement struct {
	Key    string      `yaml:"key" json:"key"`
	NameZh string      `yaml:"name_zh" json:"name_zh"`
	NameEn string      `yaml:"name_en" json:"name_en"`
	Unit   string      `yaml:"unit" json:"unit,omitempty"`
	Kind   string      `yaml:"kind" json:"kind"`
	Min    *float64    `yaml:"min" json:"min,omitempty"`
	Max    *float64    `yaml:"max" json:"max,omitempty"`
	Enum   []EnumValue `yaml:"enum" json:"enum,omitempty"`
	// Status marks the battery/rssi/signal keys shared by every profile.
	Status bool `yaml:"-" json:"status,omitempty"`
}

// Check validates one value against the measurement. It returns "" when the value is
// acceptable, otherwise a reason code (ReasonOutOfRange, ReasonNotBoolean, ReasonNotInEnum).
func (m *Measurement) Check(v float64) string {
	switch m.Kind {
	case KindBoolean:
		if v != 0 && v != 1 {
			return ReasonNotBoolean
		}
		return ""
	case KindEnum:
		for _, e := range m.Enum {
			if float64(e.Code) == v {
				return ""
			}
		}
		return ReasonNotInEnum
	}
	if (m.Min != nil && v < *m.Min) || (m.Max != nil && v > *m.Max) {
		return ReasonOutOfRange
	}
	return ""
}

// EventType is an event a profile emits (on devices/{id}/events).
type EventType struct {
	Code     string `yaml:"code" json:"code"`
	NameZh   string `yaml:"name_zh" json:"name_zh"`
	NameEn   string `yaml:"name_en" json:"name_en"`
	Severity string `yaml:"severity" json:"severity"`
}

// CommandType is a downlink command a profile accepts (on devices/{id}/commands).
type CommandType struct {
	Code   string   `yaml:"code" json:"code"`
	NameZh string   `yaml:"name_zh" json:"name_zh"`
	NameEn string   `yaml:"name_en" json:"name_en"`
	Params []string `yaml:"params" json:"params,omitempty"`
}

// Profile is a device type.
type Profile struct {
	Code          string        `yaml:"code" json:"code"`
	NameZh        string        `yaml:"name_zh" json:"name_zh"`
	NameEn        string        `yaml:"name_en" json:"name_en"`
	Category      string        `yaml:"category" json:"category"`
	DescriptionZh string        `yaml:"description_zh" json:"description_zh,omitempty"`
	IntervalS     int           `yaml:"interval_s" json:"interval_s"`
	Generic       bool          `yaml:"generic" json:"generic,omitempty"`
	Measurements  []Measurement `yaml:"measurements" json:"measurements"`
	Events        []EventType   `yaml:"events" json:"events"`
	Commands      []CommandType `yaml:"commands" json:"commands"`

	byKey map[string]*Measurement
}

// Interval is the expected report interval.
func (p *Profile) Interval() time.Duration { return time.Duration(p.IntervalS) * time.Second }

// Measurement returns the measurement named key (status keys included), or nil. For a generic
// profile an unknown key returns nil too: the caller decides (generic accepts any number).
// The lookup does not allocate when key is a string(bytes) conversion at the call site.
func (p *Profile) Measurement(key string) *Measurement { return p.byKey[key] }

// Event returns the event type code, or nil. Generic profiles accept any event code.
func (p *Profile) Event(code string) *EventType {
	for i := range p.Events {
		if p.Events[i].Code == code {
			return &p.Events[i]
		}
	}
	return nil
}

// Command returns the command type code, or nil.
func (p *Profile) Command(code string) *CommandType {
	for i := range p.Commands {
		if p.Commands[i].Code == code {
			return &p.Commands[i]
		}
	}
	return nil
}

// FacilityKind is a kind of facility devices are grouped under (a bridge, a gas valve well...).
type FacilityKind struct {
	Code   string `yaml:"code" json:"code"`
	NameZh string `yaml:"name_zh" json:"name_zh"`
	NameEn string `yaml:"name_en" json:"name_en"`
}

// Profiles is the read-only catalogue of profiles and facility kinds. Safe for concurrent use.
type Profiles struct {
	list      []*Profile
	byCode    map[string]*Profile
	kinds     []FacilityKind
	kindCodes map[string]bool
}

func fptr(v float64) *float64 { return &v }

// statusMeasurements returns fresh definitions of the keys every profile accepts.
func statusMeasurements() []Measurement {
	return []Measurement{
		{Key: KeyBattery, NameZh: "电量", NameEn: "Battery", Unit: "%", Kind: KindNumber, Min: fptr(0), Max: fptr(100), Status: true},
		{Key: KeyRSSI, NameZh: "信号强度", NameEn: "RSSI", Unit: "dBm", Kind: KindNumber, Min: fptr(-150), Max: fptr(0), Status: true},
		{Key: KeySignal, NameZh: "信号质量", NameEn: "Signal quality", Unit: "%", Kind: KindNumber, Min: fptr(0), Max: fptr(100), Status: true},
	}
}

// BuiltinProfiles parses the embedded profile catalogue.
func BuiltinProfiles() (*Profiles, error) {
	b, err := profileFS.ReadFile("profiles/builtin.yaml")
	if err != nil {
		return nil, fmt.Errorf("read builtin profiles: %w", err)
	}
	return ParseProfiles(b)
}

// ParseProfiles parses a YAML catalogue (same shape as profiles/builtin.yaml) and checks it.
func ParseProfiles(b []byte) (*Profiles, error) {
	var doc struct {
		FacilityKinds []FacilityKind `yaml:"facility_kinds"`
		Profiles      []*Profile     `yaml:"profiles"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "profile catalogue is not valid YAML: %v", err)
	}
	ps := &Profiles{byCode: map[string]*Profile{}, kinds: doc.FacilityKinds, kindCodes: map[string]bool{}}
	for _, k := range doc.FacilityKinds {
		ps.kindCodes[k.Code] = true
	}
	for _, p := range doc.Profiles {
		if !validCode(p.Code) {
			return nil, citybrain.Errorf(citybrain.EINVALID, "profile code %q must be 1-40 lower-case letters, digits or _", p.Code)
		}
		if ps.byCode[p.Code] != nil {
			return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s is defined twice", p.Code)
		}
		if p.IntervalS <= 0 {
			return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: interval_s must be positive", p.Code)
		}
		if p.NameZh == "" || p.NameEn == "" {
			return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: name_zh and name_en are required", p.Code)
		}
		p.Measurements = append(p.Measurements, statusMeasurements()...)
		p.byKey = make(map[string]*Measurement, len(p.Measurements))
		for i := range p.Measurements {
			m := &p.Measurements[i]
			if m.Kind == "" {
				m.Kind = KindNumber
			}
			switch m.Kind {
			case KindNumber, KindBoolean:
			case KindEnum:
				if len(m.Enum) == 0 {
					return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: enum measurement %s lists no values", p.Code, m.Key)
				}
			default:
				return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: measurement %s has unknown kind %q", p.Code, m.Key, m.Kind)
			}
			if !validCode(m.Key) {
				return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: measurement key %q must be lower-case letters, digits or _", p.Code, m.Key)
			}
			if p.byKey[m.Key] != nil {
				return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: measurement %s is defined twice", p.Code, m.Key)
			}
			if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
				return nil, citybrain.Errorf(citybrain.EINVALID, "profile %s: measurement %s has min > max", p.Code, m.Key)
			}
			p.byKey[m.Key] = m
		}
		ps.list = append(ps.list, p)
		ps.byCode[p.Code] = p
	}
	sort.Slice(ps.list, func(i, j int) bool { return ps.list[i].Code < ps.list[j].Code })
	return ps, nil
}

// Get returns the profile with the code, or nil.
func (ps *Profiles) Get(code string) *Profile { return ps.byCode[code] }

// List returns all profiles ordered by code. The caller must not modify them.
func (ps *Profiles) List() []*Profile { return ps.list }

// FacilityKinds returns the facility kinds.
func (ps *Profiles) FacilityKinds() []FacilityKind { return ps.kinds }

// ValidFacilityKind reports whether code names a facility kind.
func (ps *Profiles) ValidFacilityKind(code string) bool { return ps.kindCodes[code] }

// validCode accepts 1-40 characters of [a-z0-9_], starting with a letter.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
