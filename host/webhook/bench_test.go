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
	"github.com/wahost/wahost/storage/sqlite"
)

// BenchmarkDeliver measures the whole path on SQLite: a unit of work per
// event enqueues it (from several goroutines, over many instances), the
// dispatcher claims, signs and POSTs it to a local receiver, and records
// the delivery. It reports delivered events per second and the latency
// from the start of the enqueueing unit of work to the receiver.
func BenchmarkDeliver(b *testing.B) {
	for _, workers := range []int{4, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchDeliver(b, workers) })
	}
}

func benchDeliver(b *testing.B, workers int) {
	const (
		instances = 64
		enqueuers = 8
	)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "wahost.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()

	n := b.N
	started := make([]atomic.Int64, n) // unix nanoseconds when event i's unit of work began
	latency := make([]atomic.Int64, n)
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
			latency[i].Store(time.Now().UnixNano() - started[i].Load())
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
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}()

	b.ResetTimer()
	begin := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range enqueuers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				started[i].Store(time.Now().UnixNano())
				err := store.InTx(ctx, func(tx storage.Tx) error {
					return d.Enqueue(ctx, tx, insts[i%instances], "connection.update", seqData{Seq: i})
				})
				if err != nil {
					b.Error(err)
					return
				}
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

	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = time.Duration(latency[i].Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[n/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(lat[min(n-1, n*99/100)])/float64(time.Millisecond), "p99-ms")
}
