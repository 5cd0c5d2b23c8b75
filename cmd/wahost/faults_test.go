//go:build wahost_testserver

package main

import (
	"testing"
	"time"
)

// TestFaults runs the built binary through the faults it must survive.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary through faults")
	}
	w := newFaultWorld(t)
	start := time.Now()
	w.pair(12)
	t.Logf("paired %d instances in %v", len(w.names), time.Since(start))
	w.storm(time.Second, nil)
	w.settle("plain storm")
}
