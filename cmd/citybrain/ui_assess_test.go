package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIAssessDrill is the "done when": under `citybrain demo` a leader opens the
// assessment page, sees the streets ranked for the last quarter, clicks the last one and
// sees the work orders that pulled it down, each with the reason; the exports answer.
func TestUIAssessDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	p := startProc(t, []string{"CITYBRAIN_ADMIN_PASSWORD=ui-admin-pass"}, "demo", "--sim-devices", "0", "--data", t.TempDir())
	ctx, cancel := browser(t, 1600, 1000)
	defer cancel()
	if err := uiLogin(ctx, p.base, "admin", "ui-admin-pass"); err != nil {
		t.Fatalf("login: %v\n%s", err, p.output())
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.base+"/#/assess"), chromedp.WaitVisible(chromedp.CSS("#as-table tbody tr"))); err != nil {
		t.Fatalf("assessment page: %v\n%s", err, p.output())
	}
	head := text(ctx, "#as-ranking h3")
	if !strings.Contains(head, "-Q") {
		t.Errorf("the ranking should default to a quarter, got %q", head)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#as-table tbody tr').length`))
	if err != nil || n < 5 {
		t.Fatalf("want the demo streets ranked, got %d rows (%v)", n, err)
	}
	if tbl := text(ctx, "#as-table"); !strings.Contains(tbl, "街道") || !strings.Contains(tbl, "不排名") {
		t.Errorf("ranking table should name streets in Chinese and show an unranked unit: %q", tbl)
	}
	screenshot(t, ctx, "assess-ranking")
	// Click the last ranked street (the worst).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const rows = [...document.querySelectorAll('#as-table tbody tr')].filter(r => !r.querySelector('.as-nr')); rows[rows.length-1].click(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var recs int
	for time.Now().Before(deadline) {
		recs, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#as-records tbody tr[data-kind=workorder]').length`))
		if recs > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if recs == 0 {
		t.Fatalf("no work orders behind the worst street's weakest indicator: %q", text(ctx, "#as-drill"))
	}
	if why := text(ctx, "#as-records tbody tr td.as-why"); !strings.Contains(why, "/") {
		t.Errorf("records should say why they count: %q", why)
	}
	screenshot(t, ctx, "assess-drill")
	// The overdue orders of that street (超期率 is behind 按期办结率).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelector('#as-indicators tr[data-ind=ontime]').click(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if s := waitText(ctx, "#as-records", 5*time.Second); !strings.Contains(s, "超期") {
		t.Errorf("the on-time indicator should list overdue orders: %q", s)
	}
}
