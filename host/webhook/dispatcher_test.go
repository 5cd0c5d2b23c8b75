package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

type connUpdate struct {
	Instance     string `json:"instance"`
	State        string `json:"state"`
	StatusReason int    `json:"statusReason"`
}

// TestDeliver sends one event and checks everything a receiver sees: the
// headers, the envelope and a signature VerifySignature accepts.
func TestDeliver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, nil)
		reg := prometheus.NewPedanticRegistry()
		d, err := webhook.New(webhook.Config{Store: rs, Secret: "s3cret", ServerURL: "https://wahost.example",
			Clock: clk, Logger: testLogger(t), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, rs, "sales-01", storage.InstanceSettings{WebhookURL: rc.URL + "/hook"})
		if err := d.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		start(t, d)
		enqueue(t, rs, d, inst, "CONNECTION_UPDATE", connUpdate{Instance: inst.Name, State: "close", StatusReason: 428})

		h := rc.waitHits(t, "the delivery", func(h []hit) bool { return len(h) == 1 })[0]
		rs.waitCall(t, "MarkDelivered", func(c call) bool { return c.Op == "delivered" && c.ID == h.ID })

		for name, want := range map[string]string{
			"Content-Type":          "application/json",
			"User-Agent":            "wahost",
			webhook.HeaderEvent:     "connection.update",
			webhook.HeaderTimestamp: strconv.FormatInt(t0.Unix(), 10),
		} {
			if got := h.Header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if sig := h.Header.Get(webhook.HeaderSignature); !strings.HasPrefix(sig, "v1=") {
			t.Errorf("%s = %q, want v1=<hex>", webhook.HeaderSignature, sig)
		}
		if err := storage.ValidateID("delivery", h.ID); err != nil {
			t.Errorf("X-Wahost-Delivery %q: %v", h.ID, err)
		}
		if err := webhook.VerifySignature("s3cret", h.Header, h.Body, clk.Now(), time.Minute); err != nil {
			t.Errorf("VerifySignature: %v", err)
		}
		if err := webhook.VerifySignature("other", h.Header, h.Body, clk.Now(), time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("VerifySignature with another secret = %v, want ErrBadSignature", err)
		}

		want := webhook.Envelope{Event: "connection.update", Instance: "sales-01",
			Data:        json.RawMessage(`{"instance":"sales-01","state":"close","statusReason":428}`),
			Destination: rc.URL + "/hook", DateTime: "2025-01-31T12:00:00.000Z",
			Sender: "5511900000000@s.whatsapp.net", ServerURL: "https://wahost.example"}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(h.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 7 {
			t.Errorf("envelope has fields %v, want the 7 of Evolution API's minus apikey", keys(raw))
		}
		if string(h.Env.Data) != string(want.Data) {
			t.Errorf("data = %s, want %s", h.Env.Data, want.Data)
		}
		h.Env.Data, want.Data = nil, nil
		if !reflect.DeepEqual(h.Env, want) {
			t.Errorf("envelope = %+v, want %+v", h.Env, want)
		}

		got := gather(t, reg)
		for name, want := range map[string]float64{
			`wahost_webhook_deliveries_total{result="delivered"}`: 1,
			`wahost_webhook_deliveries_total{result="retry"}`:     0,
			`wahost_webhook_deliveries_total{result="failed"}`:    0,
			`wahost_webhook_enqueued_total`:                       1,
			`wahost_webhook_request_duration_seconds_count`:       1,
			`wahost_webhook_queue_lag_seconds_count`:              1,
		} {
			if v, ok := got[name]; !ok || v != want {
				t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
			}
		}
		if _, ok := got["wahost_webhook_claimed_events"]; !ok {
			t.Error("wahost_webhook_claimed_events missing")
		}

		ev, err := rs.OutboxEvent(context.Background(), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DeliveredAt == nil || ev.Attempts != 1 || ev.ClaimedBy != d.WorkerID() {
			t.Errorf("outbox row = %+v, want delivered on the first attempt by %s", ev, d.WorkerID())
		}
	})
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReceiverDownThenUp keeps the receiver down for several retries of
// every lane, brings it up and checks that every event arrives once, in
// order per instance.
func TestReceiverDownThenUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		up := make(chan struct{})
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			select {
			case <-up:
				return http.StatusNoContent
			default:
				return breakConn(w)
			}
		})
		// The pump moves the clock on at every outbox write, also while
		// one lane's request is in flight in real time: a lane whose
		// attempt takes a millisecond longer sees the other retry many
		// times meanwhile. No event may give up before the receiver is
		// back (TestGiveUp covers giving up), so attempts are not the
		// limit here.
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			Clock: clk, Jitter: noJitter, Lease: 24 * time.Hour, MaxAttempts: 1_000_000, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		a := newInstance(t, rs, "a", storage.InstanceSettings{})
		b := newInstance(t, rs, "b", storage.InstanceSettings{})
		start(t, d)
		for i := 1; i <= 3; i++ {
			enqueue(t, rs, d, a, "connection.update", seqData{Seq: i})
			enqueue(t, rs, d, b, "connection.update", seqData{Seq: i})
		}

		// Three failed attempts of each lane's head, then the receiver
		// comes back.
		rs.pump(t, clk, webhook.BackoffCap, rc.when(func(hits []hit) bool {
			n := map[string]int{}
			for _, h := range hits {
				n[h.Env.Instance]++
			}
			return n["a"] >= 3 && n["b"] >= 3
		}))
		close(up)
		rs.pump(t, clk, webhook.BackoffCap, rc.when(func(hits []hit) bool { return delivered(hits) == 6 }))

		hits := rc.waitHits(t, "every event", func(hits []hit) bool { return delivered(hits) == 6 })
		checkOrder(t, hits, "a", 3)
		checkOrder(t, hits, "b", 3)
	})
}

