package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// World is the shared weather and calendar the simulated devices live in. It is a pure
// function of time: the same start and seed give the same district.
type World struct {
	// Start is when the simulation began; the scenario is scheduled relative to it.
	Start time.Time
	// StormAfter and StormFor place the rainstorm (default: 10 minutes after Start, for 40 minutes).
	StormAfter, StormFor time.Duration
	// StormPeak is the peak rain rate in mm/h (default 60, a 暴雨 hour).
	StormPeak float64
	// QuietHouseholdAfter is when the resident of the quiet household stops moving (default 5 min).
	QuietHouseholdAfter time.Duration
	// Speed runs the scenario (storm, quiet household, gas leak, lamp failure) this many
	// times faster than the clock, for quick demos and tests (default 1). Daily cycles
	// follow the clock.
	Speed float64
}

// scene returns the scenario time at clock time t: Start plus the elapsed time times Speed.
func (w *World) scene(t time.Time) time.Time {
	if w.Speed <= 0 || w.Speed == 1 {
		return t
	}
	return w.Start.Add(time.Duration(float64(t.Sub(w.Start)) * w.Speed))
}

func (w *World) defaults() {
	if w.StormAfter == 0 {
		w.StormAfter = 10 * time.Minute
	}
	if w.StormFor == 0 {
		w.StormFor = 40 * time.Minute
	}
	if w.StormPeak == 0 {
		w.StormPeak = 60
	}
	if w.QuietHouseholdAfter == 0 {
		w.QuietHouseholdAfter = 5 * time.Minute
	}
	if w.Speed <= 0 {
		w.Speed = 1
	}
}

// RainRate returns the rain rate (mm/h) at t: a smooth storm bell, zero outside it.
func (w *World) RainRate(t time.Time) float64 {
	d := t.Sub(w.Start) - w.StormAfter
	if d < 0 || d > w.StormFor {
		return 0
	}
	x := float64(d) / float64(w.StormFor)
	return w.StormPeak * math.Sin(math.Pi*x) * math.Sin(math.Pi*x)
}

// wetness is the lagged, slowly draining effect of rain on water levels (0..~1).
func (w *World) wetness(t time.Time) float64 {
	var acc float64
	for lag := 0; lag <= 60; lag += 5 { // last hour, with decay
		acc += w.RainRate(t.Add(-time.Duration(lag)*time.Minute)) / w.StormPeak * math.Exp(-float64(lag)/25)
	}
	return acc / 4
}

// hourOfDay in Beijing time, fractional.
func hourOfDay(t time.Time) float64 {
	bj := t.UTC().Add(8 * time.Hour)
	return float64(bj.Hour()) + float64(bj.Minute())/60 + float64(bj.Second())/3600
}

// daily is a day cycle between 0 (04:00) and 1 (16:00).
func daily(t time.Time) float64 {
	return 0.5 - 0.5*math.Cos(2*math.Pi*(hourOfDay(t)-4)/24)
}

// rushHours is high at 07:00–09:00 and 17:00–20:00.
func rushHours(t time.Time) float64 {
	h := hourOfDay(t)
	return math.Exp(-math.Pow(h-8, 2)/2) + math.Exp(-math.Pow(h-18.5, 2)/3)
}

// Behaviour flags of one simulated device.
const (
	FaultNone       = iota
	FaultStuckRange // sends values outside the profile's range now and then
	FaultGasLeak    // a gas detector whose well leaks during the run
	FaultLamp       // a streetlight that fails
	FloodProne      // a drainage gauge at a low point (易涝点) that floods in a storm
)

// model is one device's state between reports.
type model struct {
	id, profile string
	rng         *rand.Rand
	fault       int
	quiet       bool    // the household whose resident stops moving
	base        float64 // per-device offset
	counter     float64 // meters, fill levels
	battery     float64
	occupied    bool
	lastOpen    bool
}

func newModel(id, profile string, seed uint64, fault int, quiet bool) *model {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &model{id: id, profile: profile, rng: rng, fault: fault, quiet: quiet, base: rng.Float64(),
		counter: rng.Float64() * 1000, battery: 60 + rng.Float64()*40}
}

func (m *model) noise(sd float64) float64 { return m.rng.NormFloat64() * sd }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// event is an event a device reports with its reading.
type event struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data,omitempty"`
}

