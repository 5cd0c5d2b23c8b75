package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// waLogger adapts slog to whatsmeow's logger. Sub-loggers are derived from
// base, so the module key appears once ("Client/Socket"). When hints is
// set, the adapter also picks out of whatsmeow's log calls the facts that
// whatsmeow reports nowhere else (see hints).
type waLogger struct {
	base   *slog.Logger
	l      *slog.Logger
	module string
	hints  *hints
}

var _ waLog.Logger = (*waLogger)(nil)

func newWALogger(base *slog.Logger, module string, h *hints) *waLogger {
	return &waLogger{base: base, l: base.With("module", module), module: module, hints: h}
}

func (w *waLogger) log(level slog.Level, msg string, args []any) {
	if w.hints != nil {
		w.hints.observe(w.module, level, msg, args)
	}
	if !w.l.Enabled(context.Background(), level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // whatsmeow's call site, for AddSource
	r := slog.NewRecord(time.Now(), level, fmt.Sprintf(msg, args...), pcs[0])
	_ = w.l.Handler().Handle(context.Background(), r)
}

func (w *waLogger) Debugf(msg string, args ...any) { w.log(slog.LevelDebug, msg, args) }
func (w *waLogger) Infof(msg string, args ...any)  { w.log(slog.LevelInfo, msg, args) }
func (w *waLogger) Warnf(msg string, args ...any)  { w.log(slog.LevelWarn, msg, args) }
func (w *waLogger) Errorf(msg string, args ...any) { w.log(slog.LevelError, msg, args) }

func (w *waLogger) Sub(module string) waLog.Logger {
	full := module
	if w.module != "" {
		full = w.module + "/" + module
	}
	return &waLogger{base: w.base, l: w.base.With("module", full), module: full, hints: w.hints}
}

// whatsmeow's log lines for the closes it announces only in its log: a
// <failure reason=500|503> and a <stream:error code=503>, after which the
// socket close arrives as a bare events.Disconnected. The tests of the drop
// table fail if a whatsmeow upgrade rewords them.
const (
	logSilentFailure = "Got %d/%s connect failure, assuming automatic reconnect will handle it"
	logStream503     = "Got 503 stream error, assuming automatic reconnect will handle it"
)

// whatsmeow's log lines once it has handled the close of its current
// socket (Client.onDisconnect, under its socket lock, after forgetting the
// socket). After a drop whatsmeow expected (LoggedOut, StreamReplaced,
// a refused login…) no event says the socket is gone; these lines do.
var logSocketGone = map[string]bool{
	"Emitting Disconnected event":                                       true,
	"OnDisconnect() called, but it was expected, so not emitting event": true,
	"OnDisconnect() called after manual disconnection":                  true,
}

// hints is what whatsmeow's log said about the current connection before
// it dropped: the error that ended its websocket read loop, and a login
// failure or stream error whatsmeow handles silently. events.Disconnected
// carries no fields; the hints let the report say why. They are written
// from whatsmeow's goroutines and reset at every connect.
type hints struct {
	mu        sync.Mutex // guards the fields below
	readErr   error      // the websocket read error, if the read loop logged one
	failure   int        // reason of a silently handled <failure>, 0 if none
	stream503 bool       // a <stream:error code=503> was received
	// gone is closed when whatsmeow has handled the close of the
	// connection armed last (see logSocketGone); nil once closed.
	gone chan struct{}
}

func (h *hints) observe(module string, level slog.Level, msg string, args []any) {
	switch {
	case level == slog.LevelError && strings.HasSuffix(module, "/Socket"):
		for _, a := range args {
			if err, ok := a.(error); ok {
				h.mu.Lock()
				h.readErr = err
				h.mu.Unlock()
				return
			}
		}
	case level == slog.LevelWarn && msg == logSilentFailure && len(args) > 0:
		if reason, ok := args[0].(int); ok {
			h.mu.Lock()
			h.failure = reason
			h.mu.Unlock()
		}
	case level == slog.LevelWarn && msg == logStream503:
		h.mu.Lock()
		h.stream503 = true
		h.mu.Unlock()
	case level == slog.LevelDebug && logSocketGone[msg]:
		h.mu.Lock()
		if h.gone != nil {
			close(h.gone)
			h.gone = nil
		}
		h.mu.Unlock()
	}
}

// arm clears the hints for a new connection and returns the channel
// closed once whatsmeow has handled that connection's close.
func (h *hints) arm() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readErr, h.failure, h.stream503 = nil, 0, false
	h.gone = make(chan struct{})
	return h.gone
}

// take returns the hints gathered so far and clears them.
func (h *hints) take() (readErr error, failure int, stream503 bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	readErr, failure, stream503 = h.readErr, h.failure, h.stream503
	h.readErr, h.failure, h.stream503 = nil, 0, false
	return readErr, failure, stream503
}

// errCATUnsupported is what the clients' RefreshCAT returns. whatsmeow calls
// RefreshCAT on a <failure reason=413|414> and dereferences it unchecked,
// so leaving it nil would crash the process; failing turns the failure
// into events.CATRefreshError.
var errCATUnsupported = errors.New("crypto auth token refresh is not supported (Messenger only)")
