package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/access"
	"github.com/citybrain/citybrain/internal/bus"
	"github.com/citybrain/citybrain/internal/cluster"
	"github.com/citybrain/citybrain/internal/httpapi"
	"github.com/citybrain/citybrain/internal/org"
	"github.com/citybrain/citybrain/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// app is one running platform: its storage, bus, services and HTTP server. Subsystems are
// wired by the functions in wirers (one wire_*.go file each).
type app struct {
	cfg    *config
	demo   bool
	log    *slog.Logger
	out    io.Writer
	clock  citybrain.Clock
	db     *store.DB
	bus    *bus.Bus
	reg    *prometheus.Registry
	access *access.Service
	api    *httpapi.Server
	// leader decides which node runs the once-per-cluster jobs (goLeaderTask); on one node
	// with embedded storage it always leads. node is this node's name.
	leader *cluster.Elector
	node   string

	httpLn net.Listener

	services

	// background tasks started after wiring and stopped on shutdown, in reverse order.
	mu          sync.Mutex
	tasks       []task
	leaderTasks []task
	closers     []func()
}

type task struct {
	name string
	run  func(ctx context.Context) error
}

// goTask registers a background task that runs until the platform stops.
func (a *app) goTask(name string, run func(ctx context.Context) error) {
	a.mu.Lock()
	a.tasks = append(a.tasks, task{name, run})
	a.mu.Unlock()
}

// goLeaderTask registers a background task that must run on one node of a cluster at a
// time: it runs while this node is the leader and its ctx ends when the platform stops or
// leadership moves to another node (it may then start again later). On a single node with
// embedded storage it runs like goTask. See internal/cluster and docs/decisions.md.
func (a *app) goLeaderTask(name string, run func(ctx context.Context) error) {
	a.mu.Lock()
	a.leaderTasks = append(a.leaderTasks, task{name, run})
	a.mu.Unlock()
}

// leading reports whether this node runs the once-per-cluster jobs now (always true on a
// single node). Bus handlers that must act once per cluster check it.
func (a *app) leading() bool { return a.leader == nil || a.leader.Leading() }

// onClose registers cleanup run at shutdown after background tasks stopped (last first).
func (a *app) onClose(f func()) {
	a.mu.Lock()
	a.closers = append(a.closers, f)
	a.mu.Unlock()
}

// wirers connects the subsystems in order. Add one line per subsystem; each lives in wire_*.go.
func wirers() []func(ctx context.Context, a *app) error {
	return []func(ctx context.Context, a *app) error{
		wireAreas, wireAudit, wireGovernance, wireTelemetry, wireDevices, wireRules,
		wireTriage, wireWorkorders, wireAssess, wireDemoUsers, wireWeb,
	}
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens and migrates the configured database and seeds reference data.
func openStore(ctx context.Context, cfg *config) (*store.DB, error) {
	db, err := store.Open(ctx, store.Config{DataDir: cfg.Data, PostgresURL: cfg.Postgres})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	deps, err := org.Departments()
	if err != nil {
		db.Close()
		return nil, err
	}
	seed := make([]store.Department, len(deps))
	for i, d := range deps {
		seed[i] = store.Department(d)
	}
	if err := db.UpsertDepartments(ctx, seed); err != nil {
		db.Close()
		return nil, fmt.Errorf("seed departments: %w", err)
	}
	return db, nil
}

// listen binds an address, naming the flag to change when it is taken.
func listen(addr, flagName string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (change --%s): %w", addr, flagName, err)
	}
	return ln, nil
}

