package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
)

// TestCopyOutbox checks the COPY path of a group's outbox on its own: a
// group that fails there is run again unit by unit, which would hide it.
func TestCopyOutbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openTest(t, postgres.Config{MaxConns: 2})

	now := storage.Timestamp(time.Now())
	delivered := now.Add(-time.Second)
	var evs []storage.OutboxEvent
	for i := range 67 {
		ev := storage.OutboxEvent{
			ID: storage.NewID(), InstanceID: storage.NewID(), Event: fmt.Sprintf("e%d", i),
			Payload:   json.RawMessage(fmt.Sprintf(`{"i":%d,"s":"tab\t\"quote\" back\\slash é ✓"}`, i)),
			CreatedAt: now, NextAttemptAt: now.Add(time.Duration(i) * time.Microsecond),
		}
		switch i % 3 {
		case 0:
			ev.Stream, ev.DeliveredAt = true, &delivered
		case 1:
			ev.Destination = "nats-events"
		}
		evs = append(evs, ev)
	}
	const pending = 41
	err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.CopyOutbox(ctx, tx, evs, pending) })
	if err != nil {
		t.Fatal(err)
	}
	var rank int64
	for _, want := range evs {
		var seq *int64
		if err := s.Pool().QueryRow(ctx, "SELECT seq FROM wahost_outbox WHERE id = $1", want.ID).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		switch {
		case want.Stream:
			rank++
			if seq == nil || *seq != -(pending*1048576+rank) {
				t.Errorf("%s: pending key %v, want %d", want.Event, seq, -(pending*1048576 + rank))
			}
		case seq != nil:
			t.Errorf("%s: seq %d, want none", want.Event, *seq)
		}
		got, err := s.OutboxEvent(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Seq = 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stored  %+v\ncopied %+v", got, want)
		}
	}

	// A malformed id fails the copy and copies nothing.
	bad := append([]storage.OutboxEvent(nil), evs...)
	bad[len(bad)-1].ID = "not-a-uuid"
	err = pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.CopyOutbox(ctx, tx, bad, pending) })
	if err == nil || !strings.Contains(err.Error(), `event id "not-a-uuid"`) {
		t.Fatalf("copy of a malformed id: %v", err)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM wahost_outbox").Scan(&n); err != nil || n != len(evs) {
		t.Fatalf("%d rows after the failed copy (%v), want %d", n, err, len(evs))
	}
}

// TestCopyDisconnects checks the COPY path of a group's history rows.
func TestCopyDisconnects(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openTest(t, postgres.Config{MaxConns: 2})
	in, err := s.CreateInstance(ctx, storage.Instance{Name: "copied"})
	if err != nil {
		t.Fatal(err)
	}
	at := storage.Timestamp(time.Now())
	var rows []storage.Disconnect
	for i := range 3 {
		var id int64
		if err := s.Pool().QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('wahost_disconnects', 'id'))").Scan(&id); err != nil {
			t.Fatal(err)
		}
		d := storage.Disconnect{
			ID: id, InstanceID: in.ID, At: at.Add(time.Duration(i) * time.Second), Kind: "stream_error", Code: 515 + i,
			Raw: `<stream:error code="515"/>`, Message: "restart\trequired", Cause: "reset", Action: "reconnect",
			Decision: json.RawMessage(`{"v":1,"action":"reconnect","delay_ms":2000}`), Rule: "transient/515",
			PolicySHA256: "ab", Fallback: i == 1, Latency: time.Duration(i) * time.Microsecond, Attempt: i + 1, Step: i,
			JitterSeed: 1<<32 - 1, ShadowSHA256: "", Input: json.RawMessage(`{"v":1}`), Proxy: "p1", ProxyTo: "p2",
		}
		if i == 2 {
			d.Shadow, d.ShadowSHA256, d.Decision = json.RawMessage(`{"v":1,"action":"logout"}`), "cd", nil
		}
		rows = append(rows, d)
	}
	if err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.CopyDisconnects(ctx, tx, rows) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListDisconnects(ctx, in.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(got)
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("stored:\n%+v\ncopied:\n%+v", got, rows)
	}

	// A value the column cannot hold fails the copy, as it fails an INSERT.
	rows[0].Code, rows[0].ID = 1<<40, rows[0].ID+100
	err = pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.CopyDisconnects(ctx, tx, rows[:1]) })
	if err == nil || !strings.Contains(err.Error(), "code: 1099511627776 is out of range") {
		t.Fatalf("copy of an out-of-range code: %v", err)
	}
}

