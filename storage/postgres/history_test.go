package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// TestDeleteWaitsForHistoryWriters: the history and the episodes have no
// foreign key, so a delete must not leave behind the rows of a unit of
// work that wrote for the instance while the delete ran. The delete waits
// for that unit (it share-locked the instance's key) and then removes
// what it committed.
func TestDeleteWaitsForHistoryWriters(t *testing.T) {
	t.Parallel()
	schema := testenv.Name("wahost_test_")
	s := openTest(t, postgres.Config{Schema: schema, MaxConns: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, err := s.CreateInstance(ctx, storage.Instance{Name: "raced"})
	if err != nil {
		t.Fatal(err)
	}

	wrote, release := make(chan error, 1), make(chan struct{})
	unit := make(chan error, 1)
	go func() {
		unit <- s.InTx(ctx, func(tx storage.Tx) error {
			_, err := tx.RecordDisconnect(ctx, storage.Disconnect{
				InstanceID: in.ID, At: time.Now(), Kind: "stream_error", Code: 515,
				Decision: json.RawMessage(`{"v":1,"action":"reconnect"}`), Action: "reconnect",
			})
			if err == nil {
				_, err = tx.PutEpisode(ctx, storage.Episode{InstanceID: in.ID, StartedAt: time.Now()})
			}
			wrote <- err
			<-release
			return err
		})
	}()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteInstance(ctx, in.ID) }()
	// Let the unit commit only once the delete waits for its lock.
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	instances := pgx.Identifier{schema, "wahost_instances"}.Sanitize()
	for {
		// A backend of this schema's instances table waiting for a lock:
		// the delete, waiting for the unit's lock on the instance.
		var waiting bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
			WHERE a.wait_event_type = 'Lock' AND l.relation = $1::regclass)`, instances).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-deleted:
			t.Fatalf("the delete did not wait for the unit writing history: %v", err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		default:
		}
	}
	close(release)
	if err := <-unit; err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}

	for _, table := range []string{"wahost_disconnects", "wahost_episodes"} {
		var n int
		q := "SELECT count(*) FROM " + pgx.Identifier{schema, table}.Sanitize() + " WHERE instance_id = $1"
		if err := conn.QueryRow(ctx, q, in.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows of the deleted instance left", table, n)
		}
	}
}
