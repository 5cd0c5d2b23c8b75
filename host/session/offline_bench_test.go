package session_test

import (
	"fmt"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage"
)

// offlineClients is how many clients BenchmarkOfflineClients creates.
const offlineClients = 1000

// BenchmarkOfflineClients creates offlineClients real whatsmeow clients on
// paired devices loaded from the store, none connected — what a host holds
// for instances that are paired but down — and reports the heap each
// costs, and goroutines. Run it once:
//
//	go test -run '^$' -bench OfflineClients -benchtime 1x ./host/session/
func BenchmarkOfflineClients(b *testing.B) {
	env := sessiontest.New(b, sessiontest.Options{NoServer: true})
	defer env.Manager.Close()
	devs := make([]*store.Device, offlineClients)
	for i := range devs {
		_, devs[i] = env.Instance(b, fmt.Sprintf("offline-%04d", i), storage.StatusClose,
			wafake.NewPhone(fmt.Sprintf("1556%07d", i)))
	}
	for range b.N {
		before, goroutines := liveMemory()
		clients := make([]*whatsmeow.Client, offlineClients)
		for i, dev := range devs {
			clients[i] = whatsmeow.NewClient(dev, nil)
			clients[i].EnableAutoReconnect = false
		}
		after, goroutinesAfter := liveMemory()
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/offlineClients, "heap-bytes/client")
		b.ReportMetric(float64(goroutinesAfter-goroutines)/offlineClients, "goroutines/client")
		for _, c := range clients {
			c.Disconnect()
		}
	}
}
