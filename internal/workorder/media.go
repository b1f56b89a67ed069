package workorder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// Media is a photo attached to a report, a unit's feedback or a verification. Its ID is a
// random 128-bit hex string, so a photo's address is not guessable from another's.
type Media struct {
	ID          string    `json:"id"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
	UploadedBy  int64     `json:"uploaded_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	Data        []byte    `json:"-"`
}

// MediaRepository stores photos. GetMedia returns ENOTFOUND for an unknown id.
type MediaRepository interface {
	PutMedia(ctx context.Context, m *Media) error
	GetMedia(ctx context.Context, id string) (*Media, error)
}

// MaxMediaBytes caps one photo (5 MiB).
const MaxMediaBytes = 5 << 20

// NewMedia validates a photo whose content type was sniffed by the caller (JPEG, PNG, WebP
// or GIF only) and gives it an id.
func NewMedia(contentType string, data []byte, uploader int64, now time.Time, random io.Reader) (*Media, error) {
	if len(data) == 0 {
		return nil, citybrain.FieldError("file", "文件为空 / the file is empty")
	}
	if len(data) > MaxMediaBytes {
		return nil, citybrain.Errorf(citybrain.ETOOLARGE, "照片不能超过5MB / photos are limited to 5 MiB")
	}
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	switch ct {
	case "image/jpeg", "image/png", "image/webp", "image/gif":
	default:
		return nil, citybrain.Errorf(citybrain.EUNSUPPORTED, "仅支持 JPEG、PNG、WebP、GIF 照片 / only JPEG, PNG, WebP or GIF photos, got %s", ct)
	}
	b := make([]byte, 16)
	if random == nil {
		random = rand.Reader
	}
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &Media{ID: hex.EncodeToString(b), ContentType: ct, Size: len(data), SHA256: hex.EncodeToString(sum[:]),
		UploadedBy: uploader, CreatedAt: now, Data: data}, nil
}

// ValidMediaID reports whether id has the form NewMedia gives.
func ValidMediaID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// ValidMediaRef reports whether s may be stored as a photo reference: a path on this
// server ("/api/v1/workorder-media/…") or an http(s) URL, at most 2000 bytes. Other schemes
// (javascript:, data:) are refused so UIs can put references into img src safely.
func ValidMediaRef(s string) bool {
	if s == "" || len(s) > 2000 || strings.ContainsAny(s, " \t\r\n\"'<>\\") {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func checkMediaRefs(field string, refs []string) error {
	for _, r := range refs {
		if !ValidMediaRef(r) {
			return citybrain.FieldError(field, "照片地址无效 / %q is not a photo reference (a /path on this server or an http(s) URL)", r)
		}
	}
	return nil
}
