//go:build linux

package governance

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process used so far; with
// -cpu=1 that is one core's work, unaffected by other processes on a busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
