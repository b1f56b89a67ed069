package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/citybrain/citybrain/internal/area"
	"github.com/citybrain/citybrain/internal/workorder"
)

// demoReportEvery is how often a simulated citizen reports a problem in the demo
// (divided by --sim-speed).
const demoReportEvery = 3 * time.Minute

// demoCitizenReports are the problems simulated citizens report in the demo, in their words.
func demoCitizenReports() []string {
	return []string{
		"小区门口下水道堵了，污水漫到人行道上，味道很大",
		"路边井盖松动，车一过就哐哐响，晚上很危险",
		"楼下路灯坏了好几天了，晚上一片漆黑",
		"垃圾桶满了没人清运，周围堆了很多垃圾",
		"有人在小区绿地里私搭乱建，占用公共空间",
		"凌晨工地施工噪音太大，影响休息",
		"人行道地砖破损翘起，老人差点绊倒",
		"暴雨后路口积水很深，车辆无法通行",
		"楼道里堆放杂物和电动车，堵住了消防通道",
		"餐馆油烟直排，整栋楼都是油烟味",
		"路边有辆僵尸车停了几个月了",
		"小区供暖不热，室温只有十五度",
	}
}

// startDemoCitizenReports makes simulated citizens report a problem every few minutes
// through the same intake as the web form (workorder.Service.Create with source citizen,
// anonymous, with a map pin in a random grid of the demo district), so the work-order pages
// have fresh orders (demo mode only).
func startDemoCitizenReports(a *app) {
	if !a.demo || a.cfg.SimDevices <= 0 {
		return
	}
	every := demoReportEvery
	if a.cfg.SimSpeed > 1 {
		every = time.Duration(float64(every) / a.cfg.SimSpeed)
	}
	a.goTask("demo citizen reports", func(ctx context.Context) error {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
		texts := demoCitizenReports()
		t := time.NewTimer(every / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			t.Reset(every/2 + time.Duration(rng.Int64N(int64(every))))
			if a.workorders == nil || a.areaMap == nil || a.areaMap.Load() == nil {
				continue
			}
			m := a.areaMap.Load()
			grids := m.ByLevel(area.LevelGrid)
			if len(grids) == 0 {
				continue
			}
			g := grids[rng.IntN(len(grids))]
			addr := ""
			for _, p := range m.Path(g.Code) {
				if p.Level == area.LevelStreet || p.Level == area.LevelCommunity {
					addr += p.NameZH
				}
			}
			text := texts[rng.IntN(len(texts))]
			in := workorder.NewReport{Source: workorder.SourceCitizen, Description: text, HasLocation: true,
				Lon: g.Centroid[0], Lat: g.Centroid[1], Address: addr + "附近",
				Reporter: workorder.Reporter{Name: fmt.Sprintf("模拟市民 %d", rng.IntN(10000)), Channel: "web", ReportedAt: time.Now()}}
			res, err := a.workorders.Create(ctx, in)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("demo citizen report failed", "err", err)
				}
				continue
			}
			a.log.Info("demo citizen report", "tracking_no", res.Order.TrackingNo, "category", res.Order.Category, "state", res.Order.State)
		}
	})
}
