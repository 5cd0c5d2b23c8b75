package reconnect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/reconnect"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type recorder struct{ jobs []reconnect.Job }

func (r *recorder) fire(j reconnect.Job) { r.jobs = append(r.jobs, j) }

func newScheduler(rate float64, burst int) (*reconnect.Scheduler, *clock.Fake, *recorder) {
	clk := clock.NewFake(t0)
	rec := &recorder{}
	return reconnect.New(reconnect.Config{Rate: rate, Burst: burst, Clock: clk, Fire: rec.fire}), clk, rec
}

func TestFiresAtTheDecidedTime(t *testing.T) {
	s, clk, rec := newScheduler(0, 0)
	s.Schedule(reconnect.Job{InstanceID: "a", Step: 2, Due: t0.Add(5 * time.Second)})
	if next := s.RunOnce(); !next.Equal(t0.Add(5*time.Second)) || len(rec.jobs) != 0 {
		t.Fatalf("next %v, fired %v", next, rec.jobs)
	}
	clk.Advance(4999 * time.Millisecond)
	s.RunOnce()
	if len(rec.jobs) != 0 {
		t.Fatal("fired early")
	}
	clk.Advance(time.Millisecond)
	if next := s.RunOnce(); !next.IsZero() || len(rec.jobs) != 1 || rec.jobs[0].Step != 2 {
		t.Fatalf("next %v, fired %+v", next, rec.jobs)
	}
	if s.Len() != 0 {
		t.Fatal("job still pending")
	}
}

func TestOnePendingPerInstance(t *testing.T) {
	s, clk, rec := newScheduler(0, 0)
	if s.Schedule(reconnect.Job{InstanceID: "a", Due: t0.Add(10 * time.Second)}) {
		t.Fatal("nothing to replace yet")
	}
	if !s.Schedule(reconnect.Job{InstanceID: "a", Step: 4, Due: t0.Add(2 * time.Second)}) {
		t.Fatal("did not replace")
	}
	s.Schedule(reconnect.Job{InstanceID: "b", Due: t0.Add(3 * time.Second)})
	if !s.Cancel("b") || s.Cancel("b") {
		t.Fatal("cancel")
	}
	clk.Advance(time.Minute)
	s.RunOnce()
	if len(rec.jobs) != 1 || rec.jobs[0].Step != 4 {
		t.Fatalf("fired %+v", rec.jobs)
	}
}

// A storm is spread by the token bucket: with 100/s and a burst of 10,
// 1000 simultaneous reconnects take about 10 s, none lost, none twice.
func TestRateLimitSpreadsAStorm(t *testing.T) {
	s, clk, rec := newScheduler(100, 10)
	for i := range 1000 {
		s.Schedule(reconnect.Job{InstanceID: fmt.Sprint(i), Due: t0})
	}
	s.RunOnce()
	if len(rec.jobs) != 10 {
		t.Fatalf("burst fired %d", len(rec.jobs))
	}
	for step := 0; len(rec.jobs) < 1000; step++ {
		if step > 2000 {
			t.Fatalf("stuck at %d fired", len(rec.jobs))
		}
		clk.Advance(10 * time.Millisecond)
		s.RunOnce()
	}
	elapsed := clk.Now().Sub(t0)
	if elapsed < 9*time.Second || elapsed > 11*time.Second {
		t.Fatalf("1000 reconnects took %s", elapsed)
	}
	seen := map[string]bool{}
	for _, j := range rec.jobs {
		if seen[j.InstanceID] {
			t.Fatalf("%s fired twice", j.InstanceID)
		}
		seen[j.InstanceID] = true
	}
}

func TestLoopFiresOnTheFakeClock(t *testing.T) {
	clk := clock.NewFake(t0)
	fired := make(chan reconnect.Job, 1)
	s := reconnect.New(reconnect.Config{Clock: clk, Fire: func(j reconnect.Job) { fired <- j }})
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal("stop before start:", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	s.Schedule(reconnect.Job{InstanceID: "a", Due: t0.Add(3 * time.Second)})
	select {
	case <-clk.WaitForTimers(1):
	case <-time.After(5 * time.Second):
		t.Fatal("scheduler never set its timer")
	}
	clk.Advance(3 * time.Second)
	select {
	case j := <-fired:
		if j.InstanceID != "a" {
			t.Fatalf("fired %+v", j)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not fired")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal("second stop:", err)
	}
}
