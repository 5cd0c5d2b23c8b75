package sessiontest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wahost/wahost/host/message"
)

// Traffic is a message.Traffic that records every call. Its Fail hook
// makes HandleIncoming fail, to test what a failed store does.
type Traffic struct {
	// Fail, when set, is asked before an incoming message is recorded as
	// stored; its error is HandleIncoming's (the call is still recorded
	// in Attempts).
	Fail func(in message.Incoming) error

	mu       sync.Mutex // guards the fields below
	attempts []message.Incoming
	incoming []message.Incoming
	receipts []message.Receipt
	history  []message.History
	changed  chan struct{} // closed and replaced on every call
}

var _ message.Traffic = (*Traffic)(nil)

// NewTraffic returns an empty Traffic.
func NewTraffic() *Traffic { return &Traffic{changed: make(chan struct{})} }

func (tr *Traffic) notifyLocked() {
	close(tr.changed)
	tr.changed = make(chan struct{})
}

// HandleIncoming records in, unless Fail fails it.
func (tr *Traffic) HandleIncoming(_ context.Context, _ string, in message.Incoming) error {
	tr.mu.Lock()
	fail := tr.Fail
	tr.attempts = append(tr.attempts, in)
	tr.notifyLocked()
	tr.mu.Unlock()
	if fail != nil {
		if err := fail(in); err != nil {
			return err
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.incoming = append(tr.incoming, in)
	tr.notifyLocked()
	return nil
}

// HandleReceipt records r.
func (tr *Traffic) HandleReceipt(_ context.Context, _ string, r message.Receipt) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.receipts = append(tr.receipts, r)
	tr.notifyLocked()
	return nil
}

// HandleHistory records h.
func (tr *Traffic) HandleHistory(_ context.Context, _ string, h message.History) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.history = append(tr.history, h)
	tr.notifyLocked()
	return nil
}

// Attempts returns every HandleIncoming call, failed ones included.
func (tr *Traffic) Attempts() []message.Incoming {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]message.Incoming(nil), tr.attempts...)
}

// await waits up to Timeout until find, run under the lock, reports true.
func (tr *Traffic) await(t testing.TB, what string, find func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for {
		tr.mu.Lock()
		ok, changed := find(), tr.changed
		tr.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; %s", what, ctx.Err(), tr)
		}
	}
}

// Incoming waits for a stored incoming message with the given id and
// event, and returns it.
func (tr *Traffic) Incoming(t testing.TB, id string, ev message.Event) message.Incoming {
	t.Helper()
	var got message.Incoming
	tr.await(t, fmt.Sprintf("incoming %s %s", ev, id), func() bool {
		for _, in := range tr.incoming {
			if in.Key.ID == id && in.Event == ev {
				got = in
				return true
			}
		}
		return false
	})
	return got
}

// Attempted waits until HandleIncoming has been called n times for id.
func (tr *Traffic) Attempted(t testing.TB, id string, n int) {
	t.Helper()
	tr.await(t, fmt.Sprintf("%d attempts of %s", n, id), func() bool {
		c := 0
		for _, in := range tr.attempts {
			if in.Key.ID == id {
				c++
			}
		}
		return c >= n
	})
}

// History returns the history batches received so far.
func (tr *Traffic) History() []message.History {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]message.History(nil), tr.history...)
}

// HistoryMessages waits until the history batches hold n messages in all,
// and returns the batches.
func (tr *Traffic) HistoryMessages(t testing.TB, n int) []message.History {
	t.Helper()
	tr.await(t, fmt.Sprintf("%d history messages", n), func() bool {
		c := 0
		for _, h := range tr.history {
			c += len(h.Messages)
		}
		return c >= n
	})
	return tr.History()
}

// Receipt waits for a receipt of type typ naming id, and returns it.
func (tr *Traffic) Receipt(t testing.TB, id string, typ message.ReceiptType) message.Receipt {
	t.Helper()
	var got message.Receipt
	tr.await(t, fmt.Sprintf("%s receipt for %s", typ, id), func() bool {
		for _, r := range tr.receipts {
			for _, rid := range r.IDs {
				if rid == id && r.Type == typ {
					got = r
					return true
				}
			}
		}
		return false
	})
	return got
}

func (tr *Traffic) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return fmt.Sprintf("traffic: %d attempts, %d stored, %d receipts, %d history batches",
		len(tr.attempts), len(tr.incoming), len(tr.receipts), len(tr.history))
}
