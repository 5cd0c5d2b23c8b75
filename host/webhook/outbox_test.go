package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// claimAll returns every due row, to see what Enqueue wrote.
func claimAll(t *testing.T, s storage.Store) []storage.OutboxEvent {
	t.Helper()
	evs, err := s.Claim(context.Background(), "inspector", storage.MaxPage, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestEnqueueRoutes checks which rows Enqueue writes for the global and
// an instance's destination, with event filters in both forms and by-events
// URLs.
func TestEnqueueRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		s := open(t, nil)
		d, err := webhook.New(webhook.Config{Store: s, Global: webhook.Destination{
			URL: "https://global.example/hooks/?token=x", Events: []string{"CONNECTION_UPDATE", "qrcode.updated"}, ByEvents: true,
		}})
		if err != nil {
			t.Fatal(err)
		}
		own := newInstance(t, s, "own", storage.InstanceSettings{
			WebhookURL: "https://own.example/wh", WebhookEvents: []string{"status.instance", "connection.update"}})
		plain := newInstance(t, s, "plain", storage.InstanceSettings{})
		if err := d.Load(context.Background()); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			inst  storage.Instance
			event string
			want  []string // destinations, in order
		}{
			{own, "connection.update", []string{"https://global.example/hooks/connection-update?token=x", "https://own.example/wh"}},
			{own, "status.instance", []string{"https://own.example/wh"}},
			{own, "QRCODE_UPDATED", []string{"https://global.example/hooks/qrcode-updated?token=x"}},
			{own, "logout.instance", nil},
			{plain, "connection.update", []string{"https://global.example/hooks/connection-update?token=x"}},
			{plain, "status.instance", nil},
		} {
			t.Run(c.inst.Name+"/"+c.event, func(t *testing.T) {
				enqueue(t, s, d, c.inst, c.event, map[string]string{"k": "v"})
				var got []string
				for _, ev := range claimAll(t, s) {
					var env webhook.Envelope
					if err := json.Unmarshal(ev.Payload, &env); err != nil {
						t.Fatal(err)
					}
					if ev.Event != webhook.EventName(c.event) || env.Event != ev.Event || ev.InstanceID != c.inst.ID {
						t.Errorf("row %s of %s, envelope event %s; want %s of %s", ev.Event, ev.InstanceID, env.Event, webhook.EventName(c.event), c.inst.ID)
					}
					got = append(got, env.Destination)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("destinations %q, want %q", got, c.want)
				}
			})
		}

		// Settings changes apply to events enqueued afterwards.
		d.SetInstance(plain.ID, storage.InstanceSettings{WebhookURL: "https://plain.example", WebhookByEvents: true})
		d.SetGlobal(webhook.Destination{})
		enqueue(t, s, d, plain, "status.instance", nil)
		if evs := claimAll(t, s); len(evs) != 1 || !json.Valid(evs[0].Payload) ||
			!containsDest(evs[0].Payload, "https://plain.example/status-instance") {
			t.Errorf("after SetInstance: rows %+v", evs)
		}
		d.ForgetInstance(plain.ID)
		enqueue(t, s, d, plain, "status.instance", nil)
		if evs := claimAll(t, s); len(evs) != 0 {
			t.Errorf("after ForgetInstance: %d rows, want none", len(evs))
		}
	})
}

func containsDest(payload []byte, url string) bool {
	var env webhook.Envelope
	return json.Unmarshal(payload, &env) == nil && env.Destination == url
}

// TestRolledBack checks that a webhook enqueued in a unit of work that
// rolls back is never written, and one that commits is.
func TestRolledBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		s := open(t, nil)
		d, err := webhook.New(webhook.Config{Store: s, Global: webhook.Destination{URL: "https://global.example"}})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, s, "a", storage.InstanceSettings{})
		ctx := context.Background()
		boom := errors.New("boom")
		err = s.InTx(ctx, func(tx storage.Tx) error {
			if err := d.Enqueue(ctx, tx, inst, "connection.update", seqData{Seq: 1}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the callback's error", err)
		}
		if evs := claimAll(t, s); len(evs) != 0 {
			t.Fatalf("rolled-back unit of work left %d rows", len(evs))
		}
		enqueue(t, s, d, inst, "connection.update", seqData{Seq: 2})
		if evs := claimAll(t, s); len(evs) != 1 {
			t.Fatalf("committed unit of work left %d rows, want 1", len(evs))
		}
	})
}

