package device

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/citybrain/citybrain"
)

// TestEachWalksEveryPageAndStops checks the registry walk crosses page boundaries, applies
// the filter and stops when asked.
func TestEachWalksEveryPageAndStops(t *testing.T) {
	s, _ := newService(t, &citybrain.FixedClock{T: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)})
	ctx := citybrain.WithActor(context.Background(), &citybrain.Actor{Role: citybrain.RoleOperator})
	n := MaxPage + 7
	for i := 0; i < n; i++ {
		prof := "noise"
		if i%2 == 1 {
			prof = "air_quality"
		}
		if _, _, err := s.Create(ctx, Input{ID: fmt.Sprintf("d-%05d", i), Profile: prof, Area: "g1"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.All(ctx, Filter{})
	if err != nil || len(all) != n {
		t.Fatalf("All: %d devices, %v; want %d", len(all), err, n)
	}
	noise, err := s.All(ctx, Filter{Profile: "noise"})
	if err != nil || len(noise) != (n+1)/2 {
		t.Fatalf("All noise: %d, %v", len(noise), err)
	}
	seen := 0
	if err := s.Each(ctx, Filter{}, func(Device) bool { seen++; return seen < 3 }); err != nil || seen != 3 {
		t.Fatalf("Each did not stop: %d, %v", seen, err)
	}
}
