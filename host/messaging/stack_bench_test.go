package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// Sizes of the stack benchmark.
const (
	stackInstances = 50 // instances paired on the fake server
	// stackPeers is how many whatsmeow devices send to the instances. A
	// whatsmeow client sends one message at a time, waiting for the
	// server's acknowledgement, so the peers' number bounds the incoming
	// rate the benchmark can offer.
	stackPeers = 25
	stackSinks = 10 // accounts the instances send to
	// stackConns is the PostgreSQL pool (database.max_conns), shared by
	// wahost's store and whatsmeow's: pgxpool's default, 4 on two cores,
	// leaves 50 sessions queueing for a connection.
	stackConns = 32
)

// stack is the real sending and receiving path: the messaging service on
// PostgreSQL, the session manager's whatsmeow clients paired on the fake
// server, peers that are whatsmeow devices linked with LinkDevice, offline
// recipients (sinks), and a webhook receiver.
type stack struct {
	env     *sessiontest.Env
	hooks   *webhook.Dispatcher
	acks    *commitClock
	upserts *upsertCounter
	traffic *switchTraffic
	ids     []string
	jids    []types.JID // the instances' accounts
	peers   []*wafaketest.Device
	sinks   []types.JID
}

// switchTraffic hands the sessions' traffic to the service under test;
// the manager takes its Traffic once, before its first Connect.
type switchTraffic struct {
	cur atomic.Pointer[messaging.Service]
}

func (s *switchTraffic) HandleIncoming(ctx context.Context, id string, in message.Incoming) error {
	return s.cur.Load().HandleIncoming(ctx, id, in)
}

func (s *switchTraffic) HandleReceipt(ctx context.Context, id string, r message.Receipt) error {
	return s.cur.Load().HandleReceipt(ctx, id, r)
}

func (s *switchTraffic) HandleHistory(ctx context.Context, id string, h message.History) error {
	return s.cur.Load().HandleHistory(ctx, id, h)
}

// commitClock stamps each send.message when the unit of work that wrote it
// has committed (the Nudge after it), and counts them.
type commitClock struct {
	*webhook.Dispatcher
	mu      sync.Mutex // guards pending, acked
	pending []string
	acked   map[string]time.Time
	done    atomic.Int64
	each    chan struct{}
}

func (a *commitClock) Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error {
	if m, ok := payload.(evolution.Message); ok && event == evolution.EventSend {
		a.mu.Lock()
		a.pending = append(a.pending, m.Key.ID)
		a.mu.Unlock()
	}
	return a.Dispatcher.Enqueue(ctx, tx, inst, event, payload)
}

func (a *commitClock) Nudge() {
	now := time.Now()
	a.mu.Lock()
	for _, id := range a.pending {
		if _, ok := a.acked[id]; !ok {
			a.acked[id] = now
			a.done.Add(1)
		}
	}
	a.pending = a.pending[:0]
	a.mu.Unlock()
	select {
	case a.each <- struct{}{}:
	default:
	}
	a.Dispatcher.Nudge()
}

func (a *commitClock) waitFor(b *testing.B, n int64) {
	b.Helper()
	deadline := time.After(5 * time.Minute)
	for a.done.Load() < n {
		select {
		case <-a.each:
		case <-deadline:
			b.Fatalf("%d of %d sends acknowledged", a.done.Load(), n)
		}
	}
}

// upsertCounter is the webhook receiver: it counts messages.upsert.
type upsertCounter struct {
	n    atomic.Int64
	each chan struct{}
}