// TestCrashMidDelivery kills a dispatcher while its request hangs: a
// second dispatcher delivers the event once the first one's lease ends,
// and the receiver, which saw it twice, processes it once.
func TestCrashMidDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		base := open(t, nil)
		hung := make(chan struct{})
		// The receiver processes an event as it arrives and remembers
		// its delivery ID, so that a repeat is answered without being
		// processed again.
		var mu sync.Mutex
		processed, dropped := map[string]int{}, 0
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			mu.Lock()
			dup := processed[h.ID] > 0
			if dup {
				dropped++
			} else {
				processed[h.ID]++
			}
			mu.Unlock()
			if !dup {
				// Processed; before the answer goes out, the first
				// dispatcher dies and the request hangs until its
				// client gives up.
				close(hung)
				<-r.Context().Done()
				return 0
			}
			return http.StatusOK
		})
		const lease = 300 * time.Millisecond
		first := newRecStore(base)
		d1, err := webhook.New(webhook.Config{Store: first, Global: webhook.Destination{URL: rc.URL},
			Lease: lease, Timeout: lease / 2, WorkerID: "host-1", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, base, "a", storage.InstanceSettings{})
		ctx1, crash := context.WithCancel(context.Background())
		ran1 := make(chan error, 1)
		go func() { ran1 <- d1.Run(ctx1) }()
		enqueue(t, base, d1, inst, "connection.update", seqData{Seq: 1})
		select {
		case <-hung:
		case <-time.After(waitLimit):
			t.Fatal("the first dispatcher sent nothing")
		}
		first.kill()
		crash()

		second := newRecStore(base)
		d2, err := webhook.New(webhook.Config{Store: second, Global: webhook.Destination{URL: rc.URL},
			Lease: lease, Timeout: lease / 2, PollInterval: lease / 4, WorkerID: "host-2", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		start(t, d2)
		c := second.waitCall(t, "the second dispatcher's delivery", func(c call) bool { return c.Op == "delivered" })
		if err := <-ran1; err != nil {
			t.Fatalf("first Run: %v", err)
		}

		ev, err := base.OutboxEvent(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DeliveredAt == nil || ev.ClaimedBy != "host-2" || ev.Attempts != 2 {
			t.Errorf("outbox row %+v, want delivered by host-2 on the second claim", ev)
		}
		if age := ev.DeliveredAt.Sub(ev.CreatedAt); age < lease {
			t.Errorf("delivered %s after enqueue, before the first lease of %s ended", age, lease)
		}
		hits := rc.waitHits(t, "both requests", func(h []hit) bool { return len(h) == 2 })
		if hits[0].ID != c.ID || hits[1].ID != c.ID {
			t.Errorf("requests for %s and %s, want both for %s", hits[0].ID, hits[1].ID, c.ID)
		}
		mu.Lock()
		defer mu.Unlock()
		if processed[c.ID] != 1 || dropped != 1 {
			t.Errorf("receiver processed the event %d times and dropped %d repeats, want 1 and 1 (by %s)",
				processed[c.ID], dropped, webhook.HeaderDelivery)
		}
	})
}

// TestShutdownReleases checks that Run hands claimed events it had not
// started back to the outbox, due at once, when it stops.
func TestShutdownReleases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		s := newRecStore(open(t, clk.Now))
		release := make(chan struct{})
		sent := make(chan struct{}, 1)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			sent <- struct{}{}
			<-release
			return http.StatusOK
		})
		d, err := webhook.New(webhook.Config{Store: s, Global: webhook.Destination{URL: rc.URL}, Workers: 1, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, s, "a", storage.InstanceSettings{})
		for i := 1; i <= 3; i++ {
			enqueue(t, s, d, inst, "connection.update", seqData{Seq: i})
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- d.Run(ctx) }()
		<-sent
		cancel()
		close(release) // the request under way completes
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		evs := claimAll(t, s)
		if len(evs) != 2 {
			t.Fatalf("%d events due after shutdown, want the 2 not started", len(evs))
		}
		hits := rc.waitHits(t, "", func([]hit) bool { return true })
		if len(hits) != 1 || hits[0].Seq != 1 || delivered(hits) != 1 {
			t.Errorf("receiver got %+v, want event 1 delivered", hits)
		}
	})
}
