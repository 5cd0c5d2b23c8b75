package messaging_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// waitLimit bounds every wait for asynchronous work.
const waitLimit = 20 * time.Second

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeSession is a recording message.Session: every call is recorded;
// Send answers with result (default: acknowledged at the clock's time).
type fakeSession struct {
	mu        sync.Mutex // guards the fields below
	result    func(out message.Outgoing, media []byte) (message.Sent, error)
	sent      []sentCall
	reads     []readCall
	presences []string
	download  []byte
	sends     chan sentCall
}

type sentCall struct {
	Out   message.Outgoing
	Media []byte
}

type readCall struct {
	Chat, Sender string
	IDs          []string
}

func newFakeSession() *fakeSession { return &fakeSession{sends: make(chan sentCall, 1000)} }

func (f *fakeSession) setResult(fn func(out message.Outgoing, media []byte) (message.Sent, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.result = fn
}

func (f *fakeSession) Send(_ context.Context, _ string, out message.Outgoing, media []byte) (message.Sent, error) {
	f.mu.Lock()
	fn := f.result
	f.mu.Unlock()
	sent, err := message.Sent{ID: out.ID, Timestamp: t0}, error(nil)
	if fn != nil {
		sent, err = fn(out, media)
	}
	c := sentCall{Out: out, Media: media}
	f.mu.Lock()
	f.sent = append(f.sent, c)
	f.mu.Unlock()
	f.sends <- c
	return sent, err
}

func (f *fakeSession) IsOnWhatsApp(_ context.Context, _ string, phones []string) ([]message.Check, error) {
	out := make([]message.Check, len(phones))
	for i, p := range phones {
		out[i] = message.Check{Query: p, JID: p + "@s.whatsapp.net", Exists: p[len(p)-1] != '0'}
	}
	return out, nil
}

func (f *fakeSession) MarkRead(_ context.Context, _ string, chat, sender string, ids []string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, readCall{chat, sender, ids})
	return nil
}

func (f *fakeSession) SendPresence(_ context.Context, _ string, chat string, p message.Presence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presences = append(f.presences, chat+"|"+string(p))
	return nil
}

func (f *fakeSession) ProfilePictureURL(_ context.Context, _ string, jid string) (string, error) {
	return "https://pps.whatsapp.net/" + jid, nil
}

func (f *fakeSession) Download(context.Context, string, json.RawMessage) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.download == nil {
		return nil, "", message.ErrNoMedia
	}
	return f.download, "image/jpeg", nil
}

// awaitSend returns the next send, failing the test after waitLimit.
func (f *fakeSession) awaitSend(t *testing.T) sentCall {
	t.Helper()
	select {
	case c := <-f.sends:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no send")
		return sentCall{}
	}
}

// env is a service on a real store with a real webhook dispatcher (that
// never delivers: the tests read its outbox rows).
type env struct {
	t     *testing.T
	store storage.Store
	clock *clock.Fake
	sess  *fakeSession
	svc   *messaging.Service
	inst  storage.Instance
	cfg   messaging.Config
	// nudges receives a signal after every commit that wrote webhooks.
	nudges chan struct{}
}

type backend struct {
	name string
	open func(t *testing.T, now func() time.Time) storage.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T, now func() time.Time) storage.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db"), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T, now func() time.Time) storage.Store { return openPostgres(t, now) }},
}

func openPostgres(t testing.TB, now func() time.Time) storage.Store {
	schema := testenv.Name("wahost_messaging_")
	s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, _, err := s.SessionDB()
		if err == nil {
			_, _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`)
			_ = db.Close()
		}
		_ = s.Close()
	})
	return s
}

// forEachBackend runs test on SQLite and PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

// newEnv starts a service for a paired, open instance. tune adjusts the
// config before New.
func newEnv(t *testing.T, b backend, tune func(*messaging.Config)) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	st := b.open(t, clk.Now)
	e := &env{t: t, store: st, clock: clk, sess: newFakeSession(), nudges: make(chan struct{}, 1)}
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx storage.Tx) error {
		inst, err := tx.CreateInstance(ctx, storage.Instance{Name: "alpha"})
		if err != nil {
			return err
		}
		inst.OwnerJID, inst.Status, inst.ProfileName = "5511000000001:3@s.whatsapp.net", storage.StatusOpen, "Alpha"
		e.inst, err = tx.UpdateInstance(ctx, inst)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hooks, err := webhook.New(webhook.Config{Store: st, Global: webhook.Destination{URL: "http://127.0.0.1:9/hook"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = messaging.Config{
		Store: st, Session: e.sess, Webhooks: nudgeTap{hooks, e.nudges}, Clock: clk, TTL: time.Hour,
		RetryDelay: time.Minute, Random: func() float64 { return 0.5 },
	}
	if tune != nil {
		tune(&e.cfg)
	}
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	svc, err := messaging.New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			e.t.Errorf("stop: %v", err)
		}
	})
}

func (e *env) accept(out message.Outgoing, key string) messaging.Accepted {
	e.t.Helper()
	a, err := e.svc.Accept(context.Background(), e.inst.ID, out, key)
	if err != nil {
		e.t.Fatalf("accept: %v", err)
	}
	return a
}

func text(to, body string) message.Outgoing {
	return message.Outgoing{To: to, Kind: message.KindText, Text: body}
}

// hook is one queued webhook, decoded.
type hook struct {
	Event string
	Data  map[string]any
	Raw   json.RawMessage
}

// events returns the webhooks queued so far, in order, and marks them
// claimed so the next call returns only newer ones.
func (e *env) events() []hook {
	e.t.Helper()
	evs, err := e.store.Claim(context.Background(), "test", storage.MaxPage, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]hook, 0, len(evs))
	for _, ev := range evs {
		var env struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(ev.Payload, &env); err != nil {
			e.t.Fatal(err)
		}
		h := hook{Event: env.Event, Raw: env.Data}
		_ = json.Unmarshal(env.Data, &h.Data)
		out = append(out, h)
	}
	return out
}

// awaitStatus waits until message id has status.
func (e *env) awaitStatus(id string, want storage.MessageStatus) storage.Message {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		m, err := e.store.Message(context.Background(), e.inst.ID, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("message %s: status %s (%s), want %s", id, m.Status, m.Reason, want)
		}
		select {
		case <-e.nudges:
		case <-time.After(time.Until(deadline)):
		}
	}
}

// nudgeTap passes webhooks through and signals every commit that wrote
// some (the service nudges after each).
type nudgeTap struct {
	*webhook.Dispatcher
	c chan struct{}
}

func (n nudgeTap) Nudge() {
	n.Dispatcher.Nudge()
	select {
	case n.c <- struct{}{}:
	default:
	}
}
