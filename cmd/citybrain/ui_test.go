package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts a headless Debian Chromium for UI tests, or skips when it is not installed.
func browser(t *testing.T, width, height int) (context.Context, context.CancelFunc) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (scripts/test-deps.sh installs it)")
		}
		t.Skip("chromium not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// screenshot saves a PNG of the page under artifacts/screenshots (a test artifact).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("..", "..", "artifacts", "screenshots")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Logf("save screenshot: %v", err)
	}
}

// uiLogin signs in through the login page and waits for the dashboard.
func uiLogin(ctx context.Context, base, user, pass string) error {
	if err := uiSubmitLogin(ctx, base, user, pass); err != nil {
		return err
	}
	return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#kpis .kpi")))
}

// uiSubmitLogin fills the login form like a person and submits it.
func uiSubmitLogin(ctx context.Context, base, user, pass string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#/login"), chromedp.WaitVisible(chromedp.CSS("#username")), chromedp.Sleep(600*time.Millisecond)); err != nil {
		return err
	}
	js := fmt.Sprintf(`(() => { const u = document.querySelector('#username'), p = document.querySelector('#password');
		u.value = %q; p.value = %q; document.querySelector('#signin').click(); return true; })()`, user, pass)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	return err
}

// waitText polls until the element has text or the time is up.
func waitText(ctx context.Context, sel string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		s := text(ctx, sel)
		if s != "" || time.Now().After(deadline) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text returns the rendered text of the first element matching the CSS selector.
func text(ctx context.Context, sel string) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
	return s
}

// TestUILoginAndDashboard signs in through the real login page in Chromium and sees the
// command center's KPI tiles, in Chinese by default and in English after switching.
func TestUILoginAndDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	p := startProc(t, []string{"CITYBRAIN_ADMIN_PASSWORD=ui-admin-pass"}, "serve", "--data", t.TempDir())
	for _, size := range [][2]int{{1920, 1080}, {1366, 768}} {
		ctx, cancel := browser(t, size[0], size[1])
		if err := uiSubmitLogin(ctx, p.base, "admin", "wrong-pass"); err != nil {
			cancel()
			t.Fatal(err)
		}
		if e := waitText(ctx, ".login .error", 5*time.Second); !strings.Contains(e, "密码") {
			t.Errorf("wrong password message %q", e)
		}
		if err := uiLogin(ctx, p.base, "admin", "ui-admin-pass"); err != nil {
			cancel()
			t.Fatalf("login in Chromium: %v\n%s", err, p.output())
		}
		kpiText, navText := text(ctx, "#kpis"), text(ctx, "#nav")
		if !strings.Contains(kpiText, "设备在线") || !strings.Contains(navText, "指挥大屏") {
			t.Errorf("dashboard not in Chinese: kpis %q nav %q", kpiText, navText)
		}
		screenshot(t, ctx, fmt.Sprintf("dashboard-zh-%dx%d", size[0], size[1]))
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang")), chromedp.WaitVisible(chromedp.CSS("#kpis .kpi")), chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if kpiText = text(ctx, "#kpis"); !strings.Contains(kpiText, "Devices online") {
			t.Errorf("English not applied: %q", kpiText)
		}
		screenshot(t, ctx, fmt.Sprintf("dashboard-en-%dx%d", size[0], size[1]))
		me, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.citybrain.me)`))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal([]byte(me), &m)
		if m["role"] != "admin" {
			t.Errorf("signed-in user %v", m)
		}
		// Back to Chinese for the next size.
		chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#lang")))
		cancel()
	}
}