func (u *upsertCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env webhook.Envelope
	if err := json.NewDecoder(r.Body).Decode(&env); err == nil && env.Event == "messages.upsert" {
		u.n.Add(1)
		select {
		case u.each <- struct{}{}:
		default:
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (u *upsertCounter) waitFor(b *testing.B, n int64) {
	b.Helper()
	deadline := time.After(5 * time.Minute)
	for u.n.Load() < n {
		select {
		case <-u.each:
		case <-deadline:
			b.Fatalf("%d of %d messages.upsert delivered", u.n.Load(), n)
		}
	}
}

// newStack pairs stackInstances instances and stackPeers peers on one fake
// server and opens every session.
func newStack(b *testing.B) *stack {
	b.Helper()
	s := &stack{traffic: &switchTraffic{}, upserts: &upsertCounter{each: make(chan struct{}, 1)}}
	s.env = sessiontest.New(b, sessiontest.Options{Postgres: true, MaxConns: stackConns, Manager: session.Config{Traffic: s.traffic}})
	recv := httptest.NewServer(s.upserts)
	b.Cleanup(recv.Close)
	hooks, err := webhook.New(webhook.Config{Store: s.env.Store, Workers: 16,
		Global: webhook.Destination{URL: recv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hooks.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	s.hooks = hooks
	s.acks = &commitClock{Dispatcher: hooks, acked: map[string]time.Time{}, each: make(chan struct{}, 1)}

	for i := range stackPeers {
		s.peers = append(s.peers, wafaketest.LinkDevice(b, s.env.Server,
			wafaketest.User(b, s.env.Server, fmt.Sprintf("5511977%06d", i))))
	}
	// The instances send to accounts whose one device is linked, its keys
	// uploaded, and offline: the server keeps what it acknowledged for them.
	// The fake server writes a message to an online recipient before it
	// acknowledges it to the sender, so an online recipient (its store a
	// SQLite file) would gate the sender's acknowledgements, which
	// WhatsApp's servers do not.
	for i := range stackSinks {
		d := wafaketest.LinkDevice(b, s.env.Server, wafaketest.User(b, s.env.Server, fmt.Sprintf("5511988%06d", i)))
		d.Client.Disconnect()
		s.sinks = append(s.sinks, d.Phone.JID)
	}
	for i := range stackInstances {
		phone := wafaketest.User(b, s.env.Server, fmt.Sprintf("5511966%06d", i))
		inst, _ := s.env.Instance(b, fmt.Sprintf("stack-%02d", i), storage.StatusOpen, phone)
		s.ids = append(s.ids, inst.ID)
		s.jids = append(s.jids, phone.JID)
		if err := s.env.Manager.Connect(ctx, inst.ID); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range s.ids {
		s.env.Handler.Wait(b, id, sessiontest.Connected, 1)
	}
	return s
}

// service starts a messaging service on the stack with the given group
// commit size and routes the sessions' traffic to it until cleanup.
func (s *stack) service(b *testing.B, batch int) *messaging.Service {
	b.Helper()
	svc, err := messaging.New(messaging.Config{Store: s.env.Store, Session: s.env.Manager, Webhooks: s.acks,
		TTL: time.Hour, Batch: batch})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	s.traffic.cur.Store(svc)
	return svc
}

// peerOf is the account instance i sends to.
func (s *stack) peerOf(i int) string {
	return s.sinks[i%len(s.sinks)].String()
}

// acceptAll accepts n messages over every instance at once.
func (s *stack) acceptAll(b *testing.B, svc *messaging.Service, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for i, id := range s.ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := svc.Accept(context.Background(), id, text(s.peerOf(i), "bench"), ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// BenchmarkStack measures the real stack — 50 instances paired on the
// fake server, PostgreSQL, whatsmeow on both ends — with group commit off
// (batch=1) and on (the default), in one run:
//
//	go test -run '^$' -bench Stack -benchtime 3000x ./host/messaging/
//
// send: messages accepted and server-acknowledged (status and webhooks
// committed) per second. latency500: accept→ack p50 and p99 at 500
// messages a second offered. incoming: messages from peers stored and
// delivered to the webhook receiver as messages.upsert, per second.
func BenchmarkStack(b *testing.B) {
	s := newStack(b)
	for _, mode := range []struct {
		name  string
		batch int
	}{{"batch=1", 1}, {"batch=default", 0}} {
		svc := s.service(b, mode.batch)
		b.Run(mode.name+"/send", func(b *testing.B) { s.benchSend(b, svc) })
		b.Run(mode.name+"/latency500", func(b *testing.B) { s.benchLatency(b, svc, 500) })
		b.Run(mode.name+"/incoming", func(b *testing.B) { s.benchIncoming(b) })
		if err := svc.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *stack) benchSend(b *testing.B, svc *messaging.Service) {
	base := s.acks.done.Load()
	b.ResetTimer()
	s.acceptAll(b, svc, b.N)
	s.acks.waitFor(b, base+int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")

}

func (s *stack) benchLatency(b *testing.B, svc *messaging.Service, rate int) {
	base := s.acks.done.Load()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	accepted := make(map[string]time.Time, b.N)
	var mu sync.Mutex
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Add(1)
		go func() { // an Accept slower than the tick must not lower the offered rate
			defer wg.Done()
			start := time.Now()
			inst := i % len(s.ids)
			a, err := svc.Accept(context.Background(), s.ids[inst], text(s.peerOf(inst), "latency"), "")
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			accepted[a.Message.ID] = start
			mu.Unlock()
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	s.acks.waitFor(b, base+int64(b.N))
	b.StopTimer()
	lat := make([]time.Duration, 0, b.N)
	s.acks.mu.Lock()
	for id, start := range accepted {
		lat = append(lat, s.acks.acked[id].Sub(start))
	}
	s.acks.mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

func (s *stack) benchIncoming(b *testing.B) {
	base := s.upserts.n.Load()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for _, p := range s.peers {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := next.Add(1)
					if n > int64(b.N) {
						return
					}
					to := s.jids[int(n)%len(s.jids)]
					if _, err := p.Client.SendMessage(context.Background(), to,
						&waE2E.Message{Conversation: proto.String("bench in")}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	s.upserts.waitFor(b, base+int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
