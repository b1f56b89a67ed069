// Package simulate runs a simulated district of devices against the MQTT broker: each device
// connects with its own credentials over a real MQTT 3.1.1 connection (Client, a small client in
// this package) and reports what its profile measures with realistic behaviour — daily cycles,
// a rainstorm raising drainage levels, an elderly household whose resident stops moving, gas
// leaks, failing streetlights, stuck sensors sending out-of-range values, and devices that
// drop offline without a goodbye (their last will marks them offline) and come back. It also
// answers downlink commands. `citybrain simulate` and `citybrain demo` use it.
//
// Concurrency: Run starts one goroutine per device (plus the client's reader and pinger) and
// returns when its context ends. Stats are atomic counters safe to read while it runs. The
// package holds no global mutable state.
package simulate
