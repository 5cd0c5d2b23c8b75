package runtime

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/wahost/wahost/abi"
)

// maxLogLine is the longest guest log line kept; longer lines are cut.
const maxLogLine = 1024

// guestLog routes one module's log lines (wahost.log, WASI stdout and
// stderr) to the host logger through a token bucket shared by all of the
// module's instances.
type guestLog struct {
	mu      sync.Mutex // guards tokens, last
	tokens  float64
	last    time.Time
	rate    float64
	burst   float64
	clock   func() time.Time
	logger  *slog.Logger
	dropped atomic.Uint64 // lines dropped since the last line logged
	total   atomic.Uint64 // lines dropped since the module loaded
}

func newGuestLog(logger *slog.Logger, rate float64, burst int, clock func() time.Time) *guestLog {
	return &guestLog{
		tokens: float64(burst),
		last:   clock(),
		rate:   rate,
		burst:  float64(burst),
		clock:  clock,
		logger: logger,
	}
}

// allow takes a token if one is available.
func (g *guestLog) allow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock()
	if elapsed := now.Sub(g.last); elapsed > 0 {
		g.tokens = min(g.burst, g.tokens+elapsed.Seconds()*g.rate)
		g.last = now
	}
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}

// line logs msg at level from source, unless the rate limit drops it.
func (g *guestLog) line(level slog.Level, source string, msg []byte) {
	if !g.logger.Enabled(context.Background(), level) {
		return
	}
	if !g.allow() {
		g.dropped.Add(1)
		g.total.Add(1)
		return
	}
	if len(msg) > maxLogLine {
		msg = msg[:maxLogLine]
	}
	attrs := []any{slog.String("source", source)}
	if n := g.dropped.Swap(0); n > 0 {
		attrs = append(attrs, slog.Uint64("dropped", n))
	}
	g.logger.Log(context.Background(), level, strings.ToValidUTF8(string(msg), "\uFFFD"), attrs...)
}

// hostLog implements the wahost.log import: (level, ptr, len).
// A message outside guest memory is ignored; the guest is not trapped.
func (g *guestLog) hostLog(_ context.Context, mod api.Module, stack []uint64) {
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if n > maxLogLine {
		n = maxLogLine
	}
	mem := mod.Memory()
	if mem == nil {
		return
	}
	msg, ok := mem.Read(ptr, n)
	if !ok {
		return
	}
	g.line(guestLevel(level), "wahost.log", msg)
}

// guestLevel maps an ABI log level to a slog level, clamping unknown ones.
func guestLevel(level int32) slog.Level {
	switch {
	case level <= abi.LogDebug:
		return slog.LevelDebug
	case level == abi.LogInfo:
		return slog.LevelInfo
	case level == abi.LogWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// lineWriter splits one instance's WASI output stream into log lines. Each
// instance has its own writers, used only while a goroutine holds the
// instance, so they need no lock.
type lineWriter struct {
	log    *guestLog
	level  slog.Level
	source string
	buf    []byte
}

var _ io.Writer = (*lineWriter)(nil)

// Write implements io.Writer. It never fails, so a chatty guest cannot
// break its own decisions.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := max(0, maxLogLine-len(w.buf))
			w.buf = append(w.buf, p[:min(room, len(p))]...)
			break
		}
		w.buf = append(w.buf, p[:min(i, max(0, maxLogLine-len(w.buf)))]...)
		w.flush()
		p = p[i+1:]
	}
	return n, nil
}

// flush logs the buffered partial line, if any.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.log.line(w.level, w.source, w.buf)
		w.buf = w.buf[:0]
	}
}
