package storagetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testGroupOutbox checks a group whose units name their instances and
// enqueue many events, as a storm's do (a store may send such a group's
// outbox rows another way, PostgreSQL by COPY): every row reads back as
// Enqueue returned it, and the stream entries come out in the order the
// units enqueued them.
func testGroupOutbox(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	const units, perUnit = 12, 8 // 96 rows, half of them stream entries
	var insts []storage.Instance
	for i := range units {
		insts = append(insts, newInstance(t, s, fmt.Sprintf("outbox-%02d", i)))
	}
	enqueued := make([][]storage.OutboxEvent, units)
	var group []storage.Unit
	for u, in := range insts {
		group = append(group, storage.Unit{Instance: in.ID, Fn: func(tx storage.Tx) error {
			enqueued[u] = nil
			for i := range perUnit {
				ev := storage.OutboxEvent{InstanceID: in.ID, Event: fmt.Sprintf("u%02d.e%d", u, i),
					Payload: json.RawMessage(fmt.Sprintf(`{"unit":%d,"i":%d,"s":"a \"quoted\" \\ line\nbreak"}`, u, i))}
				switch i % 4 {
				case 0, 2:
					ev.Stream = true
				case 1:
					ev.Destination = "amqp-orders"
				case 3:
					ev.NextAttemptAt = c.Now().Add(time.Minute)
				}
				got, err := tx.Enqueue(ctx, ev)
				if err != nil {
					return err
				}
				enqueued[u] = append(enqueued[u], got)
			}
			return nil
		}})
	}
	for i, err := range s.InGroup(ctx, group) {
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
	}
	var stream []string
	for u := range enqueued {
		for _, want := range enqueued[u] {
			got := try(s.OutboxEvent(ctx, want.ID)).must(t)
			if want.Stream {
				stream = append(stream, want.Event)
				got.Seq, want.Seq = 0, 0 // numbered when read
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("stored  %+v\nenqueued %+v", got, want)
			}
		}
	}
	var read []string
	for _, ev := range try(s.EventsAfter(ctx, 0, storage.EventFilter{}, storage.MaxPage)).must(t) {
		read = append(read, ev.Event)
	}
	if !reflect.DeepEqual(read, stream) {
		t.Errorf("stream order:\n got %v\nwant %v", read, stream)
	}
}