// TestPermanentFailureThenRedeliver fails an event for good on a 4xx and
// delivers it after Redeliver.
func TestPermanentFailureThenRedeliver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		fixed := make(chan struct{})
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			select {
			case <-fixed:
				return http.StatusOK
			default:
				return http.StatusGone
			}
		})
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			Clock: clk, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, rs, "a", storage.InstanceSettings{})
		start(t, d)
		enqueue(t, rs, d, inst, "logout.instance", seqData{Seq: 1})

		failed := rs.waitCall(t, "MarkFailed", func(c call) bool { return c.Op == "failed" })
		if !strings.Contains(failed.LastError, "410") {
			t.Errorf("last error %q does not name the status", failed.LastError)
		}
		ctx := context.Background()
		evs, err := rs.FailedEvents(ctx, inst.ID, 10)
		if err != nil || len(evs) != 1 || evs[0].ID != failed.ID || evs[0].Attempts != 1 {
			t.Fatalf("FailedEvents = %+v, %v; want the event, failed after one attempt", evs, err)
		}
		if err := d.Redeliver(ctx, storage.NewID()); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Redeliver(unknown) = %v, want ErrNotFound", err)
		}

		close(fixed)
		if err := d.Redeliver(ctx, failed.ID); err != nil {
			t.Fatal(err)
		}
		rs.waitCall(t, "MarkDelivered", func(c call) bool { return c.Op == "delivered" && c.ID == failed.ID })
		if err := d.Redeliver(ctx, failed.ID); !errors.Is(err, webhook.ErrNotFailed) {
			t.Errorf("Redeliver(delivered) = %v, want ErrNotFailed", err)
		}
		if n := len(rc.waitHits(t, "", func([]hit) bool { return true })); n != 2 {
			t.Errorf("receiver got %d requests, want 2", n)
		}
	})
}

