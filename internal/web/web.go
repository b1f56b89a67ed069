// Package web serves the command-center UI (static assets embedded in the binary, no CDN,
// no map tiles from the internet) and the live push of alerts, device status, work-order and
// KPI changes to browsers over Server-Sent Events. The Hub is safe for concurrent use: one
// goroutine per bus subscription appends to a bounded ring; each browser stream reads from it.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// Assets returns the UI's files (index.html, app.js, style.css, vendor/echarts.min.js when built).
func Assets() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// HasCharts reports whether the ECharts bundle was vendored in at build time (make web).
func HasCharts() bool {
	_, err := fs.Stat(Assets(), "vendor/echarts.min.js")
	return err == nil
}

// Handler serves the single-page UI: known files as they are, every other non-API path as
// index.html so deep links work.
func Handler() http.Handler {
	assets := Assets()
	files := http.FileServer(http.FS(assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" || p == "." {
			p = "index.html"
		}
		if _, err := fs.Stat(assets, p); err != nil {
			p = "index.html"
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/"
			r = r2
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'")
		w.Header().Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(p, "vendor/") {
			w.Header().Set("Cache-Control", "public, max-age=86400")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
