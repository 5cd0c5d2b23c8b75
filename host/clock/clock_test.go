package clock_test

import (
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
)

func TestFakeTimersFireInOrderOnAdvance(t *testing.T) {
	start := time.Unix(1000, 0)
	f := clock.NewFake(start)
	a, b := f.NewTimer(2*time.Second), f.NewTimer(time.Second)
	stopped := f.NewTimer(time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report the first stop only")
	}
	if f.Timers() != 2 {
		t.Fatalf("%d timers", f.Timers())
	}
	f.Advance(time.Second)
	select {
	case at := <-b.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Fatalf("fired at %v", at)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	a.Reset(500 * time.Millisecond)
	f.Advance(500 * time.Millisecond)
	select {
	case <-a.C():
	default:
		t.Fatal("reset timer did not fire")
	}
	if !f.Now().Equal(start.Add(1500 * time.Millisecond)) {
		t.Fatalf("now %v", f.Now())
	}
	select {
	case <-f.WaitForTimers(0):
	case <-time.After(time.Second):
		t.Fatal("WaitForTimers(0) did not return")
	}
}
