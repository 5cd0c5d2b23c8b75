package replay_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/policies/replay"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/purge"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

type nopSessions struct{}

func (nopSessions) Connect(context.Context, string) error               { return nil }
func (nopSessions) Disconnect(string) error                             { return nil }
func (nopSessions) ResetSession(context.Context, string) (int64, error) { return 0, nil }
func (nopSessions) Recreate(context.Context, string) error              { return nil }

type outbox struct{}

func (outbox) Enqueue(context.Context, storage.Tx, storage.Instance, string, any) error { return nil }
func (outbox) Nudge()                                                                   {}

// record drives a day of disconnects through the real executor and the
// built-in policy, and returns what the store kept.
func record(t *testing.T) []replay.Record {
	t.Helper()
	return recordEvents(t, []abi.Event{
		{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed, Cause: abi.CauseRefused},
		{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired},
		{Kind: abi.KindKeepAliveTimeout, Code: abi.CodeTimedOut},
		{Kind: abi.KindStreamReplaced, Code: abi.CodeConnectionReplaced},
		{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed},
		{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut},
	}, nil)
}

// fixedTraffic gives every input the same traffic counters.
type fixedTraffic abi.Traffic

func (f *fixedTraffic) Snapshot(string) abi.Traffic { return abi.Traffic(*f) }

// recordEvents drives events, for two instances, through the real
// executor and the built-in policy, with tr as their traffic.
func recordEvents(t *testing.T, events []abi.Event, tr *fixedTraffic) []replay.Record {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(root, "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	dir, err := datadir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := policy.New(ctx, policy.Config{Engine: runtime.Config{CacheDir: testenv.CompileCacheDir()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pm.Close(ctx) })
	if _, err := pm.Apply(ctx, policy.Spec{Module: builtin.DefaultName}, "test"); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC))
	cache := memcache.New(clk.Now)
	sched := reconnect.New(reconnect.Config{Clock: clk, Fire: func(reconnect.Job) {}})
	seed := uint32(0)
	cfg := executor.Config{
		Store: st, Decider: disconnect.New(pm, disconnect.Options{Now: clk.Now, Logger: quiet}),
		Scheduler: sched, Sessions: nopSessions{}, Webhooks: outbox{},
		Purger: purge.New(purge.Config{Queue: st, Cache: cache, Now: clk.Now}), Files: dir,
		QRLimit: 30, Clock: clk, Logger: quiet,
		Random: func() uint32 { seed += 7919; return seed },
	}
	if tr != nil {
		cfg.Traffic = tr
	}
	ex := executor.New(cfg)
	for _, name := range []string{"north", "south"} {
		inst, err := st.CreateInstance(ctx, storage.Instance{Name: name, Status: storage.StatusOpen})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			clk.Advance(7 * time.Minute)
			if _, err := ex.HandleDisconnect(ctx, inst.ID, executor.Report{Event: ev, Phase: abi.PhaseOpen, ConnectedFor: time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
	}
	insts, err := st.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var recs []replay.Record
	for _, inst := range insts {
		rows, err := st.ListDisconnects(ctx, inst.ID, 0, storage.MaxPage)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			recs = append(recs, replay.Record{ID: d.ID, InstanceID: inst.Name, At: d.At, Kind: d.Kind, Code: d.Code, Decision: d.Decision, Input: d.Input})
		}
	}
	return recs
}

