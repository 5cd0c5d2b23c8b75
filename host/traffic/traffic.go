// Package traffic watches each instance's traffic for the failures that do
// not disconnect a session: messages that stop decrypting, sends the
// server never acknowledges, receipts that stop coming. The session layer
// reports what it sees (Observe); the Monitor keeps per-instance sliding
// windows, gives the policy its counters (Snapshot, the input's traffic
// object) and raises a degraded event when a threshold is crossed.
package traffic

import (
	"sync"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
)

// Kind is what an Observation saw.
type Kind uint8

// The kinds of observation.
const (
	// Undecryptable: a message could not be read
	// (events.UndecryptableMessage); Sender, Unavailable and Hidden say
	// more. whatsmeow sends a retry receipt for every one.
	Undecryptable Kind = iota + 1
	// Incoming: a message was received and read.
	Incoming
	// Receipt: a receipt came for one of the session's messages.
	Receipt
	// RetryReceipt: a recipient could not decrypt one of the session's
	// messages and asked for it again.
	RetryReceipt
	// KeepAlive: the server answered the keepalive (At says when).
	KeepAlive
	// Sent: the server acknowledged a send.
	Sent
	// Unacked: a send got no acknowledgement within the ack timeout.
	Unacked
	// SendError: the server answered a send with the error Code.
	SendError
)

// Observation is one thing the session layer saw.
type Observation struct {
	Kind Kind
	// Sender is an undecryptable message's sender.
	Sender string
	// Unavailable: the message was not sent to this device at all;
	// Hidden: its fail mode asks for no placeholder.
	Unavailable, Hidden bool
	// Code is a send error's code.
	Code int
	// At is when the keepalive was last answered; zero means now.
	At time.Time
}

// Thresholds raise a degraded event; each counts within the last 5 minutes
// and since the last degraded event of the same signal, so that the
// counts that raised one do not raise the next. 0 turns one off.
type Thresholds struct {
	// Undecryptable messages (abi.SignalUndecryptable).
	Undecryptable int
	// UnackedSends: sends without an acknowledgement within the ack
	// timeout (abi.SignalUnackedSends).
	UnackedSends int
	// SendErrors: sends the server refused (abi.SignalSendErrors).
	SendErrors int
	// ReceiptSilence: a send acknowledged this long ago with no receipt
	// since, checked at each send (abi.SignalReceiptSilence).
	ReceiptSilence time.Duration
}

// DefaultThresholds do not fire on one bad message.
var DefaultThresholds = Thresholds{Undecryptable: 3, UnackedSends: 2, SendErrors: 5}

// Raiser is told about a crossed threshold, on the goroutine that
// reported the observation: it must not block. The session layer raises
// the degraded event if the session is open.
type Raiser interface {
	Degraded(instanceID, signal string)
}

// Monitor keeps the windows of every instance. It is safe for concurrent
// use.
type Monitor struct {
	clock      clock.Clock
	thresholds Thresholds

	mu     sync.Mutex // guards raiser, insts
	raiser Raiser
	insts  map[string]*state
}

// New returns a monitor with the given thresholds, on clk (nil: the
// system clock).
func New(th Thresholds, clk clock.Clock) *Monitor {
	if clk == nil {
		clk = clock.Real()
	}
	return &Monitor{clock: clk, thresholds: th, insts: make(map[string]*state)}
}

// SetRaiser sets who is told about crossed thresholds.
func (m *Monitor) SetRaiser(r Raiser) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.raiser = r
}

// Observe records one observation of instanceID, and raises a degraded
// event if it crosses a threshold.
func (m *Monitor) Observe(instanceID string, o Observation) {
	now := m.clock.Now()
	m.mu.Lock()
	s := m.insts[instanceID]
	if s == nil {
		s = &state{}
		m.insts[instanceID] = s
	}
	signal := s.observeLocked(now, o, &m.thresholds)
	r := m.raiser
	m.mu.Unlock()
	if signal != "" && r != nil {
		r.Degraded(instanceID, signal)
	}
}

// Snapshot returns the instance's counters as the policy's input carries
// them.
func (m *Monitor) Snapshot(instanceID string) abi.Traffic {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.insts[instanceID]
	if s == nil {
		return abi.Traffic{}
	}
	return s.snapshotLocked(now)
}
