package device

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
)

// Device is a registered device.
type Device struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Profile string `json:"profile"`
	// Area is the grid or community code the device belongs to.
	Area     string  `json:"area"`
	Lon      float64 `json:"lon"`
	Lat      float64 `json:"lat"`
	Address  string  `json:"address,omitempty"`
	Facility string  `json:"facility,omitempty"`
	// Household is set for home devices; consent is handled by the governance work.
	Household string    `json:"household,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Facility is something devices monitor and are grouped under: a bridge, a gas valve well,
// a pumping station. Alerts and charts can speak of the facility instead of the sensor.
type Facility struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Area      string    `json:"area"`
	Lon       float64   `json:"lon"`
	Lat       float64   `json:"lat"`
	Address   string    `json:"address,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Credential is the stored form of a device secret: only its SHA-256 hash.
type Credential struct {
	DeviceID  string
	Hash      [32]byte
	RotatedAt time.Time
}

// Filter selects devices in List. Empty fields match everything.
type Filter struct {
	Area     string
	Profile  string
	Facility string
	// Status is "online", "offline", "silent" or "disabled"; the caller resolves it with the
	// StatusTracker since status is live state, not registry data.
	Status string
	// After is the cursor: the last device ID of the previous page.
	After string
	Limit int
}

// Repository stores the registry. Implementations (internal/store) must be safe for concurrent
// use. Get/Update/Delete return an ENOTFOUND *citybrain.Error for an unknown ID and Create an
// ECONFLICT one for an existing ID. Devices are returned by value; the caller owns them.
type Repository interface {
	CreateDevice(ctx context.Context, d Device, c Credential) error
	GetDevice(ctx context.Context, id string) (Device, error)
	// ListDevices returns devices with ID > f.After in ID order, at most f.Limit of them.
	ListDevices(ctx context.Context, f Filter) ([]Device, error)
	UpdateDevice(ctx context.Context, d Device) error
	DeleteDevice(ctx context.Context, id string) error
	SetDeviceCredential(ctx context.Context, c Credential) error
	// DeviceCredentials returns every device's credential with its disabled flag and profile, to
	// fill the CredentialCache at start.
	DeviceCredentials(ctx context.Context) ([]CachedCredential, error)

	CreateFacility(ctx context.Context, f Facility) error
	GetFacility(ctx context.Context, id string) (Facility, error)
	ListFacilities(ctx context.Context, area string) ([]Facility, error)
}

// Input is what a caller gives to create a device; zero fields take defaults.
type Input struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Profile   string  `json:"profile"`
	Area      string  `json:"area"`
	Lon       float64 `json:"lon"`
	Lat       float64 `json:"lat"`
	Address   string  `json:"address"`
	Facility  string  `json:"facility"`
	Household string  `json:"household"`
}

// Patch is a partial update: nil fields are left alone.
type Patch struct {
	Name      *string  `json:"name"`
	Profile   *string  `json:"profile"`
	Area      *string  `json:"area"`
	Lon       *float64 `json:"lon"`
	Lat       *float64 `json:"lat"`
	Address   *string  `json:"address"`
	Facility  *string  `json:"facility"`
	Household *string  `json:"household"`
	Disabled  *bool    `json:"disabled"`
}

// ReservedIDs are device IDs the broker uses itself.
func ReservedIDs() []string { return []string{"inline", "citybrain", "server", "platform"} }

// ValidID checks a device ID: 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit.
// The set excludes the MQTT topic characters / + # and the client-ID separator |, so a device ID
// can be a topic level and a client-ID namespace.
func ValidID(id string) error {
	if id == "" {
		return citybrain.FieldError("id", "设备编号不能为空 / the device id is required")
	}
	if len(id) > 64 {
		return citybrain.FieldError("id", "设备编号最长64个字符 / the device id is longer than 64 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '-' || c == '.'))
		if !ok {
			return citybrain.FieldError("id", "设备编号只能包含字母、数字、_ - . / the device id may contain only letters, digits, _ - . (not first): %q", id)
		}
	}
	for _, r := range ReservedIDs() {
		if strings.EqualFold(id, r) {
			return citybrain.FieldError("id", "设备编号 %q 为系统保留 / the device id %q is reserved", id, id)
		}
	}
	return nil
}

func validateText(field, v string, max int) error {
	if utf8.RuneCountInString(v) > max {
		return citybrain.FieldError(field, "最长%d个字符 / at most %d characters", max, max)
	}
	if !utf8.ValidString(v) {
		return citybrain.FieldError(field, "不是有效的UTF-8文本 / not valid UTF-8")
	}
	return nil
}

func validatePoint(lon, lat float64) error {
	if lon < -180 || lon > 180 {
		return citybrain.FieldError("lon", "经度须在-180到180之间 / longitude must be within [-180, 180]")
	}
	if lat < -90 || lat > 90 {
		return citybrain.FieldError("lat", "纬度须在-90到90之间 / latitude must be within [-90, 90]")
	}
	return nil
}

// validate checks a device against the catalogue.
func (d *Device) validate(ps *Profiles) error {
	if err := ValidID(d.ID); err != nil {
		return err
	}
	if d.Profile == "" {
		return citybrain.FieldError("profile", "设备型号不能为空 / the profile is required")
	}
	if ps.Get(d.Profile) == nil {
		return citybrain.FieldError("profile", "未知的设备型号 %q / unknown profile %q (GET /api/v1/profiles lists them)", d.Profile, d.Profile)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", d.Name, 100}, {"area", d.Area, 64}, {"address", d.Address, 200}, {"facility", d.Facility, 64}, {"household", d.Household, 64}} {
		if err := validateText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	return validatePoint(d.Lon, d.Lat)
}
