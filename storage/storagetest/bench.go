package storagetest

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// BenchStore runs the store benchmarks: the executor's unit of work
// (instance state, one disconnect, one outbox event), outbox claims, the
// messaging core's unit of work (one incoming message, one outbox event)
// and message status updates.
func BenchStore(b *testing.B, open OpenStore) {
	b.Run("UnitOfWork", func(b *testing.B) { benchUnitOfWork(b, open, false, false) })
	b.Run("UnitOfWorkParallel", func(b *testing.B) { benchUnitOfWork(b, open, true, false) })
	b.Run("UnitOfWorkStream", func(b *testing.B) { benchUnitOfWork(b, open, false, true) })
	b.Run("UnitOfWorkStreamParallel", func(b *testing.B) { benchUnitOfWork(b, open, true, true) })
	b.Run("Claim50", func(b *testing.B) { benchClaim(b, open, false) })
	b.Run("Claim50Parallel", func(b *testing.B) { benchClaim(b, open, true) })
	b.Run("MessageUnitOfWork", func(b *testing.B) { benchMessageUnitOfWork(b, open, false) })
	b.Run("MessageUnitOfWorkParallel", func(b *testing.B) { benchMessageUnitOfWork(b, open, true) })
	b.Run("MessageStatus", func(b *testing.B) { benchMessageStatus(b, open, false) })
	b.Run("MessageStatusParallel", func(b *testing.B) { benchMessageStatus(b, open, true) })
}

var benchPayload = json.RawMessage(`{"event":"connection.update","instance":"bench","data":{"instance":"bench",` +
	`"state":"connecting","statusReason":428},"date_time":"2026-01-02T03:04:05.123Z"}`)

// benchUnitOfWork measures committed units of work. In parallel each
// goroutine drives its own instance, as sessions do. With stream, each
// also writes the event's stream entry, as webhook.Enqueue does, whose
// seq is taken at commit.
func benchUnitOfWork(b *testing.B, open OpenStore, parallel, stream bool) {
	clock := NewClock()
	s := open(b, clock)
	ctx := ctxFor(b)
	const instances = 64
	ids := make([]string, instances)
	for i := range ids {
		ids[i] = try(s.CreateInstance(ctx, storage.Instance{Name: fmt.Sprint("bench-", i)})).must(b).ID
	}
	d := sampleDisconnect(ids[0], clock.Now(), 428)
	one := func(id string) error {
		return s.InTx(ctx, func(tx storage.Tx) error {
			in, err := tx.Instance(ctx, id)
			if err != nil {
				return err
			}
			in.Status, in.Attempt = storage.StatusConnecting, in.Attempt+1
			at := clock.Now()
			in.DisconnectionAt, in.DisconnectionReasonCode = &at, 428
			if _, err := tx.UpdateInstance(ctx, in); err != nil {
				return err
			}
			dd := d
			dd.InstanceID = id
			if _, err := tx.RecordDisconnect(ctx, dd); err != nil {
				return err
			}
			if stream {
				if _, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: id, Event: "connection.update", Payload: benchPayload, Stream: true}); err != nil {
					return err
				}
			}
			_, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: id, Event: "connection.update", Payload: benchPayload})
			return err
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			id := ids[next.Add(1)%instances]
			for pb.Next() {
				if err := one(id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			if err := one(ids[i%instances]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// benchClaim measures claims of 50 events against a backlog of 10,000 due
// events. Each claim's lease is one microsecond, so the claimed events
// are due again after the clock moves and the backlog never drains.
func benchClaim(b *testing.B, open OpenStore, parallel bool) {
	const batch = 50
	clock := NewClock()
	s := open(b, clock)
	EnqueueN(b, s, storage.NewID(), claimRows)
	ctx := ctxFor(b)
	claim := func(worker string) error {
		clock.Advance(time.Microsecond)
		evs, err := s.Claim(ctx, worker, batch, time.Microsecond)
		if err == nil && len(evs) == 0 {
			err = fmt.Errorf("claim returned nothing")
		}
		return err
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			worker := fmt.Sprint("w", next.Add(1))
			for pb.Next() {
				if err := claim(worker); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			if err := claim("w"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
