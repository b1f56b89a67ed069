package workorder

import (
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

func TestMediaRules(t *testing.T) {
	refs := []struct {
		ref string
		ok  bool
	}{
		{"/api/v1/workorder-media/0123456789abcdef0123456789abcdef", true},
		{"https://img.example.cn/a.jpg", true},
		{"http://img.example.cn/a.jpg?x=1", true},
		{"javascript:alert(1)", false},
		{"data:image/png;base64,AAAA", false},
		{"//evil.example/a.jpg", false},
		{"/a.jpg\" onerror=\"x", false},
		{"https:///nohost", false},
		{"", false},
	}
	for _, tc := range refs {
		if got := ValidMediaRef(tc.ref); got != tc.ok {
			t.Errorf("ValidMediaRef(%q) = %v, want %v", tc.ref, got, tc.ok)
		}
	}
	now := time.Unix(0, 0)
	tests := []struct {
		ct   string
		size int
		code string
	}{
		{"image/jpeg", 10, ""},
		{"image/png", MaxMediaBytes, ""},
		{"image/png", MaxMediaBytes + 1, citybrain.ETOOLARGE},
		{"text/html; charset=utf-8", 10, citybrain.EUNSUPPORTED},
		{"image/svg+xml", 10, citybrain.EUNSUPPORTED},
		{"image/png", 0, citybrain.EINVALID},
	}
	for _, tc := range tests {
		m, err := NewMedia(tc.ct, make([]byte, tc.size), 1, now, nil)
		if citybrain.ErrorCode(err) != tc.code {
			t.Errorf("NewMedia(%s, %d): %v, want %q", tc.ct, tc.size, err, tc.code)
		}
		if err == nil && (!ValidMediaID(m.ID) || m.Size != tc.size || len(m.SHA256) != 64) {
			t.Errorf("media %+v", m)
		}
	}
	if ValidMediaID("xyz") || ValidMediaID("0123456789abcdef0123456789abcdeg") {
		t.Error("ValidMediaID accepts junk")
	}
}
