package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// BenchmarkDeliver measures the whole path on SQLite and PostgreSQL: a unit of work per
// event enqueues it (from several goroutines, over many instances), the
// dispatcher claims, signs and POSTs it to a local receiver, and records
// the delivery. It reports delivered events per second and the latency to
// the receiver from the commit of the enqueueing unit of work (p50-ms,
// p99-ms) and from its start (p99-uow-ms, which adds the wait for
// SQLite's single writer).
//
// The live variants enqueue as fast as the store commits, the units of work
// that arrive together committed in groups (storage.Committer, as the
// executor and the messaging service commit theirs); live-alone commits
// each in a transaction of its own. The paced ones
// offer a steady rate below that, for the latency of a host that is not
// saturated; the backlog ones enqueue every event first, in units of work
// of 500, and measure the dispatcher alone draining them.
func BenchmarkDeliver(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, workers := range []int{4, 16} {
			b.Run(fmt.Sprintf("%s/live/workers=%d", db, workers), func(b *testing.B) { benchDeliver(b, db, workers, 0, false, true) })
		}
		b.Run(db+"/live-alone/workers=4", func(b *testing.B) { benchDeliver(b, db, 4, 0, false, false) })
		for _, rate := range []int{500, 1500} {
			b.Run(fmt.Sprintf("%s/paced/rate=%d/workers=4", db, rate), func(b *testing.B) { benchDeliver(b, db, 4, rate, false, true) })
		}
		for _, workers := range []int{4, 16} {
			b.Run(fmt.Sprintf("%s/backlog/workers=%d", db, workers), func(b *testing.B) { benchDeliver(b, db, workers, 0, true, true) })
		}
	}
}

// benchStore opens a fresh store of the named kind for b.
func benchStore(b *testing.B, db string) storage.Store {
	ctx := context.Background()
	if db == "sqlite" {
		store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "wahost.db")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = store.Close() })
		return store
	}
	schema := testenv.Name("wahost_bench_")
	store, err := postgres.Open(ctx, postgres.Config{URL: testenv.PostgresURL(b), Schema: schema, MaxConns: 24})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db, _, _ := store.SessionDB()
		_, _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`)
		_ = db.Close()
		_ = store.Close()
	})
	return store
}

// benchDeliver delivers b.N events with the given number of workers; rate,
// when not 0, paces the enqueuers to that many events per second; grouped
// commits the enqueuers' units of work through a storage.Committer.
func benchDeliver(b *testing.B, db string, workers, rate int, backlog, grouped bool) {
	const (
		instances = 64
		enqueuers = 8
	)
	ctx := context.Background()
	store := benchStore(b, db)

	n := b.N
	// Unix nanoseconds when event i's unit of work began and committed,
	// and when it reached the receiver.
	started, committed, arrived := make([]atomic.Int64, n), make([]atomic.Int64, n), make([]atomic.Int64, n)
	seen := make([]atomic.Bool, n)
	var count atomic.Int64
	done := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Data seqData `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Data.Seq < 0 || env.Data.Seq >= n {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		i := env.Data.Seq
		if !seen[i].Swap(true) {
			arrived[i].Store(time.Now().UnixNano())
			if count.Add(1) == int64(n) {
				close(done)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	d, err := webhook.New(webhook.Config{Store: store, Global: webhook.Destination{URL: receiver.URL},
		Secret: "s3cret", Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	insts := make([]storage.Instance, instances)
	for i := range insts {
		if insts[i], err = store.CreateInstance(ctx, storage.Instance{Name: fmt.Sprintf("bench-%02d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	if backlog {
		for lo := 0; lo < n; lo += 500 {
			err := store.InTx(ctx, func(tx storage.Tx) error {
				for i := lo; i < min(lo+500, n); i++ {
					if err := d.Enqueue(ctx, tx, insts[i%instances], "connection.update", seqData{Seq: i}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	begin := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}()
	var next atomic.Int64
	if backlog {
		next.Store(int64(n)) // all enqueued already
	}
	commits := &storage.Committer{Store: store, Max: 16}
	var wg sync.WaitGroup
	for range enqueuers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(begin.Add(time.Duration(i) * time.Second / time.Duration(rate))))
				}
				started[i].Store(time.Now().UnixNano())
				inst := insts[i%instances]
				unit := storage.Unit{Fn: func(tx storage.Tx) error {
					return d.Enqueue(ctx, tx, inst, "connection.update", seqData{Seq: i})
				}}
				var err error
				if grouped {
					err = commits.Do(ctx, unit)
				} else {
					err = store.InTx(ctx, unit.Fn)
				}
				if err != nil {
					b.Error(err)
					return
				}
				committed[i].Store(time.Now().UnixNano())
				d.Nudge()
			}
		})
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d events delivered after a minute", count.Load(), n)
	}
	elapsed := time.Since(begin)
	b.StopTimer()

	fromCommit, fromStart := make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		fromCommit[i] = time.Duration(max(arrived[i].Load()-committed[i].Load(), 0))
		fromStart[i] = time.Duration(arrived[i].Load() - started[i].Load())
	}
	slices.Sort(fromCommit)
	slices.Sort(fromStart)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	if backlog {
		return // latencies measure the backlog, not the dispatcher
	}
	b.ReportMetric(ms(fromCommit[n/2]), "p50-ms")
	b.ReportMetric(ms(fromCommit[n*99/100]), "p99-ms")
	b.ReportMetric(ms(fromStart[n*99/100]), "p99-uow-ms")
}
