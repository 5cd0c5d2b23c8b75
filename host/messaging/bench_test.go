package messaging_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// fastSession acknowledges every send at once.
type fastSession struct{ fakeSession }

func (f *fastSession) Send(_ context.Context, _ string, out message.Outgoing, _ []byte) (message.Sent, error) {
	return message.Sent{ID: out.ID, Timestamp: time.Now()}, nil
}

// ackClock records when each send's acknowledgement is written (inside
// its unit of work) and counts the commits.
type ackClock struct {
	*webhook.Dispatcher
	mu    sync.Mutex // guards acked
	acked map[string]time.Time
	done  atomic.Int64
	each  chan struct{}
}

func (a *ackClock) Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error {
	if m, ok := payload.(evolution.Message); ok && event == evolution.EventSend {
		a.mu.Lock()
		a.acked[m.Key.ID] = time.Now()
		a.mu.Unlock()
	}
	return a.Dispatcher.Enqueue(ctx, tx, inst, event, payload)
}

func (a *ackClock) Nudge() {
	a.done.Add(1)
	select {
	case a.each <- struct{}{}:
	default:
	}
}

func (a *ackClock) waitFor(b *testing.B, n int64) {
	deadline := time.After(5 * time.Minute)
	for a.done.Load() < n {
		select {
		case <-a.each:
		case <-deadline:
			b.Fatalf("%d of %d sends acknowledged", a.done.Load(), n)
		}
	}
}

// benchService is a service on PostgreSQL with instances paired and
// open, an unpaced queue and a session that acknowledges at once.
func benchService(b *testing.B, instances int) (*messaging.Service, *ackClock, []string) {
	b.Helper()
	st := openPostgres(b, time.Now)
	ctx := context.Background()
	ids := make([]string, instances)
	for i := range ids {
		inst, err := st.CreateInstance(ctx, storage.Instance{Name: fmt.Sprintf("bench-%d", i),
			OwnerJID: "5511000000001:3@s.whatsapp.net", Status: storage.StatusOpen})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = inst.ID
	}
	hooks, err := webhook.New(webhook.Config{Store: st, Global: webhook.Destination{URL: "http://127.0.0.1:9/hook"}})
	if err != nil {
		b.Fatal(err)
	}
	acks := &ackClock{Dispatcher: hooks, acked: map[string]time.Time{}, each: make(chan struct{}, 1)}
	svc, err := messaging.New(messaging.Config{Store: st, Session: &fastSession{}, Webhooks: acks, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc, acks, ids
}

// BenchmarkAcceptAndSend: messages accepted and sent (server ack
// recorded with its webhooks) per second through the service on
// PostgreSQL, over 8 instances accepting concurrently.
func BenchmarkAcceptAndSend(b *testing.B) {
	svc, acks, ids := benchService(b, 8)
	ctx := context.Background()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := svc.Accept(ctx, id, text(peer, "bench"), ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	acks.waitFor(b, int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAckLatency: accept→ack latency at a fixed offered rate (200
// messages a second over 4 instances, for b.N messages): p50 and p99.
func BenchmarkAckLatency(b *testing.B) {
	svc, acks, ids := benchService(b, 4)
	ctx := context.Background()
	const rate = 200
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	accepted := make(map[string]time.Time, b.N)
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		start := time.Now()
		a, err := svc.Accept(ctx, ids[i%len(ids)], text(peer, "latency"), "")
		if err != nil {
			b.Fatal(err)
		}
		accepted[a.Message.ID] = start
	}
	acks.waitFor(b, int64(b.N))
	b.StopTimer()
	lat := make([]time.Duration, 0, b.N)
	acks.mu.Lock()
	for id, start := range accepted {
		lat = append(lat, acks.acked[id].Sub(start))
	}
	acks.mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