// TestRetryAfter checks that a 503 with Retry-After postpones the retry by
// exactly that long, although backoff alone would retry within a second.
func TestRetryAfter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			if h.N == 1 {
				w.Header().Set("Retry-After", "120")
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			Clock: clk, Jitter: noJitter, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, rs, "a", storage.InstanceSettings{})
		start(t, d)
		enqueue(t, rs, d, inst, "connection.update", seqData{Seq: 1})

		retry := rs.waitCall(t, "MarkRetry", func(c call) bool { return c.Op == "retry" })
		if want := t0.Add(120 * time.Second); !retry.Next.Equal(want) {
			t.Fatalf("retry at %s, want %s (Retry-After: 120)", retry.Next, want)
		}
		ev, err := rs.OutboxEvent(context.Background(), retry.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !ev.NextAttemptAt.Equal(t0.Add(120*time.Second)) || !strings.Contains(ev.LastError, "503") {
			t.Fatalf("outbox row = %+v, want due at +120s with the 503 recorded", ev)
		}

		clk.Advance(119 * time.Second)
		d.Nudge()
		if evs, err := rs.Claim(context.Background(), "probe", 10, time.Minute); err != nil || len(evs) != 0 {
			t.Fatalf("claim 1s before Retry-After ends = %+v, %v; want nothing due", evs, err)
		}
		clk.Advance(time.Second)
		rs.waitCall(t, "MarkDelivered", func(c call) bool { return c.Op == "delivered" && c.ID == retry.ID })
	})
}

// TestOrderUnderRetries fails the first attempt of every event and checks
// that no event of an instance is sent before the previous one was
// delivered, while instances proceed independently.
func TestOrderUnderRetries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			if h.N == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			Clock: clk, Jitter: noJitter, Workers: 4, Lease: 24 * time.Hour, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		const perInstance = 6
		names := []string{"a", "b", "c"}
		insts := map[string]storage.Instance{}
		for _, n := range names {
			insts[n] = newInstance(t, rs, n, storage.InstanceSettings{})
		}
		// Everything is enqueued before the workers start, so that
		// every claim sees later events behind a failing one.
		for i := 1; i <= perInstance; i++ {
			for _, n := range names {
				enqueue(t, rs, d, insts[n], "connection.update", seqData{Seq: i})
			}
		}
		start(t, d)
		all := func(h []hit) bool { return delivered(h) == perInstance*len(names) }
		rs.pump(t, clk, webhook.BackoffCap, rc.when(all))

		hits := rc.waitHits(t, "every event", all)
		for _, n := range names {
			checkOrder(t, hits, n, perInstance)
			if got := len(filter(hits, n)); got != 2*perInstance {
				t.Errorf("instance %s: %d requests, want %d (one failure and one success per event)", n, got, 2*perInstance)
			}
		}
		for _, h := range hits {
			rs.waitCall(t, "MarkDelivered", func(c call) bool { return c.Op == "delivered" && c.ID == h.ID })
			ev, err := rs.OutboxEvent(context.Background(), h.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ev.DeliveredAt == nil {
				t.Errorf("event %s: not recorded as delivered", ev.ID)
			}
		}
	})
}

func filter(hits []hit, instance string) []hit {
	var out []hit
	for _, h := range hits {
		if h.Env.Instance == instance {
			out = append(out, h)
		}
	}
	return out
}

// TestGiveUp marks an event failed after MaxAttempts retryable failures,
// and lets the next event of the lane go.
func TestGiveUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			if h.Seq == 1 {
				return http.StatusBadGateway
			}
			return http.StatusOK
		})
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			MaxAttempts: 3, Clock: clk, Jitter: noJitter, Lease: 24 * time.Hour, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, rs, "a", storage.InstanceSettings{})
		enqueue(t, rs, d, inst, "connection.update", seqData{Seq: 1})
		enqueue(t, rs, d, inst, "connection.update", seqData{Seq: 2})
		start(t, d)
		rs.pump(t, clk, webhook.BackoffCap, rc.when(func(h []hit) bool { return delivered(h) == 1 }))

		failed := rs.waitCall(t, "MarkFailed", func(c call) bool { return c.Op == "failed" })
		if !strings.Contains(failed.LastError, "gave up after 3 attempts") || !strings.Contains(failed.LastError, "502") {
			t.Errorf("last error %q", failed.LastError)
		}
		hits := rc.waitHits(t, "", func([]hit) bool { return true })
		var seqs []int
		for _, h := range hits {
			seqs = append(seqs, h.Seq)
		}
		if !slices.Equal(seqs, []int{1, 1, 1, 2}) {
			t.Errorf("requests for events %v, want [1 1 1 2]", seqs)
		}
	})
}

