package executor_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/purge"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// BenchmarkStorm drops every instance at once — 10,000 by default,
// WAHOST_STORM_N to change — and measures the time until every decision
// is persisted in PostgreSQL (SQLite with WAHOST_STORM_STORE=sqlite)
// with its webhooks queued in the outbox, then how the scheduler spreads
// the reconnects. It starts at the executor (classified reports, as the
// session layer hands them over: each instance on its own goroutine;
// WAHOST_STORM_WORKERS bounds them) and runs the real WASM policy, the
// executor, the store and the webhook outbox.
//
//	go test -run '^$' -bench Storm -benchtime 1x ./host/executor/
func BenchmarkStorm(b *testing.B) {
	n := 10_000
	if s := os.Getenv("WAHOST_STORM_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	// The session layer hands each instance's drop over on that
	// instance's own goroutine: in a storm, every one at once.
	workers := n
	if s := os.Getenv("WAHOST_STORM_WORKERS"); s != "" {
		var err error
		if workers, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	st := stormStore(b)
	dir, err := datadir.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	hooks, err := webhook.New(webhook.Config{Store: st, Global: webhook.Destination{URL: "http://127.0.0.1:9/hooks"}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(time.Now())
	sched := reconnect.New(reconnect.Config{Clock: clk, Fire: func(reconnect.Job) {}})
	p := benchPolicy(b)
	ex := executor.New(executor.Config{
		Store: st, Decider: disconnect.New(p, disconnect.Options{Logger: quiet}),
		Scheduler: sched, Sessions: nopSessions{}, Webhooks: hooks,
		Purger: purge.New(purge.Config{Queue: st, Cache: memcache.New(nil)}), Files: dir,
		QRLimit: 30, Clock: clk, Logger: quiet,
	})

	ids := make([]string, n)
	for lo := 0; lo < n; lo += 500 {
		units := make([]storage.Unit, min(500, n-lo))
		for j := range units {
			i := lo + j
			units[j].Fn = func(tx storage.Tx) error {
				inst, err := tx.CreateInstance(ctx, storage.Instance{Name: "storm-" + strconv.Itoa(i), Status: storage.StatusOpen})
				ids[i] = inst.ID
				return err
			}
		}
		for _, err := range st.InGroup(ctx, units) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	// The host starts with those sessions open: Resume warms the policy,
	// in the background; Warm waits for that.
	if _, err := ex.Resume(ctx); err != nil {
		b.Fatal(err)
	}
	if err := p.Warm(ctx); err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pgBefore, hostBefore := serverCPU(b, st), processCPU()

	b.ResetTimer()
	for range b.N {
		start := time.Now()
		work := make(chan string)
		var wg sync.WaitGroup
		var failed sync.Map
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range work {
					_, err := ex.HandleDisconnect(ctx, id, executor.Report{
						Event: abi.Event{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed, Cause: abi.CauseNone},
						Phase: abi.PhaseOpen, ConnectedFor: time.Hour,
					})
					if err != nil {
						failed.Store(id, err)
					}
				}
			}()
		}
		for _, id := range ids {
			work <- id
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(start)
		failed.Range(func(k, v any) bool { b.Fatalf("%s: %v", k, v); return false })
		b.ReportMetric((processCPU() - hostBefore).Seconds(), "s-host-cpu")
		if pgBefore >= 0 {
			b.ReportMetric((serverCPU(b, st) - pgBefore).Seconds(), "s-pg-cpu")
		}
		b.ReportMetric(elapsed.Seconds(), "s-to-persist")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "decisions/s")
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)

	// Every reconnect is pending, none lost; their spread is the policy's
	// backoff with jitter, then the scheduler's rate limit.
	if got := sched.Len(); got != n {
		b.Fatalf("%d reconnects pending, want %d", got, n)
	}
	var delays []time.Duration
	for _, id := range ids {
		job, ok := sched.Pending(id)
		if !ok {
			b.Fatalf("no reconnect pending for %s", id)
		}
		delays = append(delays, job.Due.Sub(clk.Now()))
	}
	slices.Sort(delays)
	b.ReportMetric(delays[0].Seconds(), "s-first-due")
	b.ReportMetric(delays[len(delays)/2].Seconds(), "s-median-due")
	b.ReportMetric(delays[len(delays)-1].Seconds(), "s-last-due")
	b.ReportMetric(float64(n-reconnect.DefaultBurst)/reconnect.DefaultRate, "s-rate-limit-span")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-B/instance")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n*b.N), "alloc-B/decision")
	b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "gc-cycles")

	queued, err := st.Claim(ctx, "storm-check", storage.MaxPage, time.Minute)
	if err != nil || len(queued) == 0 {
		b.Fatalf("outbox after the storm: %d rows, %v", len(queued), err)
	}
}

// nopSessions stands for the session layer, which the storm does not
// reach: it measures the decision and its unit of work.
type nopSessions struct{}

func (nopSessions) Connect(context.Context, string) error               { return nil }
func (nopSessions) Disconnect(string) error                             { return nil }
func (nopSessions) ResetSession(context.Context, string) (int64, error) { return 0, nil }
func (nopSessions) Recreate(context.Context, string) error              { return nil }

// stormStore opens the storm's store: PostgreSQL, or the embedded SQLite
// with WAHOST_STORM_STORE=sqlite.
func stormStore(b *testing.B) storage.Store {
	ctx := context.Background()
	if os.Getenv("WAHOST_STORM_STORE") == "sqlite" {
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "wahost.db")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	}
	schema := testenv.Name("wahost_storm_")
	st, err := postgres.Open(ctx, postgres.Config{URL: testenv.PostgresURL(b), Schema: schema, MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db, _, _ := st.SessionDB()
		_, _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`)
		_ = db.Close()
		_ = st.Close()
	})
	return st
}

// serverCPU is the CPU time the PostgreSQL backends serving st's pool have
// used so far, read from /proc (the server runs on this machine); -1 on
// SQLite or where it cannot be read.
func serverCPU(b *testing.B, st storage.Store) time.Duration {
	pg, ok := st.(*postgres.Store)
	if !ok {
		return -1
	}
	pids, err := pg.BackendPIDs(context.Background())
	if err != nil {
		b.Logf("PostgreSQL backends: %v", err)
		return -1
	}
	var total time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1 // not on this machine
		}
		// utime and stime, in clock ticks (100 a second on Linux), are the
		// 12th and 13th fields after the command's closing parenthesis.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		for _, s := range f[11:13] {
			n, _ := strconv.ParseInt(s, 10, 64)
			total += time.Duration(n) * 10 * time.Millisecond
		}
	}
	return total
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
