package storagetest

import (
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testPurges(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	if err := s.AddPurge(ctx, "inst-a"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if err := s.AddPurge(ctx, "inst-b"); err != nil {
		t.Fatal(err)
	}
	due := try(s.DuePurges(ctx, c.Now(), 10)).must(t)
	if len(due) != 2 || due[0].Instance != "inst-a" || due[1].Instance != "inst-b" || due[0].Generation != 1 {
		t.Fatalf("DuePurges = %+v", due)
	}

	// A retry moves the purge out of the due set and records the error.
	if err := s.PurgeRetry(ctx, "inst-a", c.Now().Add(time.Minute), "dial tcp: connection refused"); err != nil {
		t.Fatal(err)
	}
	due = try(s.DuePurges(ctx, c.Now(), 10)).must(t)
	if len(due) != 1 || due[0].Instance != "inst-b" {
		t.Fatalf("DuePurges after retry = %+v", due)
	}
	c.Advance(time.Minute)
	due = try(s.DuePurges(ctx, c.Now(), 1)).must(t)
	if len(due) != 1 || due[0].Instance != "inst-b" {
		t.Fatalf("DuePurges limit 1 = %+v, want the most overdue", due)
	}
	due = try(s.DuePurges(ctx, c.Now(), 10)).must(t)
	a := due[1]
	if a.Instance != "inst-a" || a.Attempts != 1 || a.LastError != "dial tcp: connection refused" {
		t.Fatalf("retried purge = %+v", a)
	}

	// A request arriving during a purge bumps the generation: the purge
	// that started before it does not remove it.
	if err := s.AddPurge(ctx, "inst-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeDone(ctx, "inst-a", a.Generation); err != nil {
		t.Fatal(err)
	}
	due = try(s.DuePurges(ctx, c.Now(), 10)).must(t)
	if len(due) != 2 || due[1].Instance != "inst-a" || due[1].Generation != 2 {
		t.Fatalf("DuePurges after a coalesced request = %+v, want inst-a kept with generation 2", due)
	}
	for _, p := range due {
		if err := s.PurgeDone(ctx, p.Instance, p.Generation); err != nil {
			t.Fatal(err)
		}
	}
	if due := try(s.DuePurges(ctx, c.Now().Add(time.Hour), 10)).must(t); len(due) != 0 {
		t.Fatalf("DuePurges after done = %+v", due)
	}
	wantErr(t, s.AddPurge(ctx, "bad/name"), storage.ErrInvalidName)
}
