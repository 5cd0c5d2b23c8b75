package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/purge"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

var (
	policyOnce sync.Once
	shared     *policy.Manager
	policyErr  error
)

// defaultPolicy is the built-in WASM policy, compiled once for the
// package's tests.
func defaultPolicy(t *testing.T) *policy.Manager {
	t.Helper()
	policyOnce.Do(func() {
		ctx := context.Background()
		shared, policyErr = policy.New(ctx, policy.Config{Engine: runtime.Config{CacheDir: testenv.CompileCacheDir()}, Logger: quiet})
		if policyErr == nil {
			_, policyErr = shared.Apply(ctx, policy.Spec{Module: builtin.DefaultName}, "test")
		}
	})
	if policyErr != nil {
		t.Fatal(policyErr)
	}
	return shared
}

// sessions records what the executor asks of the session layer.
type sessions struct {
	mu       sync.Mutex
	calls    []string
	resetErr error
	connects chan string
}

func (s *sessions) record(op, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op+" "+id)
}

func (s *sessions) Connect(_ context.Context, id string) error {
	s.record("connect", id)
	if s.connects != nil {
		s.connects <- id
	}
	return nil
}
func (s *sessions) Disconnect(id string) error { s.record("disconnect", id); return nil }
func (s *sessions) ResetSession(_ context.Context, id string) (int64, error) {
	s.record("reset", id)
	return 7, s.resetErr
}
func (s *sessions) Recreate(_ context.Context, id string) error { s.record("recreate", id); return nil }

func (s *sessions) ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// outbox writes each webhook as an outbox row in the caller's transaction,
// as the dispatcher does; failNext makes the next Enqueue fail.
type outbox struct {
	mu       sync.Mutex
	failNext bool
	nudges   int
}

func (o *outbox) Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error {
	o.mu.Lock()
	fail := o.failNext
	o.failNext = false
	o.mu.Unlock()
	if fail {
		return errors.New("outbox refused the row")
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: inst.ID, Event: event, Payload: b})
	return err
}

func (o *outbox) Nudge() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nudges++
}

var quiet = slog.New(slog.DiscardHandler)

type env struct {
	t        testing.TB
	ctx      context.Context
	store    storage.Store
	clock    *clock.Fake
	sched    *reconnect.Scheduler
	sessions *sessions
	outbox   *outbox
	cache    *memcache.Cache
	dir      datadir.Dir
	exec     *executor.Executor
	settings storage.InstanceSettings
}

func newEnv(t testing.TB, p disconnect.Policy, opts ...func(*executor.Config)) *env {
	t.Helper()
	root := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(root, "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newEnvOn(t, st, clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), p, opts...)
}

// newEnvOn is newEnv on a given store and clock.
func newEnvOn(t testing.TB, st storage.Store, clk *clock.Fake, p disconnect.Policy, opts ...func(*executor.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir, err := datadir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t: t, ctx: ctx, store: st, clock: clk,
		sessions: &sessions{connects: make(chan string, 8)}, outbox: &outbox{}, dir: dir,
	}
	e.cache = memcache.New(e.clock.Now)
	var ex *executor.Executor
	e.sched = reconnect.New(reconnect.Config{Clock: e.clock, Fire: func(j reconnect.Job) { ex.Fire(j) }})
	cfg := executor.Config{
		Store: st, Decider: disconnect.New(p, disconnect.Options{Now: e.clock.Now, Logger: quiet}),
		Scheduler: e.sched, Sessions: e.sessions, Webhooks: e.outbox,
		Purger: purge.New(purge.Config{Queue: st, Cache: e.cache, Now: e.clock.Now}),
		Files:  dir, QRLimit: 30, Clock: e.clock,
		Random: func() uint32 { return 42 }, Logger: quiet,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ex = executor.New(cfg)
	e.exec = ex
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ex.Stop(ctx); err != nil {
			t.Errorf("executor.Stop: %v", err)
		}
	})
	return e
}

func (e *env) instance(name string, status storage.Status) storage.Instance {
	e.t.Helper()
	inst, err := e.store.CreateInstance(e.ctx, storage.Instance{Name: name, Status: status, OwnerJID: "5511999990000@s.whatsapp.net"})
	if err != nil {
		e.t.Fatal(err)
	}
	return inst
}

