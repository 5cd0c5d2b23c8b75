package traffic_test

import (
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/traffic"
)

type raised struct{ id, signal string }

type recorder struct{ got []raised }

func (r *recorder) Degraded(id, signal string) { r.got = append(r.got, raised{id, signal}) }

func newMonitor(th traffic.Thresholds) (*traffic.Monitor, *clock.Fake, *recorder) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := traffic.New(th, clk)
	r := &recorder{}
	m.SetRaiser(r)
	return m, clk, r
}

func TestUndecryptableThreshold(t *testing.T) {
	m, clk, r := newMonitor(traffic.DefaultThresholds)
	bad := func(sender string) {
		m.Observe("a", traffic.Observation{Kind: traffic.Undecryptable, Sender: sender})
		clk.Advance(time.Second)
	}
	bad("x@s.whatsapp.net")
	bad("y@s.whatsapp.net")
	if len(r.got) != 0 {
		t.Fatalf("two bad messages raised %v (threshold 3)", r.got)
	}
	bad("y@s.whatsapp.net")
	if len(r.got) != 1 || r.got[0] != (raised{"a", abi.SignalUndecryptable}) {
		t.Fatalf("raised %v", r.got)
	}
	// The counts that raised it do not raise the next one: three more do.
	bad("z@s.whatsapp.net")
	bad("z@s.whatsapp.net")
	if len(r.got) != 1 {
		t.Fatalf("raised again after two: %v", r.got)
	}
	bad("z@s.whatsapp.net")
	if len(r.got) != 2 {
		t.Fatalf("not raised after three more: %v", r.got)
	}
	s := m.Snapshot("a")
	if s.Undecryptable != (abi.Counts{6, 6}) || s.UndecryptableSenders != (abi.Counts{3, 3}) || s.RetryReceiptsSent != (abi.Counts{6, 6}) {
		t.Fatalf("snapshot %+v", s)
	}
	// Past 5 minutes they leave the short window, past an hour the long one.
	clk.Advance(6 * time.Minute)
	if s := m.Snapshot("a"); s.Undecryptable != (abi.Counts{0, 6}) || s.UndecryptableSenders != (abi.Counts{0, 3}) {
		t.Fatalf("after 6 min: %+v", s)
	}
	clk.Advance(time.Hour)
	if s := m.Snapshot("a"); s.Undecryptable != (abi.Counts{}) {
		t.Fatalf("after an hour: %+v", s)
	}
	// Slow bad messages, one every 160 s, never cross it in 5 minutes.
	for range 5 {
		m.Observe("a", traffic.Observation{Kind: traffic.Undecryptable, Sender: "x"})
		clk.Advance(160 * time.Second)
	}
	if len(r.got) != 2 {
		t.Fatalf("slow messages raised %v", r.got)
	}
}

func TestSendsAndSilence(t *testing.T) {
	m, clk, r := newMonitor(traffic.Thresholds{UnackedSends: 2, SendErrors: 1, ReceiptSilence: time.Minute})
	m.Observe("a", traffic.Observation{Kind: traffic.Unacked})
	m.Observe("b", traffic.Observation{Kind: traffic.Unacked}) // another instance
	if len(r.got) != 0 {
		t.Fatalf("raised %v", r.got)
	}
	m.Observe("a", traffic.Observation{Kind: traffic.Unacked})
	m.Observe("a", traffic.Observation{Kind: traffic.SendError, Code: 479})
	if len(r.got) != 2 || r.got[0].signal != abi.SignalUnackedSends || r.got[1].signal != abi.SignalSendErrors {
		t.Fatalf("raised %v", r.got)
	}
	// A send acknowledged, then none of its receipts for a minute: the
	// next send raises the silence.
	m.Observe("c", traffic.Observation{Kind: traffic.Sent})
	clk.Advance(30 * time.Second)
	m.Observe("c", traffic.Observation{Kind: traffic.Sent})
	if len(r.got) != 2 {
		t.Fatalf("raised early: %v", r.got)
	}
	clk.Advance(31 * time.Second)
	m.Observe("c", traffic.Observation{Kind: traffic.Sent})
	if len(r.got) != 3 || r.got[2] != (raised{"c", abi.SignalReceiptSilence}) {
		t.Fatalf("raised %v", r.got)
	}
	// A receipt ends the silence.
	m.Observe("c", traffic.Observation{Kind: traffic.Receipt})
	clk.Advance(2 * time.Minute)
	m.Observe("c", traffic.Observation{Kind: traffic.Sent})
	if len(r.got) != 3 {
		t.Fatalf("raised after a receipt: %v", r.got)
	}
	s := m.Snapshot("a")
	if s.Sends != (abi.Counts{3, 3}) || s.UnackedSends != (abi.Counts{2, 2}) || s.SendErrors != (abi.Counts{1, 1}) || s.LastSendError != 479 {
		t.Fatalf("snapshot %+v", s)
	}
	if c := m.Snapshot("c"); c.LastReceiptMS != clk.Now().Add(-2*time.Minute).UnixMilli() {
		t.Fatalf("last receipt %d", c.LastReceiptMS)
	}
	if s := m.Snapshot("nobody"); s != (abi.Traffic{}) {
		t.Fatalf("unknown instance: %+v", s)
	}
}

// With a threshold of 1 every bad message raises the event, even two at
// the same instant: the marks count observations, not time.
func TestThresholdOfOneAtOneInstant(t *testing.T) {
	m, _, r := newMonitor(traffic.Thresholds{Undecryptable: 1})
	m.Observe("a", traffic.Observation{Kind: traffic.Undecryptable, Sender: "x"})
	m.Observe("a", traffic.Observation{Kind: traffic.Incoming})
	m.Observe("a", traffic.Observation{Kind: traffic.Undecryptable, Sender: "y", Unavailable: true, Hidden: true})
	if len(r.got) != 2 {
		t.Fatalf("raised %v", r.got)
	}
	s := m.Snapshot("a")
	if s.UndecryptableSenders != (abi.Counts{2, 2}) || s.Unavailable != (abi.Counts{1, 1}) || s.Hidden != (abi.Counts{1, 1}) ||
		s.RetryReceiptsSent != (abi.Counts{1, 1}) || s.LastIncomingMS == 0 {
		t.Fatalf("snapshot %+v", s)
	}
}
