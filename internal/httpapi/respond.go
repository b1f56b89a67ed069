package httpapi

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
)

// StatusOf maps a citybrain error code to its HTTP status: the one mapping of the platform.
func StatusOf(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case citybrain.EINVALID:
		return http.StatusBadRequest
	case citybrain.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case citybrain.EFORBIDDEN, citybrain.EDENIED:
		return http.StatusForbidden
	case citybrain.ENOTFOUND:
		return http.StatusNotFound
	case citybrain.ECONFLICT:
		return http.StatusConflict
	case citybrain.EGONE:
		return http.StatusGone
	case citybrain.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case citybrain.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case citybrain.ETOOMANY:
		return http.StatusTooManyRequests
	case citybrain.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the one error shape of the API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// WriteError writes err in the API's error shape (for handlers mounted outside the table).
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = normalizeError(err)
	code := citybrain.ErrorCode(err)
	status := StatusOf(code)
	if status >= 500 {
		s.log.Error("request failed", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.clientErrs.WithLabelValues(code).Inc()
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="citybrain"`)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: citybrain.ErrorMessage(err), Field: citybrain.ErrorField(err), RequestID: RequestID(r.Context())}})
}

// normalizeError turns transport errors caused by the client into citybrain errors.
func normalizeError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return citybrain.Errorf(citybrain.ETOOLARGE, "request body is larger than %d bytes", mbe.Limit)
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// JSON writes v as JSON with the status, without governance filtering. Use it for
// responses that carry no stored data (acknowledgements, ids, configuration).
func JSON(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, status, v)
	return nil
}

// Reply writes v as JSON; when the route declares a Dataset, v first passes through the
// governance Guard with the acting user. Every handler that returns stored records uses it.
func (s *Server) Reply(w http.ResponseWriter, r *http.Request, status int, v any) error {
	rt := RouteFrom(r.Context())
	if rt == nil || rt.Dataset == "" || s.guard == nil {
		writeJSON(w, status, v)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	out, err := s.guard.Filter(r.Context(), citybrain.ActorFrom(r.Context()), rt.Dataset, generic)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// Filter passes v through the Guard for dataset (for exports and streams that do not use Reply).
func (s *Server) Filter(r *http.Request, dataset string, v any) (any, error) {
	if s.guard == nil || dataset == "" {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	return s.guard.Filter(r.Context(), citybrain.ActorFrom(r.Context()), dataset, generic)
}

// DecodeJSON reads a JSON body into v, refusing unknown fields, trailing data and
// non-JSON content types with errors that say what to fix.
func DecodeJSON(r *http.Request, v any) error {
	// Bodies are read as JSON whatever the Content-Type says (curl -d sends form encoding),
	// but multipart and XML bodies are refused outright.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || strings.HasPrefix(mt, "multipart/") || strings.Contains(mt, "xml") {
			return citybrain.Errorf(citybrain.EUNSUPPORTED, "Content-Type must be application/json, got %q", ct)
		}
	}
	br := bufio.NewReader(r.Body)
	for {
		b, err := br.Peek(1)
		if err != nil || (b[0] != ' ' && b[0] != '\t' && b[0] != '\r' && b[0] != '\n') {
			break
		}
		_, _ = br.ReadByte()
	}
	// null decodes into the zero value without complaint: refuse it as the empty body it is.
	if b, _ := br.Peek(4); string(b) == "null" {
		return citybrain.Errorf(citybrain.EINVALID, "request body is null: send a JSON object")
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return citybrain.Errorf(citybrain.EINVALID, "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return citybrain.Errorf(citybrain.ETOOLARGE, "request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return citybrain.Errorf(citybrain.EINVALID, "request body is empty: send a JSON object")
	case errors.As(err, &se):
		return citybrain.Errorf(citybrain.EINVALID, "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return citybrain.Errorf(citybrain.EINVALID, "the request body must be a JSON %s, got %s", jsonKind(te.Type), te.Value)
		}
		return citybrain.FieldError(te.Field, "field %q must be %s, got %s", te.Field, jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return citybrain.Errorf(citybrain.EINVALID, "%s", strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return citybrain.Errorf(citybrain.EINVALID, "malformed JSON: unexpected end of body")
	default:
		return citybrain.Errorf(citybrain.EINVALID, "malformed JSON: %v", err)
	}
}

// jsonKind names the JSON kind a Go type decodes from, for messages a client can act on.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

// Page is a page of a list with an opaque cursor for the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// PageParams reads ?limit= (1–1000, default 100) and ?cursor= (opaque).
func PageParams(r *http.Request) (limit int, cursor string, err error) {
	limit = 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return 0, "", citybrain.FieldError("limit", "limit must be a whole number from 1 to 1000")
		}
		limit = n
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return 0, "", citybrain.FieldError("cursor", "cursor is not one this API issued")
		}
		cursor = string(b)
	}
	return limit, cursor, nil
}

// EncodeCursor makes an opaque cursor from a position key.
func EncodeCursor(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// CursorInt64 reads an integer cursor position (0 when empty).
func CursorInt64(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil {
		return 0, citybrain.FieldError("cursor", "cursor is not one this API issued")
	}
	return n, nil
}

// PathInt64 reads an integer path value, with a 404-style error for a malformed id.
func PathInt64(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, citybrain.Errorf(citybrain.ENOTFOUND, "%s %q not found", name, v)
	}
	return n, nil
}

// The epoch milliseconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
const (
	minEpochMilli = -62135596800000
	maxEpochMilli = 253402300799999
)

// ParseTime reads an RFC 3339 time or epoch milliseconds.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// Years 1–9999 only: times outside them cannot be written back as RFC 3339.
		if n < minEpochMilli || n > maxEpochMilli {
			return time.Time{}, citybrain.FieldError(field, "%s %d is outside the years 1–9999 of epoch milliseconds", field, n)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	// A '+' offset sent unencoded arrives as a space (query strings decode '+' as ' ').
	if i := strings.LastIndexByte(s, ' '); i > 0 && strings.IndexByte(s[:i], 'T') > 0 {
		s = s[:i] + "+" + s[i+1:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, citybrain.FieldError(field, "%s must be RFC 3339 (2026-11-28T08:00:00+08:00) or epoch milliseconds, got %q", field, s)
	}
	if u := t.UTC(); u.Year() < 1 || u.Year() > 9999 {
		return time.Time{}, citybrain.FieldError(field, "%s %q is outside the years 1–9999", field, s)
	}
	return t, nil
}