func (e *env) reload(id string) storage.Instance {
	e.t.Helper()
	inst, err := e.store.Instance(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inst
}

// events returns the outbox rows of an instance, oldest first, as event
// name and decoded payload.
func (e *env) events(id string) []storage.OutboxEvent {
	e.t.Helper()
	evs, err := e.store.Claim(e.ctx, "test", storage.MaxPage, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storage.OutboxEvent
	for _, ev := range evs {
		if ev.InstanceID == id {
			out = append(out, ev)
		}
	}
	return out
}

func names(evs []storage.OutboxEvent) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Event)
	}
	return s
}

func payload(t *testing.T, ev storage.OutboxEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReconnectIsScheduledAndCarriedOut(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("sales", storage.StatusOpen)
	res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired, Raw: "515"},
		Phase: abi.PhaseOpen, ConnectedFor: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Outcome.Decision
	if d.Action != abi.ActionReconnect || res.Outcome.Fallback {
		t.Fatalf("decision = %+v (fallback %v), want a reconnect from the policy", d, res.Outcome.Fallback)
	}
	got := e.reload(inst.ID)
	if got.Status != storage.StatusConnecting || got.Attempt != 1 || got.DisconnectionReasonCode != 515 {
		t.Fatalf("instance after the decision = %+v", got)
	}
	hist, err := e.store.ListDisconnects(e.ctx, inst.ID, 0, 10)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	row := hist[0]
	if row.Kind != "restart_required" || row.Code != 515 || row.Action != "reconnect" || row.PolicySHA256 == "" ||
		row.Fallback || row.JitterSeed != 42 || len(row.Decision) == 0 {
		t.Fatalf("recorded disconnect = %+v", row)
	}
	if evs := names(e.events(inst.ID)); !slices.Equal(evs, []string{"disconnect.decided", "connection.update"}) {
		t.Fatalf("webhooks = %v", evs)
	}

	job, ok := e.sched.Pending(inst.ID)
	want := e.clock.Now().Add(time.Duration(d.DelayMS) * time.Millisecond)
	if !ok || !job.Due.Equal(want) || job.Step != d.Step {
		t.Fatalf("pending reconnect = %+v, %v; want due %s step %d", job, ok, want, d.Step)
	}
	e.clock.Advance(time.Duration(d.DelayMS)*time.Millisecond - time.Millisecond)
	e.sched.RunOnce()
	select {
	case id := <-e.sessions.connects:
		t.Fatalf("%s reconnected before its delay", id)
	default:
	}
	e.clock.Advance(time.Millisecond)
	e.sched.RunOnce()
	if id := <-e.sessions.connects; id != inst.ID {
		t.Fatalf("reconnected %s, want %s", id, inst.ID)
	}

	// The session opens again: reconnection.success says how long it took.
	e.clock.Advance(2 * time.Second)
	if _, err := e.exec.HandleConnected(e.ctx, inst.ID, executor.Opened{JID: inst.OwnerJID, PushName: "Sales"}); err != nil {
		t.Fatal(err)
	}
	got = e.reload(inst.ID)
	if got.Status != storage.StatusOpen || got.Attempt != 0 || got.ProfileName != "Sales" {
		t.Fatalf("instance after reopening = %+v", got)
	}
	evs := e.events(inst.ID)
	if n := names(evs); !slices.Equal(n, []string{"connection.update", "reconnection.success"}) {
		t.Fatalf("webhooks after reopening = %v", n)
	}
	p := payload(t, evs[1])
	wantMS := float64(d.DelayMS + 2000)
	if p["previousDisconnectCode"] != float64(515) || p["reconnectionTime"] != wantMS {
		t.Fatalf("reconnection.success = %v, want code 515 and %v ms", p, wantMS)
	}
}

