package area

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// BenchmarkLocate looks up random points inside the demo district (drawn once,
// rejection-sampled from its bounding box) on one goroutine.
func BenchmarkLocate(b *testing.B) {
	m := demoMap(b)
	d, _ := m.Get(DemoDistrictCode)
	minX, minY, maxX, maxY := d.Boundary.Bounds()
	rng := rand.New(rand.NewPCG(7, 11))
	pts := make([]Point, 0, 1<<16)
	for len(pts) < cap(pts) {
		p := Point{minX + rng.Float64()*(maxX-minX), minY + rng.Float64()*(maxY-minY)}
		if d.Boundary.Contains(p[0], p[1]) {
			pts = append(pts, p)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	miss := 0
	for i := 0; i < b.N; i++ {
		p := pts[i&(len(pts)-1)]
		if _, ok := m.Locate(p[0], p[1]); !ok {
			miss++
		}
	}
	b.StopTimer()
	if miss > 0 {
		b.Fatalf("%d points inside the district not located", miss)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkDemo measures generating the demo district and indexing it (done once when
// citybrain demo starts on an empty store).
func BenchmarkDemo(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NewMap(Demo()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseGeoJSON measures validating the demo district's GeoJSON (what
// `citybrain import areas` does before storing real boundaries of that size).
func BenchmarkParseGeoJSON(b *testing.B) {
	var buf bytes.Buffer
	if err := EncodeGeoJSON(&buf, Demo()); err != nil {
		b.Fatal(err)
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseGeoJSON(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
