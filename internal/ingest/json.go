package ingest

import (
	"bytes"
	"encoding/json"
)

// jsonUnmarshal decodes strictly: unknown fields are refused so that a typo in a field name is
// reported instead of silently ignored.
func jsonUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errTrailing = constError("trailing data after the JSON value")
