package storagetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testGroupRows checks the units of a group that name their instance
// (storage.Unit.Instance), which a store may read ahead: every call
// returns the row as it is stored, a statement of the unit's own sees the
// writes made before it, the next unit of the same instance sees them
// too, and a failing unit keeps nothing.
func testGroupRows(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	a := newInstance(t, s, "rows-a")
	b := newInstance(t, s, "rows-b")
	start := c.Now()
	boom := errors.New("boom")
	var updated storage.Instance
	var recorded storage.Disconnect
	var started, ended storage.Episode

	first := storage.Unit{Instance: a.ID, Fn: func(tx storage.Tx) error {
		in, err := tx.Instance(ctx, a.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(in, a) {
			t.Errorf("Instance = %+v, want %+v", in, a)
		}
		at := c.Now().Add(time.Nanosecond) // stored to the microsecond
		in.Status, in.Attempt, in.Step, in.QRCount = storage.StatusConnecting, 1, 2, 3
		in.DisconnectionAt, in.DisconnectionReasonCode = &at, 428
		in.DisconnectionObject = json.RawMessage(`{"error": "stream", "code": 428}`)
		in.Reconnect = &storage.PendingReconnect{Due: at.Add(2 * time.Second), Step: 2}
		if updated, err = tx.UpdateInstance(ctx, in); err != nil {
			return err
		}
		if recorded, err = tx.RecordDisconnect(ctx, sampleDisconnect(a.ID, at, 428)); err != nil {
			return err
		}
		if _, err := tx.OpenEpisode(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenEpisode before any = %v, want ErrNotFound", err)
		}
		started, err = tx.PutEpisode(ctx, storage.Episode{
			InstanceID: a.ID, StartedAt: at, Attempts: 1, MaxStep: 2, PolicySHA256: recorded.PolicySHA256,
			Policy: "digest", Generation: 7, Arm: "canary",
		})
		return err
	}}
	failing := storage.Unit{Instance: b.ID, Fn: func(tx storage.Tx) error {
		if err := writeAll(t, tx, b.ID, c); err != nil {
			return err
		}
		if _, err := tx.PutEpisode(ctx, storage.Episode{InstanceID: b.ID, StartedAt: start}); err != nil {
			return err
		}
		return boom
	}}
	second := storage.Unit{Instance: a.ID, Fn: func(tx storage.Tx) error {
		in, err := tx.Instance(ctx, a.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(in, updated) {
			t.Errorf("Instance in the next unit = %+v, want %+v", in, updated)
		}
		ep, err := tx.OpenEpisode(ctx, a.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(ep, started) {
			t.Errorf("OpenEpisode in the next unit = %+v, want %+v", ep, started)
		}
		end := c.Now()
		ep.Attempts, ep.Outcome, ep.EndedAt, ep.EndKind, ep.EndRule = 2, storage.EpisodeEnded, &end, "logged_out", "logout/401"
		if ended, err = tx.PutEpisode(ctx, ep); err != nil {
			return err
		}
		if _, err := tx.OpenEpisode(ctx, a.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenEpisode after its end = %v, want ErrNotFound", err)
		}
		return nil
	}}

	// A second open episode is refused by the database, whose statement
	// must see the first, written just before.
	d := newInstance(t, s, "rows-d")
	twice := storage.Unit{Instance: d.ID, Fn: func(tx storage.Tx) error {
		for range 2 {
			if _, err := tx.PutEpisode(ctx, storage.Episode{InstanceID: d.ID, StartedAt: start}); err != nil {
				return err
			}
		}
		return nil
	}}

	errs := s.InGroup(ctx, []storage.Unit{first, failing, second, twice})
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("units of a: %v, %v", errs[0], errs[2])
	}
	wantErr(t, errs[1], boom)
	if errs[3] == nil {
		t.Fatal("a unit opening two episodes of one instance committed")
	}
	if _, err := s.OpenEpisode(ctx, d.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OpenEpisode of the unit that failed = %v, want ErrNotFound", err)
	}

	if got := try(s.Instance(ctx, a.ID)).must(t); !reflect.DeepEqual(got, updated) {
		t.Fatalf("stored instance = %+v\nUpdateInstance returned %+v", got, updated)
	}
	if hist := try(s.ListDisconnects(ctx, a.ID, 0, 10)).must(t); len(hist) != 1 || !reflect.DeepEqual(hist[0], recorded) {
		t.Fatalf("stored history = %+v\nRecordDisconnect returned %+v", hist, recorded)
	}
	eps := try(s.Episodes(ctx, start.Add(-time.Hour))).must(t)
	var mine []storage.Episode
	for _, e := range eps {
		if e.InstanceID == a.ID || e.InstanceID == b.ID {
			mine = append(mine, e)
		}
	}
	if len(mine) != 1 || !reflect.DeepEqual(mine[0], ended) || ended.ID != started.ID {
		t.Fatalf("stored episodes = %+v\nPutEpisode returned %+v then %+v", mine, started, ended)
	}
	if got := try(s.Instance(ctx, b.ID)).must(t); !reflect.DeepEqual(got, b) {
		t.Fatalf("the failed unit's instance = %+v, want it untouched: %+v", got, b)
	}
	if hist := try(s.ListDisconnects(ctx, b.ID, 0, 10)).must(t); len(hist) != 0 {
		t.Fatalf("the failed unit left history: %+v", hist)
	}

	// The next group reads what this one stored.
	errs = s.InGroup(ctx, []storage.Unit{{Instance: a.ID, Fn: func(tx storage.Tx) error {
		in, err := tx.Instance(ctx, a.ID)
		if err == nil && !reflect.DeepEqual(in, updated) {
			t.Errorf("Instance in the next group = %+v, want %+v", in, updated)
		}
		return err
	}}, {Instance: b.ID, Fn: func(tx storage.Tx) error {
		_, err := tx.OpenEpisode(ctx, b.ID)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenEpisode of the failed unit's instance = %v, want ErrNotFound", err)
		}
		return nil
	}}})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