// start builds the platform: it binds the HTTP port first so a taken port fails at once,
// then opens storage and the bus, bootstraps the administrator and wires every subsystem.
func start(ctx context.Context, cfg *config, demo bool, out, logw io.Writer) (*app, error) {
	a := &app{cfg: cfg, demo: demo, out: out, clock: citybrain.SystemClock{}, reg: prometheus.NewRegistry()}
	a.log = newLogger(cfg, logw)
	ln, err := listen(cfg.HTTP, "http")
	if err != nil {
		return nil, err
	}
	a.httpLn = ln
	fail := func(err error) (*app, error) {
		a.close()
		return nil, err
	}
	a.onClose(func() { ln.Close() })
	a.db, err = openStore(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	a.onClose(func() { a.db.Close() })
	a.node = nodeName(cfg)
	a.bus, err = bus.Open(ctx, bus.Config{URL: cfg.NATS, Name: "citybrain-" + a.node, Prefix: cfg.ClusterName, Node: a.node})
	if err != nil {
		return fail(err)
	}
	a.onClose(a.bus.Close)
	a.leader = newElector(a)
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.access = access.NewService(a.db, a.clock, access.Config{BootstrapToken: cfg.AdminToken})
	boot, err := a.access.Bootstrap(ctx, cfg.AdminPassword)
	if err != nil {
		return fail(fmt.Errorf("create administrator (check CITYBRAIN_ADMIN_PASSWORD): %w", err))
	}
	if boot.Created && boot.Password != "" {
		fmt.Fprintf(out, "管理员账号已创建 / administrator created: username %s, password %s (shown once; set CITYBRAIN_ADMIN_PASSWORD to choose it)\n", boot.Username, boot.Password)
	} else if boot.Created {
		fmt.Fprintf(out, "管理员账号已创建 / administrator created: username %s (password from CITYBRAIN_ADMIN_PASSWORD)\n", boot.Username)
	}
	a.api = httpapi.New(httpapi.Config{SecureCookies: cfg.Secure, Version: Version}, a.log, a.access, a.reg)
	a.api.AddReadyCheck(httpapi.ReadyCheck{Name: "store", Check: a.db.Ping})
	a.api.AddReadyCheck(httpapi.ReadyCheck{Name: "bus", Check: a.bus.Ping})
	a.api.Mount(departmentRoutes(a)...)
	a.api.Mount(clusterRoutes(a)...)
	for _, w := range wirers() {
		if err := w(ctx, a); err != nil {
			return fail(err)
		}
	}
	clusterCaches(a)
	return a, nil
}

// serve runs the HTTP server and background tasks until ctx ends, then shuts down gracefully:
// in-flight requests finish (up to 20 s), tasks stop, storage closes.
func (a *app) serve(ctx context.Context) error {
	srv := &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	tctx, cancelTasks := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	a.mu.Lock()
	tasks := append([]task(nil), a.tasks...)
	leaderTasks := append([]task(nil), a.leaderTasks...)
	a.mu.Unlock()
	runTasks := func(ctx context.Context, tasks []task, wg *sync.WaitGroup) {
		for _, t := range tasks {
			wg.Add(1)
			go func(t task) {
				defer wg.Done()
				if err := t.run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					a.log.Error("background task stopped", "task", t.name, "err", err)
				}
			}(t)
		}
	}
	runTasks(tctx, tasks, &wg)
	if len(leaderTasks) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.leader.Run(tctx, func(lctx context.Context) {
				var lwg sync.WaitGroup
				runTasks(lctx, leaderTasks, &lwg)
				lwg.Wait()
			})
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(a.httpLn) }()
	a.log.Info("citybrain serving", "http", a.httpLn.Addr().String(), "store", string(a.db.Dialect), "nats_embedded", a.bus.Embedded(),
		"node", a.node, "clustered", a.leader.Clustered(), "version", Version)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	cancelTasks()
	wg.Wait()
	a.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (a *app) close() {
	a.mu.Lock()
	cs := a.closers
	a.closers = nil
	a.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func departmentRoutes(a *app) []httpapi.Route {
	return []httpapi.Route{{
		Method: "GET", Path: "/api/v1/departments", Tag: "district", Summary: "List departments (委办局)",
		Response: []store.Department{},
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			ds, err := a.db.Departments(r.Context())
			if err != nil {
				return err
			}
			return httpapi.JSON(w, http.StatusOK, ds)
		},
	}}
}

// addrURL turns a listener address into a URL a person can open.
func addrURL(addr net.Addr) string {
	s := addr.String()
	if strings.HasPrefix(s, "[::]:") {
		s = "localhost:" + strings.TrimPrefix(s, "[::]:")
	} else if strings.HasPrefix(s, "0.0.0.0:") {
		s = "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return "http://" + s
}
