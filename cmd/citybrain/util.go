package main

import (
	"fmt"
	"time"
)

func parseDuration(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--%s must be a duration such as 720h, got %q", name, s)
	}
	return d, nil
}
