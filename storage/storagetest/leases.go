package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testLeases(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "leased")
	const ttl = 30 * time.Second

	a1 := try(s.AcquireLease(ctx, in.ID, "host-a", ttl)).must(t)
	if a1.Owner != "host-a" || a1.Token != 1 || !a1.ExpiresAt.Equal(c.Now().Add(ttl)) {
		t.Fatalf("AcquireLease = %+v", a1)
	}
	c.Advance(10 * time.Second)
	a2 := try(s.AcquireLease(ctx, in.ID, "host-a", ttl)).must(t)
	if a2.Token != 1 || !a2.ExpiresAt.Equal(c.Now().Add(ttl)) {
		t.Fatalf("re-acquire by owner = %+v, want same token, new expiry", a2)
	}

	_, err := s.AcquireLease(ctx, in.ID, "host-b", ttl)
	var held *storage.LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, storage.ErrLeaseHeld) || held.Owner != "host-a" || !held.ExpiresAt.Equal(a2.ExpiresAt) {
		t.Fatalf("AcquireLease by another host: err = %v, want *LeaseHeldError naming host-a", err)
	}

	c.Advance(5 * time.Second)
	a3 := try(s.RenewLease(ctx, a2, ttl)).must(t)
	if a3.Token != 1 || !a3.ExpiresAt.Equal(c.Now().Add(ttl)) {
		t.Fatalf("RenewLease = %+v", a3)
	}

	// Expired: another host takes over with a higher token; the old
	// holder can no longer renew.
	c.Advance(ttl)
	b1 := try(s.AcquireLease(ctx, in.ID, "host-b", ttl)).must(t)
	if b1.Owner != "host-b" || b1.Token != 2 {
		t.Fatalf("takeover = %+v, want host-b with token 2", b1)
	}
	_, err = s.RenewLease(ctx, a3, ttl)
	wantErr(t, err, storage.ErrLeaseLost)
	if got := try(s.Lease(ctx, in.ID)).must(t); got != b1 {
		t.Fatalf("Lease = %+v, want %+v", got, b1)
	}

	// Released: free at once, token keeps growing.
	if err := s.ReleaseLease(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, b1); err != nil {
		t.Fatalf("second ReleaseLease: %v", err)
	}
	if err := s.ReleaseLease(ctx, a3); err != nil {
		t.Fatalf("ReleaseLease of a lost lease: %v", err)
	}
	a4 := try(s.AcquireLease(ctx, in.ID, "host-a", ttl)).must(t)
	if a4.Token != 3 {
		t.Fatalf("acquire after release = %+v, want token 3", a4)
	}
	// An owner re-acquiring its own lapsed lease also gets a new token.
	c.Advance(ttl)
	if a5 := try(s.AcquireLease(ctx, in.ID, "host-a", ttl)).must(t); a5.Token != 4 {
		t.Fatalf("re-acquire after own expiry = %+v, want token 4", a5)
	}

	_, err = s.AcquireLease(ctx, storage.NewID(), "host-a", ttl)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.Lease(ctx, storage.NewID())
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.AcquireLease(ctx, in.ID, "", ttl)
	wantErr(t, err, storage.ErrInvalidInput)
	_, err = s.AcquireLease(ctx, in.ID, "host-a", 0)
	wantErr(t, err, storage.ErrInvalidInput)
}

// testLeaseFencing checks CheckLease inside a unit of work: writes of a
// host that lost its lease do not commit.
func testLeaseFencing(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "fenced")
	a := try(s.AcquireLease(ctx, in.ID, "host-a", time.Minute)).must(t)
	if err := s.CheckLease(ctx, a); err != nil {
		t.Fatal(err)
	}
	write := func(l storage.Lease, attempt int) error {
		return s.InTx(ctx, func(tx storage.Tx) error {
			if err := tx.CheckLease(ctx, l); err != nil {
				return err
			}
			cur, err := tx.Instance(ctx, in.ID)
			if err != nil {
				return err
			}
			cur.Attempt = attempt
			_, err = tx.UpdateInstance(ctx, cur)
			return err
		})
	}
	if err := write(a, 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	wantErr(t, s.CheckLease(ctx, a), storage.ErrLeaseLost)
	b := try(s.AcquireLease(ctx, in.ID, "host-b", time.Minute)).must(t)
	wantErr(t, write(a, 2), storage.ErrLeaseLost)
	if err := write(b, 3); err != nil {
		t.Fatal(err)
	}
	if got := try(s.Instance(ctx, in.ID)).must(t); got.Attempt != 3 {
		t.Fatalf("Attempt = %d, want 3 (the fenced write must not commit)", got.Attempt)
	}
}
