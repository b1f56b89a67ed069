package assess

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/citybrain/citybrain"
	"gopkg.in/yaml.v3"
)

//go:embed templates/*.yaml
var templateFS embed.FS

// Templates returns the shipped indicator systems, validated.
func Templates() ([]*System, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var out []*System
	for _, e := range entries {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			return nil, err
		}
		s, err := ParseSystem(b)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ParseSystem reads a system from YAML or JSON and validates it.
func ParseSystem(b []byte) (*System, error) {
	var s System
	trim := strings.TrimSpace(string(b))
	var err error
	if strings.HasPrefix(trim, "{") {
		dec := json.NewDecoder(strings.NewReader(trim))
		dec.DisallowUnknownFields()
		err = dec.Decode(&s)
	} else {
		dec := yaml.NewDecoder(strings.NewReader(trim))
		dec.KnownFields(true)
		err = dec.Decode(&s)
	}
	if err != nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "指标体系无法解析 / cannot parse the indicator system: %v", err)
	}
	if err := s.Validate(KnownMetric); err != nil {
		return nil, err
	}
	return &s, nil
}