// TestCopyPipelined sends a group's two COPYs in one round trip: both
// land, or a refusal by the server in either fails the call with that
// refusal, leaves no row of the other, and leaves the connection usable.
func TestCopyPipelined(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One connection: the statements after a failure run on the
	// connection that failed.
	s := openTest(t, postgres.Config{MaxConns: 1})
	in, err := s.CreateInstance(ctx, storage.Instance{Name: "pipelined"})
	if err != nil {
		t.Fatal(err)
	}
	at := storage.Timestamp(time.Now())
	history := func(ids ...int64) []storage.Disconnect {
		var rows []storage.Disconnect
		for _, id := range ids {
			rows = append(rows, storage.Disconnect{ID: id, InstanceID: in.ID, At: at, Kind: "disconnected", Code: 428,
				Action: "reconnect", Decision: json.RawMessage(`{"v":1}`), Input: json.RawMessage(`{"v":1}`)})
		}
		return rows
	}
	outbox := func(n int) []storage.OutboxEvent {
		var evs []storage.OutboxEvent
		for range n {
			evs = append(evs, storage.OutboxEvent{ID: storage.NewID(), InstanceID: in.ID, Event: "connection.update",
				Payload: json.RawMessage(`{}`), CreatedAt: at, NextAttemptAt: at})
		}
		return evs
	}
	count := func(table string) int {
		t.Helper()
		var n int
		if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s after the copies: %v", table, err)
		}
		return n
	}
	copyGroup := func(h []storage.Disconnect, evs []storage.OutboxEvent) error {
		return pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.CopyGroup(ctx, tx, h, evs, 7) })
	}

	if err := copyGroup(history(1, 2), outbox(3)); err != nil {
		t.Fatal(err)
	}
	if h, o := count("wahost_disconnects"), count("wahost_outbox"); h != 2 || o != 3 {
		t.Fatalf("%d history and %d outbox rows, want 2 and 3", h, o)
	}
	// The first COPY refused (a taken id): the second fails after it.
	err = copyGroup(history(3, 1), outbox(2))
	if err == nil || !strings.Contains(err.Error(), "record the group's history") || !strings.Contains(err.Error(), "id: already exists") {
		t.Fatalf("history with a taken id: %v", err)
	}
	// The second refused: the first's rows go with the transaction.
	evs := outbox(2)
	evs[1].ID = evs[0].ID
	err = copyGroup(history(4), evs)
	if err == nil || !strings.Contains(err.Error(), "enqueue webhooks") || !strings.Contains(err.Error(), "id: already exists") {
		t.Fatalf("outbox with a repeated id: %v", err)
	}
	if h, o := count("wahost_disconnects"), count("wahost_outbox"); h != 2 || o != 3 {
		t.Fatalf("%d history and %d outbox rows after the failed copies, want 2 and 3", h, o)
	}
	if err := copyGroup(history(5), outbox(1)); err != nil {
		t.Fatalf("the connection after the failed copies: %v", err)
	}
}

// TestWriteGroup: a group's instance update goes as a statement prepared
// once per connection, with its parameters encoded by hand, NULLs
// included, and reads back as written; an update that finds a row gone
// fails the write, with the COPY sent after it, and leaves the
// connection usable.
func TestWriteGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openTest(t, postgres.Config{MaxConns: 1})
	var insts []storage.Instance
	for _, name := range []string{"a", "b"} {
		in, err := s.CreateInstance(ctx, storage.Instance{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, in)
	}
	now := storage.Timestamp(time.Now())
	at := now.Add(-time.Minute)
	insts[0].Status, insts[0].OwnerJID, insts[0].ProfileName = storage.StatusConnecting, "5511@s.whatsapp.net", "tab\t\"é\""
	insts[0].Attempt, insts[0].Step, insts[0].QRCount, insts[0].DisconnectionReasonCode = 3, 2, 1, 428
	insts[0].DisconnectionAt, insts[0].DisconnectionObject = &at, json.RawMessage(`{"code":428}`)
	insts[0].Reconnect = &storage.PendingReconnect{Due: now.Add(time.Second), Step: 2}
	insts[0].UpdatedAt = now
	insts[1].Status, insts[1].UpdatedAt = storage.StatusOpen, now // NULLs: no drop, no reconnect
	writeGroup := func(insts []storage.Instance, history []storage.Disconnect) error {
		return pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return postgres.WriteGroup(ctx, tx, insts, history) })
	}
	for range 2 { // prepared by the first write, bound by the second
		if err := writeGroup(insts, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range insts {
		got, err := s.Instance(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		want.CreatedAt = got.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stored %+v\nwrote  %+v", got, want)
		}
	}
	var prepared int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'wahost_group_instances'").Scan(&prepared); err != nil || prepared != 1 {
		t.Fatalf("prepared statements: %d, %v; want the group's update once", prepared, err)
	}
	// A connection whose statements were dropped fails one write, and
	// prepares them again for the next.
	if _, err := s.Pool().Exec(ctx, "DEALLOCATE wahost_group_instances"); err != nil {
		t.Fatal(err)
	}
	if err := writeGroup(insts, nil); err == nil || !strings.Contains(err.Error(), "26000") {
		t.Fatalf("write after DEALLOCATE: %v", err)
	}
	if err := writeGroup(insts, nil); err != nil {
		t.Fatalf("write after the failed one: %v", err)
	}

	// A row gone: the update touches one of two, the group fails.
	if err := s.DeleteInstance(ctx, insts[1].ID); err != nil {
		t.Fatal(err)
	}
	history := []storage.Disconnect{{ID: 1, InstanceID: insts[0].ID, At: now, Kind: "disconnected", Action: "reconnect"}}
	err := writeGroup(insts, history)
	if !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "update the group's instances: 1 of 2 rows") {
		t.Fatalf("update of a removed instance: %v", err)
	}
	if got, err := s.ListDisconnects(ctx, insts[0].ID, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("history after the failed write: %v, %v; want none", got, err)
	}
	if err := writeGroup(insts[:1], history); err != nil {
		t.Fatalf("the connection after the failed write: %v", err)
	}

	// The write that commits: it commits, or fails and rolls back, and the
	// transaction knows which.
	insts[0].Attempt = 7
	if committed, err := s.WriteGroupAndCommit(ctx, insts[:1]); err != nil || !committed {
		t.Fatalf("write and commit: committed %v, %v", committed, err)
	}
	insts[0].Attempt = 8
	if committed, err := s.WriteGroupAndCommit(ctx, insts); !errors.Is(err, storage.ErrNotFound) || committed {
		t.Fatalf("write and commit of a removed instance: committed %v, %v", committed, err)
	}
	if got, err := s.Instance(ctx, insts[0].ID); err != nil || got.Attempt != 7 {
		t.Fatalf("attempt after the failed commit: %d, %v; want 7", got.Attempt, err)
	}
}
