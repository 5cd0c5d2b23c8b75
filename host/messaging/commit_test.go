package messaging_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

// countingStore counts the units of work committed.
type countingStore struct {
	storage.Store
	mu  sync.Mutex // guards txs
	txs int
}

func (c *countingStore) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	c.mu.Lock()
	c.txs++
	c.mu.Unlock()
	return c.Store.InTx(ctx, fn)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txs
}

// TestGroupCommitKeepsEachMessageAtomic: incoming messages arriving
// together are stored with one webhook each, and a redelivered one in the same batch stays a duplicate
// without a second webhook, on both backends.
func TestGroupCommitKeepsEachMessageAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var cs *countingStore
		e := newEnv(t, b, func(c *messaging.Config) {
			cs = &countingStore{Store: c.Store}
			c.Store = cs
		})
		before := cs.count()
		const n = 40
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, n+1)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- e.svc.HandleIncoming(ctx, e.inst.ID, incoming(fmt.Sprintf("3A00000000000000GC%02d", i), "batch"))
			}()
		}
		wg.Add(1)
		go func() { // the server delivers one again while the first is in flight
			defer wg.Done()
			errs <- e.svc.HandleIncoming(ctx, e.inst.ID, incoming("3A00000000000000GC00", "batch"))
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if evs := e.events(); len(evs) != n {
			t.Fatalf("%d webhooks for %d messages", len(evs), n)
		}
		for i := range n {
			if _, err := e.store.Message(ctx, e.inst.ID, fmt.Sprintf("3A00000000000000GC%02d", i)); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		// How many units of work the batches took depends on how the
		// goroutines were scheduled (BenchmarkStack measures the gain); the
		// count is logged, not asserted.
		t.Logf("%d units of work for %d messages and a redelivery", cs.count()-before, n)
	})
}

// TestGroupCommitRetriesABadUnitAlone: a unit whose write fails fails
// alone; the others in its batch commit.
func TestGroupCommitRetriesABadUnitAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		ctx := context.Background()
		var wg sync.WaitGroup
		results := make([]error, 12)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := "unknown-instance"
				if i%4 != 0 {
					id = e.inst.ID
				}
				results[i] = e.svc.HandleReceipt(ctx, id, message.Receipt{Chat: peer, IDs: []string{"x"}, Type: message.ReceiptRead})
			}()
		}
		wg.Wait()
		for i, err := range results {
			if (i%4 == 0) != (err != nil) {
				t.Errorf("receipt %d: %v", i, err)
			}
		}
	})
}

// TestMetricsMove: accepted, sent, failed and incoming messages move the
// queue's metrics on the registry.
func TestMetricsMove(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newEnv(t, backends[0], func(c *messaging.Config) { c.Registerer = reg })
	if q := metricValues(t, reg)["wahost_messages_queued_instances"]; q != 0 {
		t.Fatalf("queued instances %v before any accept", q)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	e.sess.setResult(func(out message.Outgoing, _ []byte) (message.Sent, error) {
		close(entered)
		<-release
		return message.Sent{ID: out.ID, Timestamp: t0}, nil
	})
	ok := e.accept(text(peer, "ok"), "")
	<-entered
	if q := metricValues(t, reg)["wahost_messages_queued_instances"]; q != 1 {
		t.Errorf("queued instances %v while a send is under way", q)
	}
	close(release)
	e.sess.awaitSend(t)
	e.awaitStatus(ok.Message.ID, storage.MessageSent)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) {
		return message.Sent{}, &message.ServerError{Code: 463}
	})
	bad := e.accept(text(peer, "bad"), "")
	e.sess.awaitSend(t)
	e.awaitStatus(bad.Message.ID, storage.MessageFailed)
	if err := e.svc.HandleIncoming(context.Background(), e.inst.ID, incoming("3A00000000000000MT01", "in")); err != nil {
		t.Fatal(err)
	}
	m := metricValues(t, reg)
	for name, want := range map[string]float64{
		"wahost_messages_sent_total":                        1,
		`wahost_messages_failed_total{reason=server_error}`: 1,
		`wahost_messages_failed_total{reason=expired}`:      0,
		"wahost_messages_incoming_total":                    1,
		"wahost_messages_ack_seconds_count":                 1,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
}

// metricValues flattens the registry: name{label=value} → value, and
// histograms as name_count.
func metricValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestReceiptBeforeAckStillReportsTheSend: the recipient's delivery
// receipt recorded before the send's acknowledgement leaves the message
// delivered, and the acknowledgement still writes its send.message.
func TestReceiptBeforeAckStillReportsTheSend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		ctx := context.Background()
		e.sess.setResult(func(out message.Outgoing, _ []byte) (message.Sent, error) {
			if err := e.svc.HandleReceipt(ctx, e.inst.ID, message.Receipt{Chat: peer, IDs: []string{out.ID},
				Type: message.ReceiptDelivered}); err != nil {
				t.Error(err)
			}
			return message.Sent{ID: out.ID, Timestamp: t0}, nil
		})
		a := e.accept(text(peer, "race"), "")
		e.sess.awaitSend(t)
		var got []string
		deadline := time.After(waitLimit)
		for !slices.Contains(got, "send.message") {
			for _, h := range e.events() {
				got = append(got, h.Event+" "+fmt.Sprint(h.Data["status"]))
				if h.Event == "send.message" {
					got = append(got, "send.message")
				}
			}
			if slices.Contains(got, "send.message") {
				break
			}
			select {
			case <-e.nudges:
			case <-deadline:
				t.Fatalf("no send.message; events %v", got)
			}
		}
		if want := []string{"messages.update DELIVERY_ACK", "send.message SERVER_ACK", "send.message"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if m := e.awaitStatus(a.Message.ID, storage.MessageDelivered); m.Status != storage.MessageDelivered {
			t.Errorf("status %s", m.Status)
		}
	})
}
