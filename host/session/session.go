package session

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/proxy"
)

// maxQueue bounds the jobs an instance's queue holds. Only droppable jobs
// (keepalive notices) are refused beyond it; the others — drops, logins,
// QR codes, connects — are few per connection and always queued, so a
// disconnect is never lost.
const maxQueue = 64

// handlerTimeout bounds one job, handler calls included.
const handlerTimeout = 2 * time.Minute

// job is one unit of work on an instance's queue.
type job struct {
	run func(ctx context.Context)
	// discard, if set, is called instead of run when the queue is
	// dropped (Remove, Close).
	discard func()
	// droppable jobs are refused when the queue is full.
	droppable bool
}

// client is one whatsmeow client and what its log told about it.
type client struct {
	wa    *whatsmeow.Client
	hints *hints
}

// conn is one connection: from the connect that opens it until the host
// ends it or a drop is reported.
type conn struct {
	phase    abi.Phase
	proxy    proxy.Endpoint // the proxy it goes through; zero for none
	openedAt time.Time      // when it logged in; zero before
	// reported: a drop was reported; nothing more is reported for it.
	reported bool
	// pending is a bare Disconnected waiting, during the grace, for the
	// event that explains it.
	pending *abi.Event
	grace   *timer
	// cancelDial aborts the dial; nil once the dial has returned.
	cancelDial context.CancelFunc
	// sockGone is closed when whatsmeow has handled the socket's close
	// (see hints.arm); closed says the socket is known to be gone already
	// (never opened, or closed by the session or by whatsmeow itself).
	sockGone <-chan struct{}
	closed   bool
	// qrReady is closed when the first QR codes arrive (PairPhone waits
	// for it).
	qrReady chan struct{}
	qrSeen  bool
}

// qrFlow is the rotation of the codes of one pair-device request.
type qrFlow struct {
	codes []string
	next  int
	timer *timer
}

// session is the state of one instance. Its queue runs on a goroutine
// started when a job arrives and ended when the queue is empty, so an
// idle instance costs no goroutine of its own.
type session struct {
	m   *Manager
	id  string
	log *slog.Logger

	// opMu serialises the operations that replace the device or the
	// client (connect's setup, ResetSession, Recreate, Logout, Remove)
	// across their database calls. It is never held while a handler runs
	// or a dial is in progress.
	opMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	queue    []job
	draining bool // a goroutine is running the queue
	gone     bool // removed or closed: no more jobs, no more connects
	refused  int  // droppable jobs refused so far

	cli *client
	// jid is the device JID, captured when the device was loaded or
	// paired; it outlives whatsmeow's own delete on LoggedOut, so
	// ResetSession can still remove what that delete leaves.
	jid types.JID
	// deleted is the JID of a device whatsmeow deleted itself (LoggedOut)
	// whose leftovers ResetSession has not removed yet.
	deleted types.JID
	// fresh: the next connect uses a new, unpaired device instead of the
	// one stored for the instance (after a reset or a logout).
	fresh bool
	// stale: whatsmeow deleted the client's device (LoggedOut); the next
	// connect builds a new client.
	stale bool

	conn       *conn // nil: no connection open or being opened
	state      State
	qr         qrFlow
	lastQR     QR
	qrCount    int
	inactivity *timer // armed while an unpaired login waits for a scan
}

func newSession(m *Manager, id string) *session {
	return &session{m: m, id: id, log: m.log.With("instance_id", id)}
}

// enqueue adds j to the queue and starts a goroutine to run it when none
// runs. It never blocks on the queue, so whatsmeow's event goroutines may
// call it.
func (s *session) enqueue(j job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		if j.discard != nil {
			j.discard()
		}
		return false
	}
	if j.droppable && len(s.queue) >= maxQueue {
		s.refused++
		if s.refused == 1 || s.refused%100 == 0 {
			s.log.Warn("session queue full; dropping keepalive notices", "dropped", s.refused)
		}
		return false
	}
	s.queue = append(s.queue, j)
	if !s.draining {
		if !s.m.track() {
			s.discardLocked()
			return false
		}
		s.draining = true
		go s.drain()
	}
	return true
}

