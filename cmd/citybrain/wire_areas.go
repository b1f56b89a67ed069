package main

import (
	"context"
	"fmt"
	"time"

	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/httpapi"
)

// areaReloadEvery is how often a running platform checks whether `citybrain import
// areas` (another process) replaced the stored boundaries.
const areaReloadEvery = 10 * time.Second

// wireAreas connects the district model: it loads the stored areas (storing the
// synthetic demo district first under `citybrain demo` on an empty store), mounts the
// /api/v1/areas routes and reloads the map when an import replaces the boundaries.
// a.areaMap is the one Map holder other subsystems use for point lookup.
func wireAreas(ctx context.Context, a *app) error {
	a.areas = area.NewService(a.db, a.clock.Now)
	a.areaMap = a.areas.Current()
	if a.demo {
		stored, err := a.areas.EnsureDemo(ctx)
		if err != nil {
			return fmt.Errorf("demo district: %w", err)
		}
		if stored {
			fmt.Fprintf(a.out, "已载入合成示例区 %s / loaded the synthetic demo district %s: %s\n",
				area.DemoDistrictNameZH, area.DemoDistrictNameEN, a.areas.Map())
		}
	} else if err := a.areas.Load(ctx); err != nil {
		return err
	}
	a.api.Mount(httpapi.AreaRoutes(a.api, a.areas)...)
	a.goTask("areas-reload", func(ctx context.Context) error {
		t := time.NewTicker(areaReloadEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				changed, err := a.areas.Refresh(ctx)
				if err != nil {
					a.log.Warn("areas reload failed", "err", err)
				} else if changed {
					a.log.Info("areas reloaded", "version", a.areas.Version(), "map", a.areas.Map().String())
				}
			}
		}
	})
	return nil
}
