package storagetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testEpisodes: an instance has at most one open episode; an episode
// round-trips every field, ends, is cut at the horizon, is listed by
// start and is pruned with the disconnect history; the rollout state
// round-trips and is replaced.
func testEpisodes(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "outages")
	other := newInstance(t, s, "other")
	start := c.Now()
	if _, err := s.OpenEpisode(ctx, in.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OpenEpisode before any = %v, want ErrNotFound", err)
	}
	e := storage.Episode{
		InstanceID: in.ID, StartedAt: start, Attempts: 2, MaxStep: 4, NeededQR: true, Fallbacks: 1, Loops440: 3,
		PolicySHA256: strings.Repeat("ab", 32), Policy: strings.Repeat("cd", 32), Generation: 7, Arm: "canary", Mixed: true,
	}
	var got storage.Episode
	if err := s.InTx(ctx, func(tx storage.Tx) error {
		var err error
		got, err = tx.PutEpisode(ctx, e)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.ID, e.StartedAt = got.ID, storage.Timestamp(start)
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("PutEpisode = %+v, want %+v", got, e)
	}
	if open := try(s.OpenEpisode(ctx, in.ID)).must(t); !reflect.DeepEqual(open, e) || !open.Open() {
		t.Fatalf("OpenEpisode = %+v, want %+v", open, e)
	}
	end := storage.Timestamp(start.Add(time.Minute))
	e.Outcome, e.EndedAt, e.EndKind, e.EndRule = storage.EpisodeEnded, &end, "logged_out", "logout/401"
	if got = try(s.PutEpisode(ctx, e)).must(t); !reflect.DeepEqual(got, e) {
		t.Fatalf("ended episode = %+v, want %+v", got, e)
	}
	if _, err := s.OpenEpisode(ctx, in.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("OpenEpisode after its end = %v, want ErrNotFound", err)
	}
	late := try(s.PutEpisode(ctx, storage.Episode{InstanceID: other.ID, StartedAt: start.Add(time.Hour)})).must(t)
	if n := try(s.CutEpisodes(ctx, start.Add(2*time.Hour), start.Add(3*time.Hour))).must(t); n != 1 {
		t.Fatalf("CutEpisodes = %d, want 1", n)
	}
	list := try(s.Episodes(ctx, start)).must(t)
	if len(list) != 2 || list[0].ID != e.ID || list[1].ID != late.ID || list[1].Outcome != storage.EpisodeCut ||
		list[1].EndedAt == nil || !list[1].EndedAt.Equal(storage.Timestamp(start.Add(3*time.Hour))) {
		t.Fatalf("Episodes = %+v", list)
	}
	if list := try(s.Episodes(ctx, start.Add(time.Minute))).must(t); len(list) != 1 {
		t.Fatalf("Episodes since a minute later = %+v, want the later one", list)
	}
	if _, err := s.PruneDisconnects(ctx, start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if list := try(s.Episodes(ctx, start)).must(t); len(list) != 1 || list[0].ID != late.ID {
		t.Fatalf("Episodes after pruning = %+v, want the one that ended later", list)
	}

	if _, err := s.Rollout(ctx); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Rollout before any = %v, want ErrNotFound", err)
	}
	r := storage.RolloutState{
		ID: "r1", Module: "builtin:default", SHA256: strings.Repeat("ab", 32), Policy: "p", StablePolicy: "q",
		Step: 1, Status: "running", Reason: "step 2 of 4", StartedAt: storage.Timestamp(start),
		StepStarted: storage.Timestamp(start.Add(time.Hour)), CanaryEpisodes: 3, StableEpisodes: 9,
		Detail: []byte(`{"verdict":"wait"}`),
	}
	for _, status := range []string{"running", "promoted"} {
		r.Status = status
		if err := s.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
		got := try(s.Rollout(ctx)).must(t)
		r.UpdatedAt = got.UpdatedAt
		if !reflect.DeepEqual(got, r) || got.UpdatedAt.IsZero() {
			t.Fatalf("Rollout = %+v, want %+v", got, r)
		}
	}
}
