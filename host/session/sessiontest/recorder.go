package sessiontest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/storage"
)

// Timeout is how long the Wait helpers wait.
const Timeout = 15 * time.Second

// The Handler methods, as Call.Method names them.
const (
	Disconnect = "HandleDisconnect"
	Connected  = "HandleConnected"
	QR         = "HandleQR"
	Paired     = "HandlePaired"
)

// Call is one Handler call.
type Call struct {
	Method   string
	Instance string
	Report   executor.Report // HandleDisconnect
	Opened   executor.Opened // HandleConnected
	QR       executor.QRCode // HandleQR
	QRNumber int             // HandleQR: 1 for the instance's first code
	JID      string          // HandlePaired
}

func (c Call) String() string {
	switch c.Method {
	case Disconnect:
		return fmt.Sprintf("%s(%s %d %s)", c.Method, c.Report.Event.Kind, c.Report.Event.Code, c.Report.Phase)
	case QR:
		return fmt.Sprintf("%s(#%d)", c.Method, c.QRNumber)
	}
	return c.Method
}

// Recorder is a session.Handler that records every call. Its hooks run on
// the instance's queue, inside the call.
type Recorder struct {
	// QRResult is HandleQR's answer for the n-th code an instance shows
	// (from 1); nil answers true.
	QRResult func(instanceID string, n int) bool
	// OnCall runs after a call is recorded, before it returns.
	OnCall func(Call)

	mu       sync.Mutex // guards the fields below
	calls    []Call
	changed  chan struct{} // closed and replaced when a call is recorded
	qrs      map[string]int
	active   map[string]int
	overlaps []string
}

var _ session.Handler = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{changed: make(chan struct{}), qrs: make(map[string]int), active: make(map[string]int)}
}

func (r *Recorder) record(c Call) func() {
	r.mu.Lock()
	if c.Method == QR {
		r.qrs[c.Instance]++
		c.QRNumber = r.qrs[c.Instance]
	}
	r.active[c.Instance]++
	if r.active[c.Instance] > 1 {
		r.overlaps = append(r.overlaps, c.Instance)
	}
	r.calls = append(r.calls, c)
	close(r.changed)
	r.changed = make(chan struct{})
	hook := r.OnCall
	r.mu.Unlock()
	if hook != nil {
		hook(c)
	}
	return func() {
		r.mu.Lock()
		r.active[c.Instance]--
		r.mu.Unlock()
	}
}

// HandleDisconnect implements session.Handler.
func (r *Recorder) HandleDisconnect(_ context.Context, id string, rep executor.Report) (executor.Result, error) {
	defer r.record(Call{Method: Disconnect, Instance: id, Report: rep})()
	return executor.Result{}, nil
}

// HandleConnected implements session.Handler.
func (r *Recorder) HandleConnected(_ context.Context, id string, o executor.Opened) (storage.Instance, error) {
	defer r.record(Call{Method: Connected, Instance: id, Opened: o})()
	return storage.Instance{ID: id, OwnerJID: o.JID, Status: storage.StatusOpen}, nil
}

// HandleQR implements session.Handler.
func (r *Recorder) HandleQR(_ context.Context, id string, qr executor.QRCode) (bool, error) {
	done := r.record(Call{Method: QR, Instance: id, QR: qr})
	defer done()
	r.mu.Lock()
	n, decide := r.qrs[id], r.QRResult
	r.mu.Unlock()
	if decide != nil {
		return decide(id, n), nil
	}
	return true, nil
}

// HandlePaired implements session.Handler.
func (r *Recorder) HandlePaired(_ context.Context, id, jid string) error {
	defer r.record(Call{Method: Paired, Instance: id, JID: jid})()
	return nil
}

// Calls returns the calls about one instance (all when id is empty), in
// the order they were made.
func (r *Recorder) Calls(id string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.calls {
		if id == "" || c.Instance == id {
			out = append(out, c)
		}
	}
	return out
}

// Overlaps lists the instances that had two calls running at once; the
// Manager must never do that.
func (r *Recorder) Overlaps() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.overlaps...)
}

// String lists the calls, for failure messages.
func (r *Recorder) String() string {
	var b strings.Builder
	for i, c := range r.Calls("") {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Instance[:min(8, len(c.Instance))] + ":" + c.String())
	}
	return "[" + b.String() + "]"
}

// Await returns the first call, from the start, that match accepts,
// waiting for it until ctx ends.
func (r *Recorder) Await(ctx context.Context, match func(Call) bool) (Call, error) {
	next := 0
	for {
		r.mu.Lock()
		batch, changed := r.calls[next:], r.changed
		r.mu.Unlock()
		for _, c := range batch {
			next++
			if match(c) {
				return c, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Call{}, ctx.Err()
		}
	}
}

// Wait returns the n-th call (from 1) of method about the instance,
// waiting up to Timeout, and fails the test otherwise.
func (r *Recorder) Wait(t testing.TB, id, method string, n int) Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	seen := 0
	c, err := r.Await(ctx, func(c Call) bool {
		if c.Instance == id && c.Method == method {
			seen++
		}
		return seen == n
	})
	if err != nil {
		t.Fatalf("waiting for %s #%d of %s: %v; calls: %s", method, n, id, err, r)
	}
	return c
}

// Report waits for the instance's first HandleDisconnect and returns its
// report.
func (r *Recorder) Report(t testing.TB, id string) executor.Report {
	t.Helper()
	return r.Wait(t, id, Disconnect, 1).Report
}