// next returns the values of the device's next report at t and the events it raises.
func (m *model) next(w *World, t time.Time) (map[string]any, []event) {
	v := map[string]any{}
	var evs []event
	m.battery -= 0.002 + m.rng.Float64()*0.002
	if m.battery < 5 {
		m.battery = 100 // replaced
	}
	st := w.scene(t)
	rain := w.RainRate(st)
	wet := w.wetness(st)
	day := daily(t)
	elapsed := st.Sub(w.Start)
	switch m.profile {
	case "gas_methane":
		lel := 0.5 + m.base + m.noise(0.2)
		if m.fault == FaultGasLeak && elapsed > 3*time.Minute {
			lel += math.Min(35, float64(elapsed-3*time.Minute)/float64(time.Minute)*2)
		}
		lel = math.Max(0, lel)
		v["ch4_lel"] = round(lel, 2)
		v["temperature_c"] = round(12+6*day+m.noise(0.3), 1)
		v["battery"] = round(m.battery, 0)
		if lel >= 20 {
			evs = append(evs, event{Type: "gas_alarm", Data: map[string]any{"ch4_lel": round(lel, 1)}})
		}
	case "water_pipe":
		demand := 0.3 + 0.7*rushHours(t)
		v["pressure_mpa"] = round(0.38-0.08*demand+m.noise(0.005)+m.base*0.02, 3)
		v["flow_m3h"] = round(80+300*demand+m.noise(5), 1)
		m.counter += (80 + 300*demand) / 60
		v["total_m3"] = round(m.counter, 1)
	case "drain_level":
		// Only low points (易涝点: the scenario's gauge and about one in seven others) flood;
		// elsewhere the drains carry the storm with a few centimetres more.
		rise := 0.05
		if m.fault == FloodProne || m.base > 0.85 {
			rise = 1
		}
		level := math.Max(0, 15+m.base*10+180*wet*rise+m.noise(1))
		v["level_cm"] = round(level, 1)
		v["flow_m3h"] = round(math.Max(0, 50+4000*wet+m.noise(10)), 0)
		if level > 120 {
			evs = append(evs, event{Type: "overflow_alarm"})
		}
	case "rain_gauge":
		v["rain_rate_mmh"] = round(math.Max(0, rain*(0.9+0.2*m.base)), 1)
		v["rainfall_mm"] = round(rain*(0.9+0.2*m.base)/12, 2)
	case "heat_pipe":
		v["temperature_c"] = round(72+4*(1-day)+m.noise(0.5), 1)
		v["pressure_mpa"] = round(0.62+m.noise(0.01), 3)
	case "structure_tilt":
		v["tilt_x_deg"] = round(0.02*m.base+0.01*day+m.noise(0.003), 4)
		v["tilt_y_deg"] = round(-0.01*m.base+m.noise(0.003), 4)
		v["temperature_c"] = round(8+10*day+m.noise(0.3), 1)
	case "structure_displacement":
		v["displacement_mm"] = round(1.5*m.base+0.8*day+m.noise(0.05), 2)
		v["settlement_mm"] = round(-0.3*m.base+m.noise(0.02), 2)
	case "structure_strain":
		v["strain_ue"] = round(120*m.base+40*rushHours(t)+m.noise(3), 1)
		v["temperature_c"] = round(8+10*day+m.noise(0.3), 1)
	case "manhole_cover":
		open := m.rng.Float64() < 0.0003 // about 20 covers an hour among 2,000 devices reporting every 10 s
		v["open"] = open
		v["tilt_deg"] = round(math.Abs(m.noise(0.3))+map[bool]float64{true: 45}[open], 1)
		v["level_cm"] = round(math.Max(0, 40+150*wet+m.noise(2)), 1)
		v["battery"] = round(m.battery, 0)
		if open {
			evs = append(evs, event{Type: "cover_open"})
		}
	case "crowd_density":
		count := math.Max(0, 2000*day*(0.5+rushHours(t))*(1-math.Min(1, rain/30))+m.noise(30))
		v["count"] = math.Round(count)
		v["density_pm2"] = round(count/4000, 3)
	case "smoke_detector":
		alarm := m.rng.Float64() < 0.0001 // about 6 alarms an hour among 2,000 devices reporting every 10 s
		v["smoke"] = alarm
		v["smoke_db_m"] = round(math.Abs(m.noise(0.01))+map[bool]float64{true: 0.6}[alarm], 3)
		v["temperature_c"] = round(20+3*day+m.noise(0.3), 1)
		v["battery"] = round(m.battery, 0)
		if alarm {
			evs = append(evs, event{Type: "smoke_alarm"})
		}
	case "door_sensor":
		active := !(m.quiet && elapsed > w.QuietHouseholdAfter)
		opens := 0.0
		if active {
			opens = math.Max(0, math.Round(3*day*(0.5+rushHours(t))+m.noise(0.7)))
		}
		open := opens > 0 && m.rng.Float64() < 0.2
		v["open"], v["open_count"], v["battery"] = open, opens, round(m.battery, 0)
		if open != m.lastOpen {
			evs = append(evs, event{Type: map[bool]string{true: "door_open", false: "door_close"}[open]})
		}
		m.lastOpen = open
	case "motion_sensor":
		active := !(m.quiet && elapsed > w.QuietHouseholdAfter)
		count := 0.0
		if active {
			count = math.Max(0, math.Round(20*day+m.noise(3)))
		}
		v["motion"], v["motion_count"], v["battery"] = count > 0, count, round(m.battery, 0)
	case "electricity_meter":
		p := 0.3 + 1.5*rushHours(t) + math.Abs(m.noise(0.1))
		m.counter += p / 12
		v["power_kw"], v["energy_kwh"] = round(p, 3), round(m.counter, 2)
		v["voltage_v"], v["current_a"] = round(225+m.noise(2), 1), round(p*1000/225, 2)
	case "water_meter":
		f := math.Max(0, 0.05+0.4*rushHours(t)+m.noise(0.05))
		m.counter += f / 12
		v["flow_m3h"], v["total_m3"] = round(f, 3), round(m.counter, 3)
		v["battery"] = round(m.battery, 0)
	case "parking_space":
		if m.rng.Float64() < 0.1 {
			m.occupied = m.rng.Float64() < 0.3+0.6*day
			evs = append(evs, event{Type: map[bool]string{true: "arrived", false: "departed"}[m.occupied]})
		}
		v["occupied"], v["battery"] = m.occupied, round(m.battery, 0)
	case "air_quality":
		wash := 1 - 0.6*math.Min(1, rain/20)
		pm25 := math.Max(1, (35+25*rushHours(t)+20*m.base)*wash+m.noise(3))
		v["pm25"], v["pm10"] = round(pm25, 1), round(pm25*1.7+m.noise(4), 1)
		v["no2"], v["o3"] = round(math.Max(1, 30+30*rushHours(t)+m.noise(3)), 1), round(math.Max(1, 40+80*day+m.noise(5)), 1)
		v["temperature_c"], v["humidity_pct"] = round(8+10*day+m.noise(0.3), 1), round(math.Min(100, 45+40*wet+m.noise(2)), 1)
	case "noise":
		v["noise_dba"] = round(math.Max(25, 45+15*day+8*rushHours(t)+m.noise(2)), 1)
	case "streetlight":
		h := hourOfDay(t)
		on := h >= 18 || h < 6
		failed := m.fault == FaultLamp && elapsed > 4*time.Minute
		power := 0.0
		if on && !failed {
			power = 140 + m.noise(3)
		}
		v["on"], v["power_w"], v["dim_pct"] = on, round(math.Max(0, power), 1), 100.0
		v["fault"] = failed
		v["fault_code"] = map[bool]float64{true: 1}[failed]
		if failed && m.rng.Float64() < 0.2 {
			evs = append(evs, event{Type: "lamp_fault", Data: map[string]any{"fault_code": 1}})
		}
	case "waste_bin":
		if hourOfDay(t) > 6 && hourOfDay(t) < 6.2 {
			m.counter = 0
		}
		m.counter = math.Min(100, math.Mod(m.counter, 1000)+0.3+0.5*day*m.rng.Float64())
		v["fill_pct"], v["temperature_c"] = round(math.Min(100, m.counter), 1), round(10+8*day+m.noise(0.5), 1)
		if m.counter >= 90 && m.rng.Float64() < 0.3 {
			evs = append(evs, event{Type: "full"})
		}
	default: // generic
		v["temperature_c"] = round(10+8*day+m.noise(0.3), 2)
		v["humidity_pct"] = round(50+m.noise(3), 1)
	}
	if m.fault == FaultStuckRange && m.rng.Float64() < 0.3 {
		for k, x := range v {
			if _, ok := x.(float64); ok && k != "battery" {
				v[k] = 99999.0 // a stuck sensor: out of every range, quarantined
				break
			}
		}
	}
	if m.profile != "generic" {
		v["rssi"] = round(-70-15*m.base+m.noise(2), 0)
	}
	return v, evs
}