func TestLoggedOutEndsTheSessionAndCleansEverything(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("support", storage.StatusOpen)
	if err := e.cache.Set(e.ctx, inst.ID, "chats", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if err := e.cache.Set(e.ctx, inst.ID, "contacts", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	path, err := e.dir.MakeInstance(inst.Name)
	if err != nil {
		t.Fatal(err)
	}
	e.sched.Schedule(reconnect.Job{InstanceID: inst.ID, Step: 1, Due: e.clock.Now().Add(time.Hour)})

	res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut, Raw: "401"}, Phase: abi.PhaseOpen,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Outcome.Decision; d.Action != abi.ActionLogout || d.Cleanup != abi.ScopeAll {
		t.Fatalf("decision = %+v, want a logout cleaning everything", d)
	}
	if c := res.Cleanup; c == nil || c.Session != 7 || c.CacheKeys != 2 || !c.Files || len(c.Errors) != 0 {
		t.Fatalf("cleanup = %+v", res.Cleanup)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("instance directory still there: %v", err)
	}
	if v, err := e.cache.Get(e.ctx, inst.ID, "chats"); err == nil {
		t.Fatalf("cache key survived the purge: %q", v)
	}
	if _, ok := e.sched.Pending(inst.ID); ok {
		t.Fatal("the pending reconnect survived the logout")
	}
	if ops := e.sessions.ops(); !slices.Equal(ops, []string{"disconnect " + inst.ID, "reset " + inst.ID}) {
		t.Fatalf("session operations = %v", ops)
	}
	got := e.reload(inst.ID)
	if got.Status != storage.StatusClose || got.DisconnectionAt == nil || got.DisconnectionReasonCode != 401 {
		t.Fatalf("instance = %+v", got)
	}
	evs := e.events(inst.ID)
	want := []string{"disconnect.decided", "status.instance", "logout.instance", "connection.update", "instance.cleanup"}
	if n := names(evs); !slices.Equal(n, want) {
		t.Fatalf("webhooks = %v, want %v", n, want)
	}
	if p := payload(t, evs[4]); p["scope"] != "session,cache,files" || p["session_rows"] != float64(7) ||
		p["cache_keys"] != float64(2) || p["files_removed"] != true {
		t.Fatalf("instance.cleanup = %v", p)
	}
	if p := payload(t, evs[1]); p["status"] != "closed" || p["disconnectionReasonCode"] != float64(401) {
		t.Fatalf("status.instance = %v", p)
	}
	if p := payload(t, evs[3]); p["state"] != "close" || p["statusReason"] != float64(401) {
		t.Fatalf("connection.update = %v", p)
	}
}

func TestQRLimitRefusesTheInstance(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("new", storage.StatusConnecting)
	if err := e.store.PutSettings(e.ctx, inst.ID, storage.InstanceSettings{QRLimit: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		ok, err := e.exec.HandleQR(e.ctx, inst.ID, executor.QRCode{Code: "2@ref" + string(rune('a'+i))})
		if err != nil || !ok {
			t.Fatalf("QR %d = %v, %v", i+1, ok, err)
		}
	}
	ok, err := e.exec.HandleQR(e.ctx, inst.ID, executor.QRCode{Code: "2@refc"})
	if err != nil || ok {
		t.Fatalf("QR past the limit = %v, %v; want refused", ok, err)
	}
	got := e.reload(inst.ID)
	if got.Status != storage.StatusRefused || got.QRCount != 0 {
		t.Fatalf("instance = %+v, want refused with the count reset", got)
	}
	evs := e.events(inst.ID)
	n := names(evs)
	want := []string{"qrcode.updated", "qrcode.updated", "disconnect.decided", "qrcode.updated", "connection.update", "instance.cleanup"}
	if !slices.Equal(n, want) {
		t.Fatalf("webhooks = %v, want %v", n, want)
	}
	if p := payload(t, evs[3]); p["message"] != executor.QRLimitMessage {
		t.Fatalf("qrcode.updated at the limit = %v", p)
	}
	if p := payload(t, evs[4]); p["state"] != "refused" {
		t.Fatalf("connection.update = %v", p)
	}
}

func TestEscalationSteps(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("escalate", storage.StatusConnecting)
	for _, step := range []int{abi.StepPurge, abi.StepReset, abi.StepRecreate} {
		if err := e.cache.Set(e.ctx, inst.ID, "k", []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
		e.exec.RunReconnect(e.ctx, reconnect.Job{InstanceID: inst.ID, Step: step})
		<-e.sessions.connects
		_, err := e.cache.Get(e.ctx, inst.ID, "k")
		if purged := errors.Is(err, storage.ErrNotFound); purged != (step == abi.StepPurge) {
			t.Fatalf("step %d: cache purged = %v (%v)", step, purged, err)
		}
		if step == abi.StepPurge {
			continue
		}
		_, _ = e.cache.Purge(e.ctx, inst.ID)
	}
	want := []string{"connect " + inst.ID, "reset " + inst.ID, "connect " + inst.ID, "recreate " + inst.ID, "connect " + inst.ID}
	if ops := e.sessions.ops(); !slices.Equal(ops, want) {
		t.Fatalf("session operations = %v, want %v", ops, want)
	}
}

// trapping is a policy whose every call fails, as a module that traps.
type trapping struct{}

func (trapping) Decide(context.Context, []byte) (disconnect.Answer, error) {
	return disconnect.Answer{Module: "broken", SHA256: strings.Repeat("ab", 32)}, errors.New("policy broken (abababababab): trap: unreachable")
}

func TestPolicyFaultStillDecides(t *testing.T) {
	e := newEnv(t, trapping{})
	inst := e.instance("fallback", storage.StatusOpen)
	res, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed, Cause: abi.CauseRefused},
		Phase: abi.PhaseOpen,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Outcome.Fallback || res.Outcome.Decision.Action != abi.ActionReconnect || !res.Disconnect.Fallback {
		t.Fatalf("outcome = %+v", res.Outcome)
	}
	if _, ok := e.sched.Pending(inst.ID); !ok {
		t.Fatal("the fallback's reconnect was not scheduled")
	}
}

func TestFailedUnitOfWorkLeavesNoTrace(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("atomic", storage.StatusOpen)
	e.outbox.failNext = true
	_, err := e.exec.HandleDisconnect(e.ctx, inst.ID, executor.Report{
		Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut}, Phase: abi.PhaseOpen,
	})
	if err == nil {
		t.Fatal("HandleDisconnect succeeded although its webhook could not be written")
	}
	if got := e.reload(inst.ID); got.Status != storage.StatusOpen || got.DisconnectionAt != nil {
		t.Fatalf("instance changed by a rolled-back unit of work: %+v", got)
	}
	if hist, _ := e.store.ListDisconnects(e.ctx, inst.ID, 0, 10); len(hist) != 0 {
		t.Fatalf("history kept a rolled-back disconnect: %+v", hist)
	}
	if evs := e.events(inst.ID); len(evs) != 0 {
		t.Fatalf("webhooks of a rolled-back disconnect: %v", names(evs))
	}
	if ops := e.sessions.ops(); len(ops) != 0 {
		t.Fatalf("side effects of a rolled-back disconnect: %v", ops)
	}
}

func TestManualOperations(t *testing.T) {
	e := newEnv(t, defaultPolicy(t))
	inst := e.instance("manual", storage.StatusOpen)
	e.sched.Schedule(reconnect.Job{InstanceID: inst.ID, Step: 1, Due: e.clock.Now().Add(time.Hour)})
	if err := e.exec.ForceReconnect(e.ctx, inst.ID, true); err != nil {
		t.Fatal(err)
	}
	<-e.sessions.connects
	if _, ok := e.sched.Pending(inst.ID); ok {
		t.Fatal("force reconnect left the scheduled reconnect")
	}
	got := e.reload(inst.ID)
	if got.Status != storage.StatusConnecting || got.OwnerJID != "" {
		t.Fatalf("instance after a clean force reconnect = %+v", got)
	}
	want := []string{"disconnect " + inst.ID, "reset " + inst.ID, "connect " + inst.ID}
	if ops := e.sessions.ops(); !slices.Equal(ops, want) {
		t.Fatalf("session operations = %v, want %v", ops, want)
	}

	rep, err := e.exec.Reset(e.ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Session != 7 {
		t.Fatalf("reset report = %+v", rep)
	}
	got = e.reload(inst.ID)
	if got.Status != storage.StatusClose || got.Attempt != 0 || got.QRCount != 0 || got.ProfileName != "" {
		t.Fatalf("instance after reset = %+v", got)
	}
	if _, err := e.exec.Reset(e.ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("reset of a missing instance = %v, want ErrNotFound", err)
	}
}
