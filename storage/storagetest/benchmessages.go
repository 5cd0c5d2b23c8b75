package storagetest

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wahost/wahost/storage"
)

// benchMessagePayload is an incoming text message as the messaging core
// stores it: Evolution's message document plus metadata.
var benchMessagePayload = json.RawMessage(`{"key":{"remoteJid":"5511999990000@s.whatsapp.net","fromMe":false,` +
	`"id":"3EB0C767D26A1D6D2A4D"},"pushName":"Bench","message":{"conversation":"hello from the benchmark, ` +
	`a message of ordinary length"},"messageType":"conversation","messageTimestamp":1767322800,` +
	`"instanceId":"bench","source":"android"}`)

// benchMessageUnitOfWork measures the messaging core's unit of work for
// an incoming message: the message and its messages.upsert webhook in one
// commit. In parallel each goroutine drives its own instance.
func benchMessageUnitOfWork(b *testing.B, open OpenStore, parallel bool) {
	clock := NewClock()
	s := open(b, clock)
	ctx := ctxFor(b)
	ids := benchInstances(b, s, 64)
	var seq atomic.Int64
	one := func(instanceID string) error {
		return s.InTx(ctx, func(tx storage.Tx) error {
			m := incoming(instanceID, fmt.Sprint("B", seq.Add(1)), clock.Now())
			m.Payload = benchMessagePayload
			if _, err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
			_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: instanceID, Event: "messages.upsert", Payload: benchPayload})
			return err
		})
	}
	runBench(b, parallel, ids, one)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// benchMessageStatus measures receipts: each operation moves one sent
// message to delivered.
func benchMessageStatus(b *testing.B, open OpenStore, parallel bool) {
	clock := NewClock()
	s := open(b, clock)
	ctx := ctxFor(b)
	in := benchInstances(b, s, 1)[0]
	const batch = 1000
	for i := 0; i < b.N; i += batch {
		err := s.InTx(ctx, func(tx storage.Tx) error {
			for j := i; j < i+batch && j < b.N; j++ {
				m := outgoing(in, fmt.Sprint("S", j), "")
				m.Status = storage.MessageSent
				if _, err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	one := func(string) error {
		id := fmt.Sprint("S", next.Add(1)-1)
		_, changed, err := s.SetMessageStatus(ctx, in, id, storage.MessageDelivered, "", clock.Now())
		if err == nil && !changed {
			err = fmt.Errorf("message %s not changed", id)
		}
		return err
	}
	runBench(b, parallel, []string{in}, one)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

func benchInstances(b *testing.B, s storage.Store, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = try(s.CreateInstance(ctxFor(b), storage.Instance{Name: fmt.Sprint("bench-", i)})).must(b).ID
	}
	return ids
}

// runBench runs one b.N times, serially or from parallel goroutines, each
// goroutine on its own instance of ids.
func runBench(b *testing.B, parallel bool, ids []string, one func(instanceID string) error) {
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if err := one(ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		id := ids[next.Add(1)%int64(len(ids))]
		for pb.Next() {
			if err := one(id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
