package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// The executor's unit of work: the instance's new state, the disconnect
// and its webhook commit together; a webhook worker then claims the event.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wahost-example")
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "wahost.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	in, _ := s.CreateInstance(ctx, storage.Instance{Name: "sales"})
	err = s.InTx(ctx, func(tx storage.Tx) error {
		cur, err := tx.Instance(ctx, in.ID)
		if err != nil {
			return err
		}
		cur.Status, cur.Attempt = storage.StatusConnecting, cur.Attempt+1
		if _, err := tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.RecordDisconnect(ctx, storage.Disconnect{
			InstanceID: in.ID, At: time.Now(), Kind: "stream_error", Code: 515, Action: "reconnect",
			Decision: json.RawMessage(`{"v":1,"action":"reconnect","delay_ms":0}`),
		}); err != nil {
			return err
		}
		_, err = tx.Enqueue(ctx, storage.OutboxEvent{
			InstanceID: in.ID, Event: "connection.update",
			Payload: json.RawMessage(`{"instance":"sales","state":"connecting"}`),
		})
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	evs, _ := s.Claim(ctx, "worker-1", 10, 30*time.Second)
	for _, ev := range evs {
		fmt.Println(ev.Event, string(ev.Payload), "attempt", ev.Attempts)
		_ = s.MarkDelivered(ctx, ev.ID)
	}
	hist, _ := s.RecentDisconnects(ctx, in.ID, time.Now().Add(-24*time.Hour), 50)
	fmt.Println(len(hist), "disconnect, code", hist[0].Code)
	// Output:
	// connection.update {"instance":"sales","state":"connecting"} attempt 1
	// 1 disconnect, code 515
}
