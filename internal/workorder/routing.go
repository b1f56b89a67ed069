package workorder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// Proposal is the assistant's triage of a report's text.
type Proposal struct {
	Category    string   `json:"category"`
	Subcategory string   `json:"subcategory,omitempty"`
	Confidence  float64  `json:"confidence"`
	Urgency     Priority `json:"urgency,omitempty"`
	Department  string   `json:"department,omitempty"`
	Reasons     []string `json:"reasons,omitempty"`
}

// Triager proposes a category, urgency and department for a report. The offline classifier
// and a model-backed one both implement it. An error (or a timeout of ctx) makes the
// service send the order to the human triage queue; it never fails the report.
type Triager interface {
	Triage(ctx context.Context, text string) (Proposal, error)
}

// TriagerFunc adapts a function to Triager.
type TriagerFunc func(ctx context.Context, text string) (Proposal, error)

// Triage calls f.
func (f TriagerFunc) Triage(ctx context.Context, text string) (Proposal, error) { return f(ctx, text) }

// Locator maps a point (WGS84 longitude, latitude) to the grid, community and street codes
// that contain it; ok is false outside the district.
type Locator func(lon, lat float64) (grid, community, street string, ok bool)

// Notice is a message for a reporter or a unit about an order.
type Notice struct {
	OrderID    int64
	TrackingNo string
	Kind       Action // the action that caused it (dispatch, remind, escalate, close, ...)
	// To is one of: "reporter" (Reporter set), "dept" (Dept set), "operator".
	To       string
	Reporter *Reporter
	Dept     string
	Text     string // Chinese first, English beside
	At       time.Time
}

// Notifier delivers notices (SMS, the UI's live push, the bus). Errors are logged by the
// caller's Notifier; the service does not retry.
type Notifier func(ctx context.Context, n Notice)

// CatalogueEntry is one line of the dispatch catalogue (派单目录): which unit leads orders
// of a category (or subcategory), which assist.
type CatalogueEntry struct {
	Category    string   `json:"category"`
	Lead        string   `json:"lead"`
	Assist      []string `json:"assist,omitempty"`
	NoteZh      string   `json:"note_zh,omitempty"`
	UpdatedBy   string   `json:"updated_by,omitempty"`
	UpdatedAtTS string   `json:"updated_at,omitempty"`
}

// Catalogue is the dispatch catalogue, keyed by category code. It is a value; the service
// replaces it whole under its lock.
type Catalogue map[string]CatalogueEntry

// DefaultCatalogue derives the catalogue from the taxonomy's default departments.
func DefaultCatalogue(d *Dictionary) Catalogue {
	c := Catalogue{}
	for _, cat := range d.Categories() {
		if cat.Department != "" {
			c[cat.Code] = CatalogueEntry{Category: cat.Code, Lead: cat.Department}
		}
	}
	return c
}

// Entries returns the entries sorted by category.
func (c Catalogue) Entries() []CatalogueEntry {
	out := make([]CatalogueEntry, 0, len(c))
	for _, e := range c {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Category < out[j].Category })
	return out
}

// Route returns the lead and assisting units for a (sub)category: the subcategory's entry,
// else its ancestors', else the street office.
func (c Catalogue) Route(d *Dictionary, category, subcategory string) (lead string, assist []string) {
	for _, code := range []string{subcategory, category} {
		for i := 0; code != "" && i < 16; i++ {
			if e, ok := c[code]; ok && e.Lead != "" {
				return e.Lead, append([]string(nil), e.Assist...)
			}
			cat, ok := d.Category(code)
			if !ok {
				break
			}
			code = cat.Parent
		}
	}
	return StreetOffice, nil
}

// EarthRadiusM is the mean Earth radius used by Haversine.
const EarthRadiusM = 6371008.8

// Haversine returns the great-circle distance in metres between two WGS84 points.
func Haversine(lon1, lat1, lon2, lat2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// boundingBox returns a box that contains every point within r metres of (lon, lat).
func boundingBox(lon, lat, r float64) (minLon, minLat, maxLon, maxLat float64) {
	dLat := r / EarthRadiusM * 180 / math.Pi
	cos := math.Cos(lat * math.Pi / 180)
	if cos < 0.01 {
		cos = 0.01
	}
	dLon := dLat / cos
	return lon - dLon, lat - dLat, lon + dLon, lat + dLat
}

// TrackingNumber formats the citizen-facing number: the date (YYYYMMDD, in the calendar's
// timezone) and a daily sequence of at least five digits, e.g. 2026112800123. It is easy to
// read out on the phone and is not a secret; following or rating an order also needs the
// token from NewToken.
func TrackingNumber(day time.Time, seq int64) string {
	return fmt.Sprintf("%s%05d", day.Format("20060102"), seq)
}

// ValidTrackingNumber reports whether s looks like a tracking number.
func ValidTrackingNumber(s string) bool {
	if len(s) < 13 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// NewToken returns a random secret token (20 bytes, base32 without padding, 32 characters)
// read from r and its SHA-256 hash for storage.
func NewToken(r io.Reader) (token, hash string, err error) {
	b := make([]byte, 20)
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	token = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(token))))
	return hex.EncodeToString(s[:])
}

func checkDept(d *Dictionary, code string) error {
	if code == "" {
		return citybrain.FieldError("dept", "缺少承办单位 lead unit missing")
	}
	if _, ok := d.Department(code); !ok {
		return citybrain.FieldError("dept", "单位不存在 unknown unit %q", code)
	}
	return nil
}
