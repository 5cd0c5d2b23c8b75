package runtime

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestGuestLogRouting(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	e := newEngine(t, Config{Logger: slog.New(h), RecycleAfterCalls: 1})
	m := load(t, e, "chatty") // one call, then the instance is recycled
	type line struct {
		level           slog.Level
		msg, source, id string
	}
	want := []line{
		{slog.LevelInfo, "deciding", "wahost.log", "chatty"},
		{slog.LevelInfo, "to stdout", "stdout", "chatty"},
		{slog.LevelInfo, "second line", "stdout", "chatty"},
		{slog.LevelWarn, "to stderr", "stderr", "chatty"},
		{slog.LevelInfo, "partial", "stdout", "chatty"}, // flushed when the instance closed
	}
	got := h.snapshot()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("%v %s source=%s", r.Level, r.Message, attr(r, "source"))
		}
		t.Fatalf("got %d log lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		r := got[i]
		if r.Level != w.level || r.Message != w.msg || attr(r, "source") != w.source || attr(r, "policy") != w.id {
			t.Errorf("line %d = %v %q source=%s policy=%s, want %+v", i, r.Level, r.Message, attr(r, "source"), attr(r, "policy"), w)
		}
	}
	if attr(got[0], "sha256") != shortHash(m.SHA256()) {
		t.Errorf("line lacks the module hash: %v", got[0])
	}
}

func TestGuestLogRateLimit(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	clock := newFakeClock()
	e := newEngine(t, Config{Logger: slog.New(h), Clock: clock.Now, GuestLogRate: 1, GuestLogBurst: 3})
	// 4 lines and a partial one, flushed when the load's instance closes
	// (instances are created on demand): 3 logged, 2 dropped.
	m := load(t, e, "chatty")
	if got := len(h.snapshot()); got != 3 {
		t.Fatalf("logged %d lines within a burst of 3", got)
	}
	if _, err := m.Decide(context.Background(), selfTest); err != nil { // 4 more lines, all dropped
		t.Fatal(err)
	}
	if got := m.Info().GuestLogDropped; got != 6 {
		t.Fatalf("dropped %d lines, want 6", got)
	}
	clock.Advance(time.Second)
	if _, err := m.Decide(context.Background(), selfTest); err != nil { // 1 token: 1 line logged
		t.Fatal(err)
	}
	got := h.snapshot()
	if len(got) != 4 || attr(got[3], "dropped") != "6" {
		t.Fatalf("after a second: %d lines, last dropped=%q; want 4 lines reporting 6 dropped", len(got), attr(got[len(got)-1], "dropped"))
	}
}

func TestLineWriterCutsLongLines(t *testing.T) {
	t.Parallel()
	h := &recordHandler{}
	g := newGuestLog(slog.New(h), 100, 100, time.Now)
	w := &lineWriter{log: g, level: slog.LevelInfo, source: "stdout"}
	long := make([]byte, 3*maxLogLine)
	for i := range long {
		long[i] = 'x'
	}
	w.Write(long)
	w.Write([]byte("\nshort\n\n"))
	w.flush()
	got := h.snapshot()
	if len(got) != 2 || len(got[0].Message) != maxLogLine || got[1].Message != "short" {
		t.Fatalf("got %d lines, first %d bytes", len(got), len(got[0].Message))
	}
}

func TestGuestLevel(t *testing.T) {
	t.Parallel()
	for level, want := range map[int32]slog.Level{
		-1: slog.LevelDebug, 0: slog.LevelDebug, 1: slog.LevelInfo, 2: slog.LevelWarn, 3: slog.LevelError, 9: slog.LevelError,
	} {
		if got := guestLevel(level); got != want {
			t.Errorf("guestLevel(%d) = %v, want %v", level, got, want)
		}
	}
}
