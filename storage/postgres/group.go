package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// A storm's group of units of work enqueues a few webhooks per unit: one
// INSERT each would be most of the group's round trips. Inside a group's
// transaction they are collected instead and inserted by one statement,
// just before the commit, which also numbers the stream entries (see
// assignSeqs for why that comes last). The event a deferred Enqueue
// returns is the row as it will be stored, but for the stream entry's Seq
// (as inside any unit of work).

// deferEnqueue collects ev for insertOutbox and returns it as it will be
// stored.
func (o ops) deferEnqueue(ev storage.OutboxEvent, now, next time.Time) storage.OutboxEvent {
	ev.CreatedAt, ev.NextAttemptAt, ev.Attempts = now, next, 0
	ev.DeliveredAt, ev.FailedAt, ev.LastError, ev.ClaimedBy, ev.Seq = nil, nil, "", "", 0
	if ev.Stream {
		at := now
		ev.NextAttemptAt, ev.DeliveredAt, ev.Destination = now, &at, ""
	}
	*o.outbox = append(*o.outbox, ev)
	return ev
}

// insertOutbox inserts the events a group's units enqueued, numbering the
// stream entries among them in the order they were enqueued.
func insertOutbox(ctx context.Context, tx pgx.Tx, evs []storage.OutboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	ids, instances, events, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created, next, delivered := make([]time.Time, n), make([]time.Time, n), make([]*time.Time, n)
	ranks, dests := make([]*int64, n), make([]string, n)
	var streamed int64
	for i, ev := range evs {
		ids[i], instances[i], events[i], payloads[i] = ev.ID, ev.InstanceID, ev.Event, string(ev.Payload)
		created[i], next[i], delivered[i], dests[i] = ev.CreatedAt, ev.NextAttemptAt, ev.DeliveredAt, ev.Destination
		if ev.Stream {
			streamed++
			r := streamed
			ranks[i] = &r
		}
	}
	const rows = `unnest($1::uuid[], $2::uuid[], $3::text[], $4::json[], $5::timestamptz[], $6::timestamptz[],
		$7::timestamptz[], $8::bigint[], $9::text[]) AS u(id, instance_id, event, payload, created_at, next_attempt_at,
		delivered_at, rank, destination)`
	const insert = `INSERT INTO wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq, destination)`
	args := []any{ids, instances, events, payloads, created, next, delivered, ranks, dests}
	q := insert + ` SELECT u.id, u.instance_id, u.event, u.payload, u.created_at, u.next_attempt_at, u.delivered_at,
		NULL, u.destination FROM ` + rows
	if streamed > 0 {
		q = `WITH c AS (UPDATE wahost_event_seq SET last = last + $10 RETURNING last) ` + insert + `
		SELECT u.id, u.instance_id, u.event, u.payload, u.created_at, u.next_attempt_at, u.delivered_at,
			c.last - $10 + u.rank, u.destination FROM c, ` + rows
		args = append(args, streamed)
	}
	_, err := tx.Exec(ctx, q, args...)
	return wrapErr("enqueue webhooks", err)
}
