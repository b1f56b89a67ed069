// Package httpapi is the platform's HTTP surface: the route table (every route declares its
// method, path, summary, who may call it and which catalogued dataset it returns), one
// middleware chain (request ids, logging, panic recovery, body limits, authentication,
// role checks, CSRF for cookie sessions, metrics), one mapping from citybrain error codes to
// statuses and JSON bodies, and the OpenAPI document generated from the route table.
// Handlers return error. A *Server is safe for concurrent use once Handler is called;
// Mount must happen before.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Auth says how a route authenticates its caller.
type Auth int

const (
	// AuthUser requires a signed-in user (session cookie or Bearer API token) with one of Roles.
	AuthUser Auth = iota
	// AuthPublic needs no credentials.
	AuthPublic
	// AuthDevice requires the credentials of the device named by the {id} path value.
	AuthDevice
	// AuthOptional accepts anonymous callers but resolves a user when credentials are sent.
	AuthOptional
)

// Route is one operation of the API.
type Route struct {
	Method  string
	Path    string // a net/http ServeMux pattern path, e.g. /api/v1/devices/{id}
	Summary string // one line, shown in the OpenAPI document
	Tag     string
	Auth    Auth
	// Roles allowed for AuthUser routes; empty means any signed-in user.
	Roles []string
	// Dataset names the governance catalog entry of the records the route returns; Reply
	// passes such responses through the Guard.
	Dataset string
	// Request and Response are example values whose types document the bodies in OpenAPI.
	Request  any
	Response any
	// Query documents query parameters: name → description.
	Query map[string]string
	// MaxBody caps the request body (default 1 MiB).
	MaxBody int64
	// Raw marks routes whose handler writes non-JSON (CSV, SSE, files).
	Raw    bool
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// Guard decides, for every response that carries stored data, what the caller may see.
// Filter receives the response as generic JSON (maps, slices, strings, float64s) and returns
// the filtered value; it must not retain v. An error aborts the response.
type Guard interface {
	Filter(ctx context.Context, actor *citybrain.Actor, dataset string, v any) (any, error)
}

// DeviceAuthenticator checks a device's id and secret.
type DeviceAuthenticator func(ctx context.Context, id, secret string) (*citybrain.Actor, error)

// ReadyCheck is a named dependency probe for /readyz.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config configures the server.
type Config struct {
	// SecureCookies forces the Secure attribute on session cookies even without TLS.
	SecureCookies bool
	// DefaultMaxBody caps request bodies for routes without MaxBody (default 1 MiB).
	DefaultMaxBody int64
	Version        string
}

// Server holds the mounted routes and their collaborators.
type Server struct {
	cfg        Config
	log        *slog.Logger
	access     *access.Service
	routes     []Route
	raw        []rawMount
	guard      Guard
	deviceAuth DeviceAuthenticator
	ready      []ReadyCheck
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	clientErrs *prometheus.CounterVec
}

type rawMount struct {
	pattern string
	h       http.Handler
}

// New returns a server. reg receives the HTTP metrics and is served at /metrics.
func New(cfg Config, log *slog.Logger, acc *access.Service, reg *prometheus.Registry) *Server {
	if cfg.DefaultMaxBody <= 0 {
		cfg.DefaultMaxBody = 1 << 20
	}
	s := &Server{cfg: cfg, log: log, access: acc, reg: reg}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "citybrain_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"route"})
	s.clientErrs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_http_client_errors_total", Help: "Requests refused for a client mistake, by error code."}, []string{"code"})
	reg.MustRegister(s.requests, s.latency, s.clientErrs)
	s.Mount(s.accessRoutes()...)
	return s
}

// Registry returns the metrics registry, for packages that add their own metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// SetGuard installs the governance guard.
func (s *Server) SetGuard(g Guard) { s.guard = g }

// SetDeviceAuth installs the device credential check for AuthDevice routes.
func (s *Server) SetDeviceAuth(f DeviceAuthenticator) { s.deviceAuth = f }

// AddReadyCheck adds a dependency probe to /readyz.
func (s *Server) AddReadyCheck(c ReadyCheck) { s.ready = append(s.ready, c) }

// Mount adds routes.
func (s *Server) Mount(rs ...Route) { s.routes = append(s.routes, rs...) }

// MountHandler adds a handler outside the route table (the web UI, Open311, live push).
// Such handlers do their own authentication.
func (s *Server) MountHandler(pattern string, h http.Handler) {
	s.raw = append(s.raw, rawMount{pattern, h})
}

// Routes returns the mounted routes sorted by path and method.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Handler builds the http.Handler of all mounted routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// known answers "which methods does this path take" for the 405 of the /api/ fallback.
	known := http.NewServeMux()
	for i := range s.routes {
		rt := &s.routes[i]
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		known.Handle(rt.Method+" "+rt.Path, http.NotFoundHandler())
	}
	known.Handle("GET /api/v1/openapi.json", http.NotFoundHandler())
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.OpenAPI())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	for _, m := range s.raw {
		mux.Handle(m.pattern, m.h)
	}
	// Unknown /api paths get the JSON error shape rather than the mux's text 404; a known
	// path with another method gets 405 with the Allow header (RFC 9110 §15.5.6).
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(known, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.clientErrs.WithLabelValues(codeMethodNotAllowed).Inc()
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: codeMethodNotAllowed,
				Message:   fmt.Sprintf("%s %s 不支持此方法 / method %s not allowed: use %s", r.Method, r.URL.Path, r.Method, strings.Join(allow, ", ")),
				RequestID: RequestID(r.Context())}})
			return
		}
		s.writeError(w, r, citybrain.Errorf(citybrain.ENOTFOUND, "no API route %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	return s.outer(mux)
}

// codeMethodNotAllowed is the error code of a 405: the path exists, the method does not.
const codeMethodNotAllowed = "method_not_allowed"

// allowedMethods lists the methods that known routes serve for r's path.
func allowedMethods(known *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := known.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	res := map[string]string{}
	ok := true
	for _, c := range s.ready {
		if err := c.Check(ctx); err != nil {
			res[c.Name] = err.Error()
			ok = false
		} else {
			res[c.Name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": res})
}

type ctxKey int

const (
	routeKey ctxKey = iota
	requestIDKey
)

// RouteFrom returns the route being served.
func RouteFrom(ctx context.Context) *Route {
	rt, _ := ctx.Value(routeKey).(*Route)
	return rt
}

// RequestID returns the request's id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets live-push handlers stream through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer adds the request id, access log, security headers and panic recovery to everything.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					s.writeError(sw, r, citybrain.Errorf(citybrain.EINTERNAL, "internal error (request %s)", id))
				}
			}
			lvl := slog.LevelDebug
			if sw.status >= 500 {
				lvl = slog.LevelError
			} else if sw.status >= 400 {
				lvl = slog.LevelInfo
			}
			s.log.Log(ctx, lvl, "http", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

const sessionCookie = "citybrain_session"

// wrap authenticates, authorises and runs one route's handler.
func (s *Server) wrap(rt *Route) http.Handler {
	maxBody := rt.MaxBody
	if maxBody <= 0 {
		maxBody = s.cfg.DefaultMaxBody
	}
	label := rt.Method + " " + rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw, _ := w.(*statusWriter)
		defer func() {
			code := 200
			if sw != nil && sw.status != 0 {
				code = sw.status
			}
			s.requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
			s.latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
		}()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		ctx := context.WithValue(r.Context(), routeKey, rt)
		actor, err := s.authenticate(ctx, rt, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if actor != nil {
			ctx = citybrain.WithActor(ctx, actor)
		}
		if err := rt.Handle(w, r.WithContext(ctx)); err != nil {
			s.writeError(w, r.WithContext(ctx), err)
		}
	})
}

var (
	errNoCredentials = citybrain.Errorf(citybrain.EUNAUTHORIZED, "需要登录或 API 令牌 / sign in or send Authorization: Bearer TOKEN")
	errWrongRole     = citybrain.Errorf(citybrain.EFORBIDDEN, "当前角色无权执行此操作 / your role may not do this")
	errCSRF          = citybrain.Errorf(citybrain.EFORBIDDEN, "缺少或错误的 CSRF 令牌 / missing or wrong X-CSRF-Token header for a cookie session")
)

func (s *Server) authenticate(ctx context.Context, rt *Route, r *http.Request) (*citybrain.Actor, error) {
	switch rt.Auth {
	case AuthPublic:
		return nil, nil
	case AuthDevice:
		return s.authenticateDevice(ctx, r)
	}
	actor, err := s.userActor(ctx, r)
	if err != nil {
		if rt.Auth == AuthOptional && citybrain.ErrorCode(err) == citybrain.EUNAUTHORIZED && !hasCredentials(r) {
			return nil, nil
		}
		return nil, err
	}
	if len(rt.Roles) > 0 && !actor.Is(rt.Roles...) {
		return nil, errWrongRole
	}
	return actor, nil
}

func hasCredentials(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	_, err := r.Cookie(sessionCookie)
	return err == nil
}

// userActor resolves a Bearer token or a session cookie (with CSRF on unsafe methods).
func (s *Server) userActor(ctx context.Context, r *http.Request) (*citybrain.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "Authorization must be \"Bearer TOKEN\"")
		}
		u, err := s.access.AuthenticateToken(ctx, strings.TrimSpace(tok))
		if err != nil {
			return nil, err
		}
		return u.Actor(), nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errNoCredentials
	}
	u, csrf, err := s.access.Session(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !access.EqualHash(r.Header.Get("X-CSRF-Token"), csrf) {
			return nil, errCSRF
		}
	}
	return u.Actor(), nil
}

func (s *Server) authenticateDevice(ctx context.Context, r *http.Request) (*citybrain.Actor, error) {
	id := r.PathValue("id")
	var user, secret string
	if u, p, ok := r.BasicAuth(); ok {
		user, secret = u, p
	} else if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			user, secret = id, strings.TrimSpace(tok)
		}
	}
	if secret == "" {
		return nil, citybrain.Errorf(citybrain.EUNAUTHORIZED, "device credentials required: HTTP Basic (device id, secret) or Bearer SECRET")
	}
	if user != id {
		return nil, citybrain.Errorf(citybrain.EFORBIDDEN, "credentials of device %q may not act for device %q", user, id)
	}
	if s.deviceAuth == nil {
		return nil, citybrain.Errorf(citybrain.EUNAVAILABLE, "device authentication is not configured")
	}
	return s.deviceAuth(ctx, id, secret)
}
