package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wahost/wahost/storage"
)

// A unit of work enqueues a few webhooks, a storm's group a few per unit:
// one INSERT each would be most of their round trips. Inside a unit of
// work they are collected instead and inserted by one statement, just
// before the commit, the stream entries among them with pending keys (see
// events.go). The event a deferred Enqueue returns is the row as it
// will be stored, but for the stream entry's Seq (as inside any unit of
// work).

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

// insertOutbox inserts the events a group's units enqueued, giving the
// stream entries among them pending keys in the order they were enqueued.
func insertOutbox(ctx context.Context, tx pgx.Tx, evs []storage.OutboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	q, args := outboxInsert(evs)
	_, err := tx.Exec(ctx, q, args...)
	return wrapErr("enqueue webhooks", err)
}

// outboxInsert is the statement insertOutbox runs for evs, not empty. A
// stream entry's pending key is -(n * 2^20 + rank): n one value of
// wahost_event_pending for the statement, rank its place among the
// statement's entries, so that ordering pending keys by seq DESC gives the
// order the entries were enqueued in.
func outboxInsert(evs []storage.OutboxEvent) (string, []any) {
	n := len(evs)
	if n <= smallInsert {
		return outboxValues(evs)
	}
	ids, instances, events, payloads := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	created, next, delivered := make([]time.Time, n), make([]time.Time, n), make([]*time.Time, n)
	ranks, dests := make([]*int64, n), make([]string, n)
	var streamed int64
	for i, ev := range evs {
		ids[i], instances[i], events[i], payloads[i] = ev.ID, ev.InstanceID, ev.Event, ev.Payload
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
		// One value of the sequence for the whole statement: a CTE runs once.
		q = `WITH p AS (SELECT nextval('wahost_event_pending') AS n) ` + insert + `
		SELECT u.id, u.instance_id, u.event, u.payload, u.created_at, u.next_attempt_at, u.delivered_at,
			CASE WHEN u.rank IS NOT NULL THEN -(p.n * 1048576 + u.rank) END, u.destination FROM p, ` + rows
	}
	return q, args
}

// smallInsert is the most rows outboxValues writes: up to it, a VALUES
// list costs PostgreSQL less than taking arrays apart.
const smallInsert = 4

// outboxValues is outboxInsert for a few rows (a unit of work's one or two
// events): one VALUES row each, each stream entry with a value of
// wahost_event_pending of its own, taken in row order.
func outboxValues(evs []storage.OutboxEvent) (string, []any) {
	var q strings.Builder
	q.WriteString(`INSERT INTO wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq, destination) VALUES `)
	args := make([]any, 0, 8*len(evs))
	for i, ev := range evs {
		if i > 0 {
			q.WriteString(", ")
		}
		k := len(args)
		seq := "NULL"
		if ev.Stream {
			seq = "-nextval('wahost_event_pending') * 1048576"
		}
		fmt.Fprintf(&q, "($%d::uuid, $%d::uuid, $%d::text, $%d::json, $%d::timestamptz, $%d::timestamptz, $%d::timestamptz, %s, $%d::text)",
			k+1, k+2, k+3, k+4, k+5, k+6, k+7, seq, k+8)
		args = append(args, ev.ID, ev.InstanceID, ev.Event, []byte(ev.Payload), ev.CreatedAt, ev.NextAttemptAt,
			ev.DeliveredAt, ev.Destination)
	}
	return q.String(), args
}

// A storm's unit of work reads its instance, writes it back, appends a
// history row and reads and writes the instance's episode: five round
// trips each, one after the other, for what a group could do in a few.
// So a group's transaction reads and locks, in one round trip before any
// unit runs, the rows of the instances its units act for
// (storage.Unit.Instance) with their open episodes, and takes ids for the
// history rows and episodes they will insert. The units then read and
// write those rows (Instance, UpdateInstance, RecordDisconnect,
// OpenEpisode, PutEpisode) in memory, each call returning the row as it
// will be stored, and the writes go out set-based, one statement per
// table, pipelined with the outbox's before the commit. Any other
// statement of a unit first sends what is pending (flush), so it sees
// every write made before it; a call the overlay cannot answer exactly
// runs as a statement of its own and takes its instance out of the
// overlay.
//
// A write that fails when sent fails the group: storage.RunGroup runs its
// units again, and a unit run alone takes the direct path, which reports
// the failure as its own.
type grouped struct {
	inst map[string]*groupInstance // the overlay, by instance id
	// ids taken for the history rows and the episodes the units insert.
	disconnectIDs, episodeIDs []int64
	// pending is a value of wahost_event_pending for the group's stream
	// entries, when they go by COPY.
	pending int64

	// Writes not yet sent.
	instances []storage.Instance // final rows, one per instance
	updated   map[string]int     // index in instances by id
	history   []storage.Disconnect
	episodes  []pendingEpisode
	epIndex   map[int64]int // index in episodes by id
}

