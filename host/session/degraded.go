package session

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/traffic"
)

// Observer is told what the sessions see of their traffic (host/traffic's
// Monitor). It must not block: it runs on whatsmeow's goroutines.
type Observer interface {
	Observe(instanceID string, o traffic.Observation)
}

var _ Observer = (*traffic.Monitor)(nil)

var _ traffic.Raiser = (*Manager)(nil)

// observe reports o to Config.Watch, if set.
func (s *session) observe(o traffic.Observation) {
	if w := s.m.cfg.Watch; w != nil && o.Kind != 0 {
		w.Observe(s.id, o)
	}
}

// watchTraffic reports what evt says of the session's traffic: the
// undecryptable messages, the messages and receipts that come, the
// keepalive answers.
func (s *session) watchTraffic(evt any) {
	switch e := evt.(type) {
	case *events.UndecryptableMessage:
		s.observe(traffic.Observation{
			Kind: traffic.Undecryptable, Sender: e.Info.Sender.ToNonAD().String(),
			Unavailable: e.IsUnavailable, Hidden: e.DecryptFailMode == events.DecryptFailHide,
		})
		s.log.Warn("message not decryptable", "message_id", e.Info.ID, "sender", e.Info.Sender,
			"unavailable", e.IsUnavailable, "unavailable_type", e.UnavailableType, "fail_mode", e.DecryptFailMode)
	case *events.Message:
		s.observe(traffic.Observation{Kind: traffic.Incoming})
	case *events.Receipt:
		if e.IsFromMe {
			return
		}
		kind := traffic.Receipt
		if e.Type == "retry" {
			kind = traffic.RetryReceipt
		}
		s.observe(traffic.Observation{Kind: kind})
	case *events.Connected, *events.KeepAliveRestored:
		s.observe(traffic.Observation{Kind: traffic.KeepAlive})
	case *events.KeepAliveTimeout:
		s.observe(traffic.Observation{Kind: traffic.KeepAlive, At: e.LastSuccess})
	}
}

// Degraded raises a degraded event (abi.KindDegraded) for the instance's
// open session: a threshold of its traffic was crossed. It implements
// traffic.Raiser: it only queues the report, which is dropped if the
// session is no longer open when its turn comes.
func (m *Manager) Degraded(instanceID, signal string) {
	s := m.lookup(instanceID)
	if s == nil {
		return
	}
	s.enqueue(job{droppable: true, run: func(ctx context.Context) { s.degraded(ctx, signal) }})
}

func (s *session) degraded(ctx context.Context, signal string) {
	s.mu.Lock()
	c := s.conn
	if c == nil || c.reported || c.phase != abi.PhaseOpen {
		s.mu.Unlock()
		s.log.DebugContext(ctx, "degraded traffic on a session no longer open", "signal", signal)
		return
	}
	rep := executor.Report{
		Event: abi.Event{
			Kind: abi.KindDegraded, Code: 0, Cause: abi.CauseNone, Signal: signal,
			Raw: "traffic threshold " + signal, Message: degradedMessage(signal),
		},
		Phase: abi.PhaseOpen, ConnectedFor: s.m.cfg.Clock.Now().Sub(c.openedAt),
	}
	s.mu.Unlock()
	s.log.WarnContext(ctx, "session degraded", "signal", signal)
	if _, err := s.m.handler.HandleDisconnect(ctx, s.id, rep); err != nil {
		s.log.ErrorContext(ctx, "handling degraded traffic failed", "signal", signal, "error", err)
	}
}

func degradedMessage(signal string) string {
	switch signal {
	case abi.SignalUndecryptable:
		return "messages stopped decrypting"
	case abi.SignalUnackedSends:
		return "sends are not acknowledged by the server"
	case abi.SignalSendErrors:
		return "the server refuses sends"
	case abi.SignalReceiptSilence:
		return "no receipts arrive for sent messages"
	}
	return fmt.Sprintf("traffic threshold %s crossed", signal)
}
