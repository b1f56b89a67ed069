package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)\.{0,3}\}`)

// OpenAPI returns the OpenAPI 3.0 document generated from the mounted routes, so it cannot
// drift from the code.
func (s *Server) OpenAPI() []byte {
	paths := map[string]map[string]any{}
	for _, rt := range s.Routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"tags":        []string{rt.Tag},
			"responses": map[string]any{
				"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		ok := map[string]any{"description": "success"}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Response), 0)}}
		}
		op["responses"].(map[string]any)["2XX"] = ok
		switch rt.Auth {
		case AuthPublic:
			op["security"] = []any{}
		case AuthDevice:
			op["security"] = []any{map[string]any{"deviceBasic": []string{}}}
		case AuthOptional:
			op["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}}
		default:
			if len(rt.Roles) > 0 {
				op["x-roles"] = rt.Roles
			}
		}
		if rt.Dataset != "" {
			op["x-dataset"] = rt.Dataset
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		qs := make([]string, 0, len(rt.Query))
		for q := range rt.Query {
			qs = append(qs, q)
		}
		sort.Strings(qs)
		for _, q := range qs {
			params = append(params, map[string]any{"name": q, "in": "query", "description": rt.Query[q], "schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request), 0)}}}
		}
		p := pathParam.ReplaceAllString(rt.Path, "{$1}")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "citybrain API", "version": s.cfg.Version, "description": "城市大脑 citybrain platform API. Errors: {\"error\": {\"code\", \"message\"}}."},
		"servers": []any{map[string]string{"url": "/"}},
		"paths":   paths,
		"security": []any{
			map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":      map[string]string{"type": "http", "scheme": "bearer"},
				"session":     map[string]string{"type": "apiKey", "in": "cookie", "name": sessionCookie},
				"deviceBasic": map[string]string{"type": "http", "scheme": "basic"},
			},
			"schemas": map[string]any{"Error": schemaOf(reflect.TypeOf(ErrorBody{}), 0)},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func operationID(rt Route) string {
	p := strings.NewReplacer("/api/v1/", "", "/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(rt.Path)
	return strings.ToLower(rt.Method) + "_" + p
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf describes a Go type as a JSON schema, following json tags.
func schemaOf(t reflect.Type, depth int) map[string]any {
	if depth > 6 {
		return map[string]any{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.Kind() == reflect.Int64 && t.String() == "time.Duration" {
			return map[string]any{"type": "integer", "description": "nanoseconds"}
		}
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			if n, _, _ := strings.Cut(tag, ","); n != "" {
				name = n
			}
			if f.Anonymous && tag == "" {
				for k, v := range schemaOf(f.Type, depth+1)["properties"].(map[string]any) {
					props[k] = v
				}
				continue
			}
			props[name] = schemaOf(f.Type, depth+1)
		}
		return map[string]any{"type": "object", "properties": props}
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}
