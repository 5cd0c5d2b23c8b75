package purge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/storagetest"
)

// fakeCache records purges and fails while down is set.
type fakeCache struct {
	mu     sync.Mutex // guards down, calls, during
	down   error
	calls  []string
	during func(instance string) // runs inside Purge, before it returns
}

func (f *fakeCache) Purge(_ context.Context, instance string) (int64, error) {
	f.mu.Lock()
	f.calls = append(f.calls, instance)
	down, during := f.down, f.during
	f.mu.Unlock()
	if during != nil {
		during(instance)
	}
	if down != nil {
		return 0, down
	}
	return 3, nil
}

func (f *fakeCache) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

func (f *fakeCache) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func openQueue(t *testing.T, clock *storagetest.Clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func pending(t *testing.T, q Queue, at time.Time) []storage.PendingPurge {
	t.Helper()
	due, err := q.DuePurges(context.Background(), at, 100)
	if err != nil {
		t.Fatal(err)
	}
	return due
}

var errDown = fmt.Errorf("dial: %w", storage.ErrUnavailable)

func TestPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storagetest.NewClock()
	q := openQueue(t, clock)
	cache := &fakeCache{}
	p := New(Config{Queue: q, Cache: cache, Now: clock.Now})

	res, err := p.Purge(ctx, "inst")
	if err != nil || res.Removed != 3 || res.Pending {
		t.Fatalf("Purge = %+v, %v", res, err)
	}
	if due := pending(t, q, clock.Now().Add(time.Hour)); len(due) != 0 {
		t.Fatalf("successful purge left %+v", due)
	}

	cache.setDown(errDown)
	res, err = p.Purge(ctx, "inst")
	if err != nil || !res.Pending || !errors.Is(res.Cause, storage.ErrUnavailable) {
		t.Fatalf("Purge while down = %+v, %v; want pending", res, err)
	}
	if due := pending(t, q, clock.Now()); len(due) != 1 || due[0].Instance != "inst" {
		t.Fatalf("pending = %+v", due)
	}

	if _, err := p.Purge(ctx, "bad/name"); !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("Purge of a bad name: %v", err)
	}
}

func TestRunOnceRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storagetest.NewClock()
	q := openQueue(t, clock)
	cache := &fakeCache{down: errDown}
	p := New(Config{Queue: q, Cache: cache, Now: clock.Now})
	for _, inst := range []string{"a", "b", "c"} {
		if err := q.AddPurge(ctx, inst); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}

	// Down: the first failure ends the run; its retry moves back by the
	// backoff, the others stay due.
	n, err := p.runOnce(ctx)
	if n != 0 || !errors.Is(err, storage.ErrUnavailable) || cache.callCount() != 1 {
		t.Fatalf("runOnce while down = %d, %v, %d calls", n, err, cache.callCount())
	}
	due := pending(t, q, clock.Now())
	if len(due) != 2 || due[0].Instance != "b" {
		t.Fatalf("due after a failed run = %+v", due)
	}
	all := pending(t, q, clock.Now().Add(time.Hour))
	if a := all[2]; a.Instance != "a" || a.Attempts != 1 || !a.NextAttemptAt.Equal(clock.Now().Add(time.Second)) ||
		!strings.Contains(a.LastError, "unavailable") {
		t.Fatalf("retried purge = %+v", a)
	}

	// Up again: everything due completes.
	cache.setDown(nil)
	clock.Advance(time.Second)
	if n, err := p.runOnce(ctx); n != 3 || err != nil {
		t.Fatalf("runOnce when up = %d, %v", n, err)
	}
	if due := pending(t, q, clock.Now().Add(time.Hour)); len(due) != 0 {
		t.Fatalf("left after success: %+v", due)
	}
}

// TestRequestDuringPurge checks that a purge requested while a retry runs
// is not lost when the retry completes.
func TestRequestDuringPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storagetest.NewClock()
	q := openQueue(t, clock)
	cache := &fakeCache{}
	var once sync.Once
	cache.during = func(instance string) {
		once.Do(func() {
			if err := q.AddPurge(ctx, instance); err != nil {
				t.Error(err)
			}
		})
	}
	p := New(Config{Queue: q, Cache: cache, Now: clock.Now})
	if err := q.AddPurge(ctx, "inst"); err != nil {
		t.Fatal(err)
	}
	if n, err := p.runOnce(ctx); n != 1 || err != nil {
		t.Fatalf("runOnce = %d, %v", n, err)
	}
	if due := pending(t, q, clock.Now()); len(due) != 1 || due[0].Generation != 2 {
		t.Fatalf("request made during the purge was dropped: %+v", due)
	}
	if n, err := p.runOnce(ctx); n != 1 || err != nil {
		t.Fatalf("second runOnce = %d, %v", n, err)
	}
	if due := pending(t, q, clock.Now()); len(due) != 0 {
		t.Fatalf("left: %+v", due)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storagetest.NewClock()
	q := openQueue(t, clock)
	runs := make(chan int, 16)
	p := New(Config{Queue: q, Cache: &fakeCache{}, Now: clock.Now, Interval: time.Hour,
		AfterRun: func(done int, _ error) { runs <- done }})

	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	wait := func() int {
		t.Helper()
		select {
		case n := <-runs:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("loop did not run")
			return 0
		}
	}
	wait() // the first run happens at start
	if err := q.AddPurge(ctx, "inst"); err != nil {
		t.Fatal(err)
	}
	p.Nudge()
	if n := wait(); n != 1 {
		t.Fatalf("nudged run completed %d purges, want 1", n)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	wait()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"short", "dial tcp: refused"},
		{"long ascii", strings.Repeat("x", storage.MaxTextBytes+10)},
		{"long multibyte", strings.Repeat("é", storage.MaxTextBytes)},
		{"invalid utf-8", "bad \xff byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clip(tt.in)
			if len(got) > storage.MaxTextBytes || !utf8.ValidString(got) {
				t.Fatalf("clip = %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
			if len(tt.in) <= storage.MaxTextBytes && utf8.ValidString(tt.in) && got != tt.in {
				t.Fatalf("clip changed a short message: %q", got)
			}
		})
	}
}
