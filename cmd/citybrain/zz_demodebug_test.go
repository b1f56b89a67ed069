package main

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestZZDemoDebug(t *testing.T) {
	base, pass := os.Getenv("CITYBRAIN_DEMO_URL"), os.Getenv("CITYBRAIN_DEMO_PASSWORD")
	if base == "" {
		t.Skip()
	}
	ctx, cancel := browser(t, 1920, 1080)
	defer cancel()
	if err := uiLogin(ctx, base, "admin", pass); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const m = document.querySelector('#map'); const r = m.getBoundingClientRect(); const c = echarts.getInstanceByDom(m); const o = c && c.getOption(); return JSON.stringify({w: r.width, h: r.height, html: m.innerHTML.slice(0, 300), geo: o && o.geo && o.geo.map(g => g.map), series: o && o.series.map(s => [s.type, (s.data||[]).length]), maps: Object.keys(echarts.getMap ? {} : {})}); })()`))
	t.Log(s, err)
}
