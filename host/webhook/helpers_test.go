package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// waitLimit bounds every wait for asynchronous work; reaching it fails the
// test.
const waitLimit = 20 * time.Second

// t0 is where fake clocks start.
var t0 = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)

// backends opens each store wahost supports, isolated for t, on the given
// clock (nil: the system clock).
var backends = []struct {
	name string
	open func(t *testing.T, now func() time.Time) storage.Store
}{
	{"sqlite", func(t *testing.T, now func() time.Time) storage.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db"), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T, now func() time.Time) storage.Store {
		schema := testenv.Name("wahost_webhook_")
		s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db, _, err := s.SessionDB()
			if err == nil {
				if _, err := db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`); err != nil {
					t.Errorf("drop schema %s: %v", schema, err)
				}
				_ = db.Close()
			}
			_ = s.Close()
		})
		return s
	}},
}

// forEachBackend runs test in parallel on every backend.
func forEachBackend(t *testing.T, test func(t *testing.T, open func(t *testing.T, now func() time.Time) storage.Store)) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.open)
		})
	}
}

// call is one outbox write the dispatcher made.
type call struct {
	Op, ID, LastError string
	Next              time.Time
}

// recStore records the dispatcher's outbox writes and can be killed, after
// which they fail as if the process had died.
type recStore struct {
	storage.Store
	mu      sync.Mutex // guards calls, changed, dead
	calls   []call
	changed chan struct{} // closed and replaced on every call
	dead    bool
}

func newRecStore(s storage.Store) *recStore {
	return &recStore{Store: s, changed: make(chan struct{})}
}

var errKilled = errors.New("process killed")

func (r *recStore) record(c call, write func() error) error {
	r.mu.Lock()
	dead := r.dead
	r.mu.Unlock()
	if dead {
		return errKilled
	}
	err := write()
	if err != nil {
		c.Op += " failed"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	close(r.changed)
	r.changed = make(chan struct{})
	return err
}

func (r *recStore) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead = true
}

func (r *recStore) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]storage.OutboxEvent, error) {
	r.mu.Lock()
	dead := r.dead
	r.mu.Unlock()
	if dead {
		return nil, errKilled
	}
	return r.Store.Claim(ctx, worker, n, lease)
}

// InTx passes fn a Tx that records the deliveries it marks once the unit
// of work commits, as the dispatcher's batched deliveries do.
func (r *recStore) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	t := &recTx{Tx: nil, r: r}
	err := r.Store.InTx(ctx, func(tx storage.Tx) error {
		t.Tx = tx
		return fn(t)
	})
	if err == nil {
		for _, id := range t.marked {
			_ = r.record(call{Op: "delivered", ID: id}, func() error { return nil })
		}
	}
	return err
}

type recTx struct {
	storage.Tx
	r      *recStore
	marked []string
}

func (t *recTx) MarkDelivered(ctx context.Context, id string) error {
	m, ok := t.Tx.(interface {
		MarkDelivered(ctx context.Context, id string) error
	})
	if !ok {
		return errors.New("the store's units of work cannot mark deliveries")
	}
	t.r.mu.Lock()
	dead := t.r.dead
	t.r.mu.Unlock()
	if dead {
		return errKilled
	}
	if err := m.MarkDelivered(ctx, id); err != nil {
		return err
	}
	t.marked = append(t.marked, id)
	return nil
}

func (r *recStore) MarkDelivered(ctx context.Context, id string) error {
	return r.record(call{Op: "delivered", ID: id}, func() error { return r.Store.MarkDelivered(ctx, id) })
}

// MarkDeliveredMany records one delivered call per event, as the writes
// of MarkDelivered one by one would.
func (r *recStore) MarkDeliveredMany(ctx context.Context, ids []string) error {
	r.mu.Lock()
	dead := r.dead
	r.mu.Unlock()
	if dead {
		return errKilled
	}
	if err := r.Store.MarkDeliveredMany(ctx, ids); err != nil {
		return r.record(call{Op: "delivered"}, func() error { return err })
	}
	for _, id := range ids {
		_ = r.record(call{Op: "delivered", ID: id}, func() error { return nil })
	}
	return nil
}

func (r *recStore) MarkRetry(ctx context.Context, id string, next time.Time, lastErr string) error {
	return r.record(call{Op: "retry", ID: id, Next: next, LastError: lastErr}, func() error {
		return r.Store.MarkRetry(ctx, id, next, lastErr)
	})
}

func (r *recStore) MarkFailed(ctx context.Context, id string, lastErr string) error {
	return r.record(call{Op: "failed", ID: id, LastError: lastErr}, func() error {
		return r.Store.MarkFailed(ctx, id, lastErr)
	})
}

// waitCall waits for a recorded call that match accepts and returns it.
func (r *recStore) waitCall(t *testing.T, what string, match func(call) bool) call {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		for _, c := range r.calls {
			if match(c) {
				r.mu.Unlock()
				return c
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; outbox writes: %+v", what, r.snapshot())
		}
	}
}

// snapshot returns the last writes, for failure messages.
func (r *recStore) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls[max(len(r.calls)-20, 0):]...)
}

// pump advances clk by step after every outbox write until done is
// closed, so that every retry and hold the dispatcher schedules comes due.
// Tests that pump use a lease much longer than step, or renewals would
// keep it going.
func (r *recStore) pump(t *testing.T, clk *clock.Fake, step time.Duration, done <-chan struct{}) {
	t.Helper()
	deadline := time.After(waitLimit)
	seen := -1
	for {
		r.mu.Lock()
		n, ch := len(r.calls), r.changed
		r.mu.Unlock()
		if n != seen {
			seen = n
			clk.Advance(step)
		}
		select {
		case <-done:
			return
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out pumping the clock; outbox writes: %+v", r.snapshot())
		}
	}
}

// hit is one request a receiver got.
type hit struct {
	ID, Event, Path string
	Header          http.Header
	Body            []byte
	Env             webhook.Envelope
	Seq             int // the data's "seq", when present
	N               int // 1 for the first request with this delivery ID
	Status          int
}

// receiver is a webhook endpoint whose answers a test scripts.
type receiver struct {
	*httptest.Server
	// respond answers a request: it returns the status, or 0 after it
	// broke the connection. nil answers 200.
	respond func(w http.ResponseWriter, r *http.Request, h hit) int

	mu      sync.Mutex // guards hits, seen, changed
	hits    []hit
	seen    map[string]int
	changed chan struct{}
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, h hit) int) *receiver {
	rc := &receiver{respond: respond, seen: map[string]int{}, changed: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := hit{ID: r.Header.Get(webhook.HeaderDelivery), Event: r.Header.Get(webhook.HeaderEvent),
		Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	_ = json.Unmarshal(body, &h.Env)
	var data struct {
		Seq int `json:"seq"`
	}
	_ = json.Unmarshal(h.Env.Data, &data)
	h.Seq = data.Seq
	rc.mu.Lock()
	rc.seen[h.ID]++
	h.N = rc.seen[h.ID]
	rc.mu.Unlock()

	h.Status = http.StatusOK
	if rc.respond != nil {
		h.Status = rc.respond(w, r, h)
	}
	if h.Status != 0 {
		w.WriteHeader(h.Status)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits = append(rc.hits, h)
	close(rc.changed)
	rc.changed = make(chan struct{})
}

// waitHits waits until done accepts the hits so far.
func (rc *receiver) waitHits(t *testing.T, what string, done func([]hit) bool) []hit {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		rc.mu.Lock()
		hits := append([]hit(nil), rc.hits...)
		ch := rc.changed
		rc.mu.Unlock()
		if done(hits) {
			return hits
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d requests", what, len(hits))
		}
	}
}

// when returns a channel closed once done accepts the hits so far; it
// gives up silently after waitLimit (the waiting test times out itself).
func (rc *receiver) when(done func([]hit) bool) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		deadline := time.After(waitLimit)
		for {
			rc.mu.Lock()
			ok := done(rc.hits)
			changed := rc.changed
			rc.mu.Unlock()
			if ok {
				close(ch)
				return
			}
			select {
			case <-changed:
			case <-deadline:
				return
			}
		}
	}()
	return ch
}

// checkOrder fails t unless the requests for instance went out in lane
// order: each one for the lowest seq not yet delivered.
func checkOrder(t *testing.T, hits []hit, instance string, n int) {
	t.Helper()
	next := 1
	var got []string
	for _, h := range hits {
		if h.Env.Instance != instance {
			continue
		}
		got = append(got, strconv.Itoa(h.Seq)+"/"+strconv.Itoa(h.Status))
		if h.Seq != next {
			t.Errorf("instance %s: event %d sent while event %d was not delivered; requests %v", instance, h.Seq, next, got)
			return
		}
		if h.Status/100 == 2 {
			next++
		}
	}
	if next != n+1 {
		t.Errorf("instance %s: delivered %d events, want %d; requests %v", instance, next-1, n, got)
	}
}

// delivered counts the distinct delivery IDs answered 2xx.
func delivered(hits []hit) int {
	ids := map[string]bool{}
	for _, h := range hits {
		if h.Status/100 == 2 {
			ids[h.ID] = true
		}
	}
	return len(ids)
}

// breakConn drops the connection without an answer, as a receiver that
// crashed mid-request.
func breakConn(w http.ResponseWriter) int {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
	return 0
}

// newInstance creates an instance with the given settings.
func newInstance(t *testing.T, s storage.Store, name string, set storage.InstanceSettings) storage.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := s.CreateInstance(ctx, storage.Instance{Name: name, OwnerJID: "5511900000000@s.whatsapp.net"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSettings(ctx, inst.ID, set); err != nil {
		t.Fatal(err)
	}
	return inst
}

// enqueue writes one event in its own unit of work and nudges d.
func enqueue(t testing.TB, s storage.Store, d *webhook.Dispatcher, inst storage.Instance, event string, payload any) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx storage.Tx) error {
		return d.Enqueue(context.Background(), tx, inst, event, payload)
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Nudge()
}

// start runs d until the test ends.
func start(t *testing.T, d *webhook.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// noJitter makes backoff deterministic: always the longest wait.
func noJitter(d time.Duration) time.Duration { return d }

// testLogger logs warnings and errors through t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// seqData is a payload whose order tests can check.
type seqData struct {
	Seq int `json:"seq"`
}