// groupInstance is one instance of the overlay.
type groupInstance struct {
	row  storage.Instance
	open *storage.Episode // its open episode; nil when none
}

type pendingEpisode struct {
	ep     storage.Episode
	insert bool // not stored yet
}

// prepareGroup begins tx, then locks the instances units act for and
// reads them with their open episodes, in the same round trip; nil when
// no unit names one.
func prepareGroup(ctx context.Context, tx *connTx, units []storage.Unit) (*grouped, error) {
	ids := make([]string, 0, len(units))
	for _, u := range units {
		if u.Instance != "" && storage.ValidateID("instance id", u.Instance) == nil {
			ids = append(ids, u.Instance)
		}
	}
	if len(ids) == 0 {
		_, err := tx.Exec(ctx, "begin")
		return nil, wrapErr("begin", err)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	n := len(units)
	b := &pgx.Batch{}
	b.Queue("begin")
	// Rows are locked in id order, as every group takes them.
	b.Queue("SELECT "+instanceCols+" FROM wahost_instances WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", ids)
	b.Queue("SELECT "+episodeCols+" FROM wahost_episodes WHERE instance_id = ANY($1::uuid[]) AND outcome = ''", ids)
	// The sequence is looked up once, not once per id.
	const takeIDs = `WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence($2, 'id')::regclass AS seq)
		SELECT nextval(s.seq) FROM s, generate_series(1, $1::int)`
	b.Queue(takeIDs, n, "wahost_disconnects")
	b.Queue(takeIDs, n, "wahost_episodes")
	// The group's stream entries take their pending keys from one value
	// (see outboxCopy).
	b.Queue("SELECT nextval('wahost_event_pending')")
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, wrapErr("begin", err)
	}
	g := &grouped{inst: make(map[string]*groupInstance, len(ids)), updated: map[string]int{}, epIndex: map[int64]int{}}
	rows, _ := br.Query()
	insts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Instance, error) { return scanInstance(r) })
	if err != nil {
		return nil, wrapErr("lock the group's instances", err)
	}
	for _, in := range insts {
		g.inst[in.ID] = &groupInstance{row: in}
	}
	rows, _ = br.Query()
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Episode, error) { return scanEpisode(r) })
	if err != nil {
		return nil, wrapErr("read the group's episodes", err)
	}
	for _, ep := range eps {
		if gi := g.inst[ep.InstanceID]; gi != nil {
			gi.open = &ep
		}
	}
	for _, dst := range []*[]int64{&g.disconnectIDs, &g.episodeIDs} {
		rows, _ = br.Query()
		if *dst, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return nil, wrapErr("take ids", err)
		}
	}
	if err := br.QueryRow().Scan(&g.pending); err != nil {
		return nil, wrapErr("take ids", err)
	}
	return g, wrapErr("prepare group", br.Close())
}

// instance returns the overlay's instance id, or nil.
func (g *grouped) instance(id string) *groupInstance {
	if g == nil {
		return nil
	}
	return g.inst[id]
}

// forget takes instance id out of the overlay: a statement of its own
// changes it. With id empty, every instance.
func (g *grouped) forget(id string) {
	if g == nil {
		return
	}
	if id == "" {
		clear(g.inst)
		return
	}
	delete(g.inst, id)
}

// updateInstance returns the instance row UpdateInstance would store for
// in, and keeps it to send.
func (g *grouped) updateInstance(gi *groupInstance, in storage.Instance, now time.Time) storage.Instance {
	out := gi.row // name and created_at are not updated
	out.Status, out.OwnerJID, out.ProfileName, out.ProfilePictureURL = in.Status, in.OwnerJID, in.ProfileName, in.ProfilePictureURL
	out.QRCount, out.Attempt, out.Step, out.UpdatedAt = in.QRCount, in.Attempt, in.Step, now
	out.DisconnectionAt, out.DisconnectionReasonCode = utc(in.DisconnectionAt), in.DisconnectionReasonCode
	out.DisconnectionObject = nil
	if len(in.DisconnectionObject) > 0 {
		out.DisconnectionObject = slices.Clone(in.DisconnectionObject)
	}
	out.Reconnect = nil
	if in.Reconnect != nil {
		out.Reconnect = &storage.PendingReconnect{Due: storage.Timestamp(in.Reconnect.Due), Step: max(in.Reconnect.Step, 0)}
	}
	gi.row = out
	if i, ok := g.updated[out.ID]; ok {
		g.instances[i] = out
	} else {
		g.updated[out.ID] = len(g.instances)
		g.instances = append(g.instances, out)
	}
	return cloneInstance(out)
}