// TestHeldEventsKeepTheirAttempts checks that the claims an event spends
// waiting behind a retrying one do not count against MaxAttempts.
func TestHeldEventsKeepTheirAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			if h.N < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		d, err := webhook.New(webhook.Config{Store: rs, Global: webhook.Destination{URL: rc.URL},
			MaxAttempts: 3, Clock: clk, Jitter: noJitter, Lease: 24 * time.Hour, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		inst := newInstance(t, rs, "a", storage.InstanceSettings{})
		for i := 1; i <= 3; i++ {
			enqueue(t, rs, d, inst, "connection.update", seqData{Seq: i})
		}
		start(t, d)
		rs.pump(t, clk, webhook.BackoffCap, rc.when(func(h []hit) bool { return delivered(h) == 3 }))
		checkOrder(t, rc.waitHits(t, "", func([]hit) bool { return true }), "a", 3)
		for _, c := range rs.snapshot() {
			if c.Op == "failed" {
				t.Errorf("event %s failed: %s", c.ID, c.LastError)
			}
		}
	})
}

// gather returns the registry's counters, gauges and histogram counts by
// name and labels, as the exposition format writes them.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// gatedStore holds back the answer of the first claim that returns the
// event numbered gateSeq until gate is closed, so that a test can change
// the outbox while that claim's answer is on its way.
type gatedStore struct {
	*recStore
	gateSeq int
	claimed chan struct{} // closed when the claim is held
	gate    chan struct{}
	open    sync.Once
	once    bool // owned by Claim: one claim runs at a time
}

// release lets the held claim answer; a test that fails early calls it
// at cleanup, or Run would wait for the claim for ever.
func (g *gatedStore) release() { g.open.Do(func() { close(g.gate) }) }

func (g *gatedStore) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]storage.OutboxEvent, error) {
	evs, err := g.recStore.Claim(ctx, worker, n, lease)
	for _, ev := range evs {
		if !g.once && strings.Contains(string(ev.Payload), `"seq":`+strconv.Itoa(g.gateSeq)+`}`) {
			g.once = true
			close(g.claimed)
			<-g.gate
		}
	}
	return evs, err
}

// TestClaimAnswerAfterHold lets a claim read the outbox while an
// instance's first event is in flight, finding its third event, and lands
// the answer only after the first event failed, its lane was held back and
// the clock passed the retry: the third event must still wait for the
// first two.
func TestClaimAnswerAfterHold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		gs := &gatedStore{recStore: newRecStore(open(t, clk.Now)), gateSeq: 3,
			claimed: make(chan struct{}), gate: make(chan struct{})}
		fail := make(chan struct{})
		firstID := make(chan string, 1)
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int {
			if h.Seq == 1 && h.N == 1 {
				firstID <- h.ID
				<-fail
				return breakConn(w)
			}
			return http.StatusNoContent
		})
		d, err := webhook.New(webhook.Config{Store: gs, Global: webhook.Destination{URL: rc.URL},
			Clock: clk, Jitter: noJitter, Lease: 24 * time.Hour, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		a := newInstance(t, gs, "a", storage.InstanceSettings{})
		enqueue(t, gs, d, a, "connection.update", seqData{Seq: 1})
		enqueue(t, gs, d, a, "connection.update", seqData{Seq: 2})
		start(t, d)
		t.Cleanup(gs.release)
		t.Cleanup(func() {
			select {
			case <-fail:
			default:
				close(fail)
			}
		})
		var first string
		select {
		case first = <-firstID:
		case <-time.After(waitLimit):
			t.Fatal("the first event was not sent")
		}
		enqueue(t, gs, d, a, "connection.update", seqData{Seq: 3})
		select {
		case <-gs.claimed:
		case <-time.After(waitLimit):
			t.Fatal("no claim returned the third event")
		}
		close(fail)
		// The second event goes back to the outbox behind the first: the
		// lane is held.
		gs.waitCall(t, "the second event held back", func(c call) bool { return c.Op == "retry" && c.ID != first })
		clk.Advance(time.Hour)
		gs.release()

		gs.pump(t, clk, time.Minute, rc.when(func(hits []hit) bool { return delivered(hits) == 3 }))
		checkOrder(t, rc.waitHits(t, "every event", func(hits []hit) bool { return delivered(hits) == 3 }), "a", 3)
	})
}
