package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testDecisionInput checks that DecisionInput reads what Instance,
// Settings and RecentDisconnects read.
func testDecisionInput(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	bare := newInstance(t, s, "bare")
	in := newInstance(t, s, "decided")
	if err := s.PutSettings(ctx, in.ID, storage.InstanceSettings{QRLimit: 3, PolicyOverride: "strict"}); err != nil {
		t.Fatal(err)
	}
	try(s.RecordDisconnect(ctx, sampleDisconnect(in.ID, c.Now().Add(-2*time.Hour), 428))).must(t)
	c.Advance(time.Second)
	try(s.RecordDisconnect(ctx, sampleDisconnect(in.ID, c.Now(), 500))).must(t)
	since := c.Now().Add(-time.Hour)

	for _, id := range []string{bare.ID, in.ID} {
		got := try(s.DecisionInput(ctx, id, since, 10)).must(t)
		want := storage.DecisionInput{
			Instance: try(s.Instance(ctx, id)).must(t),
			Settings: try(s.Settings(ctx, id)).must(t),
			Recent:   try(s.RecentDisconnects(ctx, id, since, 10)).must(t),
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecisionInput(%s) =\n%+v\nwant\n%+v", id, got, want)
		}
	}
	if got := try(s.DecisionInput(ctx, in.ID, since, 10)).must(t); len(got.Recent) != 1 || got.Recent[0].Code != 500 ||
		got.Settings.QRLimit != 3 {
		t.Fatalf("DecisionInput = %+v; want the 500 only, QR limit 3", got)
	}
	_, err := s.DecisionInput(ctx, storage.NewID(), since, 10)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.DecisionInput(ctx, "not-an-id", since, 10)
	wantErr(t, err, storage.ErrInvalidInput)

	// DecisionInputs reads the same for many at once, each id on its own.
	missing := storage.NewID()
	for n := range 4 {
		try(s.RecordDisconnect(ctx, sampleDisconnect(bare.ID, c.Now().Add(-time.Duration(n)*time.Minute), 500+n))).must(t)
	}
	ids := []string{in.ID, missing, bare.ID, "not-an-id", in.ID}
	ins, errs := s.DecisionInputs(ctx, ids, since, 3)
	if len(ins) != len(ids) || len(errs) != len(ids) {
		t.Fatalf("DecisionInputs: %d inputs, %d errors for %d ids", len(ins), len(errs), len(ids))
	}
	wantErr(t, errs[1], storage.ErrNotFound)
	wantErr(t, errs[3], storage.ErrInvalidInput)
	for _, i := range []int{0, 2, 4} {
		if errs[i] != nil {
			t.Fatalf("DecisionInputs: %s: %v", ids[i], errs[i])
		}
		if want := try(s.DecisionInput(ctx, ids[i], since, 3)).must(t); !reflect.DeepEqual(ins[i], want) {
			t.Fatalf("DecisionInputs: %s =\n%+v\nwant\n%+v", ids[i], ins[i], want)
		}
	}
	if len(ins[2].Recent) != 3 || ins[2].Recent[0].Code != 500 {
		t.Fatalf("DecisionInputs: history of %s = %+v; want the newest 3", bare.ID, ins[2].Recent)
	}
}