func load(t *testing.T, ref string) replay.Decide {
	t.Helper()
	ctx := context.Background()
	e, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: testenv.CompileCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(ctx) })
	src, err := source.Read(ref, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Load(ctx, ref, src.Wasm, source.LoadOptions(nil, abi.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	return m.Decide
}

func TestReplayWithTheSamePolicyChangesNothing(t *testing.T) {
	recs := record(t)
	sum, err := replay.Run(context.Background(), recs, load(t, builtin.DefaultName), abi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 12 || sum.Replayed != 12 || sum.Same != 12 || sum.Changed != 0 || sum.Faults != 0 {
		var b strings.Builder
		sum.WriteText(&b, 20)
		t.Fatalf("replaying the recording policy changed decisions:\n%s", b.String())
	}
}

func TestReplayWithAnotherPolicy(t *testing.T) {
	recs := record(t)
	fixed := filepath.Join("..", "..", "runtime", "testdata", "fixed.wasm")
	if _, err := os.Stat(fixed); err != nil {
		t.Fatal(err)
	}
	sum, err := replay.Run(context.Background(), recs, load(t, fixed), abi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// fixed.wasm reconnects after 1 s on everything: the two logouts (401)
	// become reconnects, the other ten stay reconnects at another delay.
	if got := sum.ByAction["logout→reconnect"]; got != 2 || sum.ByAction["reconnect→reconnect"] != 10 {
		t.Fatalf("by action = %+v, want 2 logout→reconnect and 10 reconnect→reconnect", sum.ByAction)
	}
	if c := sum.ByCode[401]; c == nil || c.Total != 2 || c.Changed != 2 {
		t.Fatalf("by code 401 = %+v", c)
	}
	if sum.Changed != len(sum.Cases) || sum.Changed+sum.Same != 12 || sum.Changed < 2 {
		t.Fatalf("summary = %+v", sum)
	}
	delays := 0
	for k, n := range sum.ByDelay {
		if !strings.HasSuffix(k, "→1s-10s") {
			t.Fatalf("delay bucket %q: fixed.wasm always waits 1 s", k)
		}
		delays += n
	}
	if delays != 10 {
		t.Fatalf("by delay = %+v, want the 10 reconnects", sum.ByDelay)
	}
	var b strings.Builder
	sum.WriteText(&b, 3)
	out := b.String()
	for _, want := range []string{"12 records, 12 replayed", "By code", "logout→reconnect", "Cases that differ", "more"} {
		if !strings.Contains(out, want) {
			t.Fatalf("text summary lacks %q:\n%s", want, out)
		}
	}
}

func TestRecordsWithoutInputAreSkipped(t *testing.T) {
	recs := []replay.Record{{ID: 1, InstanceID: "x", At: time.Now(), Kind: "disconnected", Code: 428, Decision: []byte(`{"v":1,"action":"reconnect","delay_ms":1,"step":1}`)}}
	sum, err := replay.Run(context.Background(), recs, func(context.Context, []byte) ([]byte, error) {
		t.Fatal("decided a record without input")
		return nil, nil
	}, abi.Limits{})
	if err != nil || sum.Skipped != 1 || sum.Replayed != 0 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
}

// Recorded degraded events replay with their traffic: the default module
// (ABI 1.2) decides them as recorded; a module of an older version is
// never asked, the native rules decide them as the host did.
func TestReplayDegraded(t *testing.T) {
	tr := fixedTraffic{Undecryptable: abi.Counts{4, 4}, UndecryptableSenders: abi.Counts{3, 3}, UnackedSends: abi.Counts{2, 2}}
	recs := recordEvents(t, []abi.Event{
		{Kind: abi.KindDegraded, Signal: abi.SignalUndecryptable},
		{Kind: abi.KindDegraded, Signal: abi.SignalUndecryptable},
		{Kind: abi.KindDegraded, Signal: abi.SignalUnackedSends},
		{Kind: abi.KindDegraded, Signal: abi.SignalSendErrors},
	}, &tr)
	var actions []string
	for _, r := range recs {
		d, err := abi.DecodeDecision(r.Decision)
		if err != nil || r.Kind != "degraded" {
			t.Fatalf("record %+v: %v", r, err)
		}
		actions = append(actions, d.Rule)
	}
	want := "degraded_send_errors degraded_unacked degraded_undecryptable_reset degraded_undecryptable" // newest first
	if got := strings.Join(actions[:4], " "); got != want {
		t.Fatalf("recorded rules %s, want %s", got, want)
	}
	sum, err := replay.Run(context.Background(), recs, load(t, builtin.DefaultName), abi.Limits{})
	if err != nil || sum.Replayed != 8 || sum.Same != 8 || sum.Faults != 0 {
		t.Fatalf("replay: %+v, %v", sum, err)
	}
	asked := 0
	older := replay.ForMinor(1, func(ctx context.Context, in []byte) ([]byte, error) {
		asked++
		return nil, context.Canceled
	})
	sum, err = replay.Run(context.Background(), recs, older, abi.Limits{})
	if err != nil || asked != 0 || sum.Same != 8 || sum.Faults != 0 {
		t.Fatalf("replay for ABI 1.1: %+v, asked %d, %v", sum, asked, err)
	}
}

// A module older than ABI 1.3 is not obeyed when it asks to switch the
// proxy, in a replay as in the host; a module of 1.3 is.
func TestForMinorDropsAnOlderSwitch(t *testing.T) {
	ctx := context.Background()
	asks := func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"v":1,"action":"reconnect","delay_ms":5,"step":1,"switch_proxy":true,"reason":"m"}`), nil
	}
	in := abi.SelfTestInput(nil).AppendJSON(nil)
	for minor, want := range map[uint16]bool{0: false, 2: false, abi.ProxyMinor: true} {
		out, err := replay.ForMinor(minor, asks)(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(out), `"switch_proxy":true`); got != want {
			t.Errorf("minor %d: %s", minor, out)
		}
	}
}
