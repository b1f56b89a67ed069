package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the binary that the end-to-end tests build once per run.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}