func (s *session) drain() {
	defer s.m.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.gone {
			s.discardLocked()
			s.draining = false
			s.mu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue[0] = job{}
		s.queue = s.queue[1:]
		if len(s.queue) == 0 {
			s.queue = nil
		}
		s.mu.Unlock()
		s.run(j)
	}
}

func (s *session) run(j job) {
	ctx, cancel := context.WithTimeout(s.m.ctx, handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("session job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	j.run(ctx)
}

func (s *session) discardLocked() {
	for _, j := range s.queue {
		if j.discard != nil {
			j.discard()
		}
	}
	s.queue = nil
}

// timer is a clock timer whose firing runs a job on the session's queue.
type timer struct {
	stop chan struct{}
	once sync.Once
}

func (t *timer) cancel() {
	if t != nil {
		t.once.Do(func() { close(t.stop) })
	}
}

// afterLocked runs fire on the queue once d has passed on the Manager's
// clock, unless the timer is cancelled first. fire must check that the
// timer is still the one it was armed as: a cancel can cross a firing.
func (s *session) afterLocked(d time.Duration, fire func(ctx context.Context, t *timer)) *timer {
	t := &timer{stop: make(chan struct{})}
	if !s.m.track() {
		return t
	}
	ct := s.m.cfg.Clock.NewTimer(d)
	go func() {
		defer s.m.wg.Done()
		select {
		case <-ct.C():
			s.enqueue(job{run: func(ctx context.Context) { fire(ctx, t) }})
		case <-t.stop:
			ct.Stop()
		}
	}()
	return t
}

// closeWait bounds how long the session waits for whatsmeow to handle
// the close of a socket the server is closing, before closing it itself.
const closeWait = 2 * time.Second

// stopLocked ends the connection as the host: nothing about it is
// reported any more, a dial in progress is aborted and the timers are
// cancelled. It returns the client to disconnect once s.mu is released,
// and, when a drop was reported and the server is closing the socket, the
// channel to wait on first (see closing).
func (s *session) stopLocked() (*client, <-chan struct{}) {
	var wait <-chan struct{}
	if c := s.conn; c != nil {
		if c.cancelDial != nil {
			c.cancelDial()
		}
		c.grace.cancel()
		wait = c.closing()
		s.conn = nil
	}
	s.stopQRLocked()
	s.inactivity.cancel()
	s.inactivity = nil
	s.qrCount = 0
	s.setPhaseLocked("")
	return s.cli, wait
}

// closing returns, for a connection whose drop was reported while whatsmeow
// may still be handling the server's close of the socket, the channel
// closed when it is done; nil when there is nothing to wait for. Closing
// the client meanwhile would race with whatsmeow's own close: its socket
// code reads, without a lock, the fields its Disconnect writes.
func (c *conn) closing() <-chan struct{} {
	if c.reported && !c.closed {
		return c.sockGone
	}
	return nil
}

// disconnect closes cli's connection, after waiting (bounded) for
// whatsmeow to finish a close the server started.
func disconnect(cli *client, wait <-chan struct{}) {
	if wait != nil {
		t := time.NewTimer(closeWait)
		select {
		case <-wait:
		case <-t.C:
		}
		t.Stop()
	}
	if cli != nil {
		cli.wa.Disconnect()
	}
}

func (s *session) stopQRLocked() {
	s.qr.timer.cancel()
	s.qr = qrFlow{}
	s.lastQR = QR{}
}

// stop ends the connection as the host (see stopLocked) and disconnects
// the client.
func (s *session) stop() {
	s.mu.Lock()
	cli, wait := s.stopLocked()
	s.mu.Unlock()
	disconnect(cli, wait)
}

// shutdown stops the session for good: Remove and Close.
func (s *session) shutdown() {
	s.mu.Lock()
	s.gone = true
	s.discardLocked()
	cli, wait := s.stopLocked()
	s.mu.Unlock()
	disconnect(cli, wait)
}

func (s *session) setPhaseLocked(p abi.Phase) {
	if s.state.Phase == p {
		return
	}
	s.state.Phase = p
	s.state.Connected = p == abi.PhaseOpen
	s.state.Since = s.m.cfg.Clock.Now()
}