// recordDisconnect returns the history row RecordDisconnect would store
// for d, and keeps it to send; false when no id is left.
func (g *grouped) recordDisconnect(d storage.Disconnect) (storage.Disconnect, bool) {
	if len(g.disconnectIDs) == 0 {
		return d, false
	}
	d.ID, g.disconnectIDs = g.disconnectIDs[0], g.disconnectIDs[1:]
	d.At = storage.Timestamp(d.At)
	d.Decision, d.Shadow, d.Input = jsonCopy(d.Decision), jsonCopy(d.Shadow), jsonCopy(d.Input)
	g.history = append(g.history, d)
	return d, true
}

// putEpisode returns the episode PutEpisode would store for e, and keeps
// it to send; false when the overlay cannot tell (the direct path then
// reports what the store says).
func (g *grouped) putEpisode(gi *groupInstance, e storage.Episode) (storage.Episode, bool) {
	e.StartedAt, e.EndedAt = storage.Timestamp(e.StartedAt), utc(e.EndedAt)
	if e.Outcome == "" && gi.open != nil && gi.open.ID != e.ID {
		return e, false // a second open episode fails; the direct path says how
	}
	i, pending := g.epIndex[e.ID]
	switch {
	case e.ID == 0:
		if len(g.episodeIDs) == 0 {
			return e, false
		}
		e.ID, g.episodeIDs = g.episodeIDs[0], g.episodeIDs[1:]
		i = len(g.episodes)
		g.episodes = append(g.episodes, pendingEpisode{insert: true})
		g.epIndex[e.ID] = i
	case pending && g.episodes[i].ep.InstanceID == e.InstanceID:
	case gi.open != nil && gi.open.ID == e.ID && e.InstanceID == gi.open.InstanceID:
		i = len(g.episodes)
		g.episodes = append(g.episodes, pendingEpisode{})
		g.epIndex[e.ID] = i
	default:
		return e, false
	}
	switch {
	case e.Outcome == "":
		open := e
		gi.open = &open
	case gi.open != nil && gi.open.ID == e.ID:
		gi.open = nil
	}
	g.episodes[i].ep = e
	return e, true
}

// flush sends the writes kept so far, one statement per table, with
// copies after them, and with commit the COMMIT, in one write and one
// round trip (see write).
func (g *grouped) flush(ctx context.Context, tx pgx.Tx, commit bool, copies ...copyStmt) error {
	var stmts []wireStmt
	if len(g.instances) > 0 {
		stmts = append(stmts, instancesStmt(g.instances))
	}
	var ins, upd []storage.Episode
	for _, p := range g.episodes {
		if p.insert {
			ins = append(ins, p.ep)
		} else {
			upd = append(upd, p.ep)
		}
	}
	// Updates first: one may end the open episode an insert replaces.
	if len(upd) > 0 {
		stmts = append(stmts, episodesStmt(upd, false))
	}
	if len(ins) > 0 {
		stmts = append(stmts, episodesStmt(ins, true))
	}
	if len(g.history) > 0 {
		copies = append([]copyStmt{historyCopy(g.history)}, copies...)
	}
	err := write(ctx, tx, stmts, copies, commit)
	// Emptied for the writes to come.
	g.instances, g.history, g.episodes = g.instances[:0], g.history[:0], g.episodes[:0]
	clear(g.updated)
	clear(g.epIndex)
	return err
}

// jsonText passes an empty document as SQL NULL, as jsonArg does.
func jsonText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// jsonCopy returns a copy of b as the store returns it: nil when empty.
func jsonCopy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

// cloneInstance returns a copy of in that shares nothing with it.
func cloneInstance(in storage.Instance) storage.Instance {
	if in.DisconnectionAt != nil {
		at := *in.DisconnectionAt
		in.DisconnectionAt = &at
	}
	if in.Reconnect != nil {
		r := *in.Reconnect
		in.Reconnect = &r
	}
	in.DisconnectionObject = jsonCopy(in.DisconnectionObject)
	return in
}

// flushing is a group transaction's querier: it sends the writes the
// overlay kept before any statement, so the statement sees them.
type flushing struct {
	tx pgx.Tx
	g  *grouped
}

func (f flushing) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := f.g.flush(ctx, f.tx, false); err != nil {
		return pgconn.CommandTag{}, err
	}
	return f.tx.Exec(ctx, sql, args...)
}

func (f flushing) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := f.g.flush(ctx, f.tx, false); err != nil {
		return nil, err
	}
	return f.tx.Query(ctx, sql, args...)
}

func (f flushing) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := f.g.flush(ctx, f.tx, false); err != nil {
		return errRow{err}
	}
	return f.tx.QueryRow(ctx, sql, args...)
}

// errRow is a row that failed before its statement was sent.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
