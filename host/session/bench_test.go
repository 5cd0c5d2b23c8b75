package session_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage"
)

// idleClients is how many clients BenchmarkIdleClients connects.
const idleClients = 200

// BenchmarkIdleClients connects idleClients instances to one fake server,
// run in a child process so that only the clients' side is measured, and
// reports what each connected, idle client costs the host: live heap and
// goroutine stacks (bytes/client), and goroutines. Run it once:
//
//	go test -run '^$' -bench IdleClients -benchtime 1x ./host/session/
func BenchmarkIdleClients(b *testing.B) {
	addr := startServerProcess(b)
	for range b.N {
		measureIdleClients(b, addr)
	}
}

func measureIdleClients(b *testing.B, addr string) {
	b.StopTimer()
	env := sessiontest.New(b, sessiontest.Options{
		NoServer: true,
		Manager:  session.Config{HTTPClient: wafake.HTTPClientTo(addr, 30*time.Second)},
	})
	defer env.Manager.Close()
	ids := make([]string, idleClients)
	for i := range ids {
		inst, _ := env.Instance(b, fmt.Sprintf("idle-%03d", i), storage.StatusClose,
			wafake.NewPhone(fmt.Sprintf("1555%07d", i)))
		ids[i] = inst.ID
	}

	before, goroutines := liveMemory()
	b.StartTimer()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := env.Manager.Connect(context.Background(), id); err != nil {
				b.Errorf("Connect: %v", err)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := 0
	if _, err := env.Handler.Await(ctx, func(c sessiontest.Call) bool {
		if c.Method == sessiontest.Connected {
			open++
		}
		return open == idleClients
	}); err != nil {
		b.Fatalf("%d of %d clients logged in: %v", open, idleClients, err)
	}
	b.StopTimer()

	after, goroutinesAfter := liveMemory()
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	stacks := float64(after.StackInuse) - float64(before.StackInuse)
	b.ReportMetric((heap+stacks)/idleClients, "bytes/client")
	b.ReportMetric(heap/idleClients, "heap-bytes/client")
	b.ReportMetric(float64(goroutinesAfter-goroutines)/idleClients, "goroutines/client")
	b.ReportMetric(0, "ns/op") // the time to connect is not what this measures
}

// liveMemory collects garbage and returns the memory statistics and the
// goroutine count.
func liveMemory() (runtime.MemStats, int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m, runtime.NumGoroutine()
}
