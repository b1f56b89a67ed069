package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildBinary builds citybrain once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "citybrain-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "citybrain")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running citybrain process.
type proc struct {
	cmd  *exec.Cmd
	base string
	mqtt string // the MQTT broker's address (host:port)
	out  *bytes.Buffer
	mu   *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	httpAddr := freePort(t)
	full := append([]string{}, args...)
	mqttAddr := freePort(t)
	full = append(full, "--http", httpAddr, "--mqtt", mqttAddr, "--log-level", "warn")
	cmd := exec.Command(binary(t), full...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, base: "http://" + httpAddr, mqtt: mqttAddr, out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stdout = lockedWriter{p.mu, p.out}
	cmd.Stderr = lockedWriter{p.mu, p.out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("citybrain did not become ready:\n%s", p.output())
	return nil
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("citybrain exited with %v:\n%s", err, p.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("citybrain did not stop on SIGTERM:\n%s", p.output())
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
	jar   []*http.Cookie
	csrf  string
}

func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for _, ck := range c.jar {
		req.AddCookie(ck)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if cks := resp.Cookies(); len(cks) > 0 {
		c.jar = cks
	}
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// TestEndToEndUsersAndTokensSurviveRestart builds the binary, starts it on free ports with a
// temporary data dir, signs in, creates a user and a token through the API, restarts the
// process and finds them still there.
func TestEndToEndUsersAndTokensSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	env := []string{"CITYBRAIN_ADMIN_PASSWORD=first-admin-pass"}
	p := startProc(t, env, "serve", "--data", data)

	c := &client{t: t, base: p.base}
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "wrong-password"}, nil); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "first-admin-pass"}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	// A cookie session must send the CSRF token on unsafe methods.
	if code := c.do("POST", "/api/v1/users", map[string]any{"username": "li.si", "password": "li-si-password", "role": "operator"}, nil); code != 403 {
		t.Fatalf("POST without CSRF token: %d, want 403", code)
	}
	c.csrf = login.CSRFToken
	var user struct {
		ID int64 `json:"id"`
	}
	if code := c.do("POST", "/api/v1/users", map[string]any{"username": "li.si", "display_name": "李四", "password": "li-si-password", "role": "operator"}, &user); code != 201 {
		t.Fatalf("create user: %d", code)
	}
	var tok struct {
		Secret string `json:"secret"`
	}
	if code := c.do("POST", fmt.Sprintf("/api/v1/users/%d/tokens", user.ID), map[string]string{"name": "dashboard", "ttl": "720h"}, &tok); code != 201 || !strings.HasPrefix(tok.Secret, "cbt_") {
		t.Fatalf("create token: %d %q", code, tok.Secret)
	}
	p.stop(t)

	p2 := startProc(t, env, "serve", "--data", data)
	c2 := &client{t: t, base: p2.base, token: tok.Secret}
	var me struct {
		Username string `json:"username"`
		Role     string `json:"role"`
	}
	if code := c2.do("GET", "/api/v1/me", nil, &me); code != 200 || me.Username != "li.si" || me.Role != "operator" {
		t.Fatalf("token after restart: %d %+v", code, me)
	}
	c3 := &client{t: t, base: p2.base}
	if code := c3.do("POST", "/api/v1/auth/login", map[string]string{"username": "li.si", "password": "li-si-password"}, nil); code != 200 {
		t.Fatalf("login as created user after restart: %d", code)
	}
	// The operator may not create users.
	if code := c2.do("POST", "/api/v1/users", map[string]any{"username": "x1", "password": "password-x1", "role": "citizen"}, nil); code != 403 {
		t.Fatalf("operator creating a user: %d", code)
	}
}

// TestBootstrapTokenAndGeneratedPassword checks CITYBRAIN_ADMIN_TOKEN drives a fresh instance and
// that a generated admin password is printed once.
func TestBootstrapTokenAndGeneratedPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	p := startProc(t, []string{"CITYBRAIN_ADMIN_TOKEN=bootstrap-secret-123"}, "serve", "--data", data)
	c := &client{t: t, base: p.base, token: "bootstrap-secret-123"}
	var me struct {
		Role string `json:"role"`
	}
	if code := c.do("GET", "/api/v1/me", nil, &me); code != 200 || me.Role != "admin" {
		t.Fatalf("bootstrap token: %d %+v", code, me)
	}
	if !strings.Contains(p.output(), "password ") {
		t.Fatalf("generated password not printed:\n%s", p.output())
	}
	pw := ""
	sc := bufio.NewScanner(strings.NewReader(p.output()))
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "password "); i >= 0 && strings.Contains(sc.Text(), "shown once") {
			pw = strings.Fields(sc.Text()[i+len("password "):])[0]
		}
	}
	c2 := &client{t: t, base: p.base}
	if code := c2.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": pw}, nil); code != 200 {
		t.Fatalf("login with printed password %q: %d", pw, code)
	}
	p.stop(t)
	// Second start prints no password.
	p2 := startProc(t, nil, "serve", "--data", data)
	if strings.Contains(p2.output(), "shown once") {
		t.Fatal("password printed again on second start")
	}
}

func TestTakenPortAndUnwritableDataNameTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--http", ln.Addr().String(), "--mqtt", "off"}, nil, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--http") {
		t.Fatalf("taken port: code %d, stderr %q", code, errb.String())
	}
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o500)
	if os.Geteuid() == 0 {
		// root ignores permissions: use a path under a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		ro = filepath.Join(f, "sub")
	}
	errb.Reset()
	code = run(context.Background(), []string{"serve", "--data", ro, "--http", "127.0.0.1:0", "--mqtt", "off"}, nil, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--data") {
		t.Fatalf("unwritable data dir: code %d, stderr %q", code, errb.String())
	}
}

func TestHelpExplainsEveryCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	help := out.String()
	for _, c := range commands() {
		if !strings.Contains(help, c.name) {
			t.Errorf("--help does not list %q", c.name)
		}
		out.Reset()
		errb.Reset()
		args := append(strings.Fields(c.name), "--help")
		if code := run(context.Background(), args, nil, nil, &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d: %s", c.name, code, errb.String())
		}
		if !strings.Contains(errb.String()+out.String(), "Usage") {
			t.Errorf("%s --help prints no usage: %q", c.name, errb.String())
		}
	}
	if code := run(context.Background(), []string{"nonsense"}, nil, nil, &out, &errb); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}
