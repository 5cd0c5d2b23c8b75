package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// Fencer names the lease a write for an instance is fenced with
// (*Coordinator implements it).
type Fencer interface {
	Fence(instanceID string) (storage.Lease, bool)
}

// Fenced is a store whose units of work commit only while this host's
// lease holds on every instance they write for: the first write for an
// instance in a transaction checks the lease inside it (CheckLease, which
// on PostgreSQL also share-locks the lease row until the commit, so no
// host can take it over meanwhile). A lost lease fails the whole unit of
// work with storage.ErrLeaseLost, and nothing of it is kept.
//
// Instances this host never drove are not fenced (a new instance, an API
// write for an instance no host drives). Writes outside a unit of work
// run in one of their own.
type Fenced struct {
	storage.Store
	fencer Fencer
}

// Fence wraps s so that its writes are fenced by f's leases.
func Fence(s storage.Store, f Fencer) *Fenced { return &Fenced{Store: s, fencer: f} }

// Unwrap returns the store Fence wrapped.
func (f *Fenced) Unwrap() storage.Store { return f.Store }

// InTx runs fn in one transaction whose writes are fenced.
func (f *Fenced) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	return f.Store.InTx(ctx, func(tx storage.Tx) error {
		return fn(&fencedTx{Tx: tx, fencer: f.fencer})
	})
}

// InGroup commits units together, each fenced as a unit of work of its
// own: a unit that writes for an instance whose lease this host lost
// fails alone, with nothing of it kept; the others commit.
func (f *Fenced) InGroup(ctx context.Context, units []storage.Unit) []error {
	fenced := make([]storage.Unit, len(units))
	for i, u := range units {
		fn := u.Fn
		u.Fn = func(tx storage.Tx) error { return fn(&fencedTx{Tx: tx, fencer: f.fencer}) }
		if u.Instance != "" {
			if l, ok := f.fencer.Fence(u.Instance); ok {
				own := u.Fence
				u.Fence = func(tx storage.Tx) error {
					if err := tx.CheckLease(ctx, l); err != nil {
						return fmt.Errorf("instance %s: %w", u.Instance, err)
					}
					if own != nil {
						return own(tx)
					}
					return nil
				}
			}
		}
		fenced[i] = u
	}
	return f.Store.InGroup(ctx, fenced)
}

// fencedTx checks the lease of each instance before its first write.
type fencedTx struct {
	storage.Tx
	fencer  Fencer
	checked map[string]bool
}

var _ storage.Tx = (*fencedTx)(nil)

func (t *fencedTx) fence(ctx context.Context, instanceID string) error {
	if t.checked[instanceID] {
		return nil
	}
	l, ok := t.fencer.Fence(instanceID)
	if !ok {
		return nil
	}
	if err := t.Tx.CheckLease(ctx, l); err != nil {
		return fmt.Errorf("instance %s: %w", instanceID, err)
	}
	if t.checked == nil {
		t.checked = map[string]bool{}
	}
	t.checked[instanceID] = true
	return nil
}

func (t *fencedTx) UpdateInstance(ctx context.Context, in storage.Instance) (storage.Instance, error) {
	if err := t.fence(ctx, in.ID); err != nil {
		return storage.Instance{}, err
	}
	return t.Tx.UpdateInstance(ctx, in)
}

func (t *fencedTx) DeleteInstance(ctx context.Context, id string) error {
	if err := t.fence(ctx, id); err != nil {
		return err
	}
	return t.Tx.DeleteInstance(ctx, id)
}

func (t *fencedTx) PutSettings(ctx context.Context, instanceID string, s storage.InstanceSettings) error {
	if err := t.fence(ctx, instanceID); err != nil {
		return err
	}
	return t.Tx.PutSettings(ctx, instanceID, s)
}

func (t *fencedTx) RecordDisconnect(ctx context.Context, d storage.Disconnect) (storage.Disconnect, error) {
	if err := t.fence(ctx, d.InstanceID); err != nil {
		return storage.Disconnect{}, err
	}
	return t.Tx.RecordDisconnect(ctx, d)
}

func (t *fencedTx) Enqueue(ctx context.Context, ev storage.OutboxEvent) (storage.OutboxEvent, error) {
	if err := t.fence(ctx, ev.InstanceID); err != nil {
		return storage.OutboxEvent{}, err
	}
	return t.Tx.Enqueue(ctx, ev)
}

func (t *fencedTx) InsertMessage(ctx context.Context, m storage.Message) (storage.Message, error) {
	if err := t.fence(ctx, m.InstanceID); err != nil {
		return storage.Message{}, err
	}
	return t.Tx.InsertMessage(ctx, m)
}

func (t *fencedTx) SetMessageStatus(ctx context.Context, instanceID, id string, status storage.MessageStatus, reason string, ts time.Time) (storage.Message, bool, error) {
	if err := t.fence(ctx, instanceID); err != nil {
		return storage.Message{}, false, err
	}
	return t.Tx.SetMessageStatus(ctx, instanceID, id, status, reason, ts)
}

func (t *fencedTx) FailQueuedMessages(ctx context.Context, instanceID, reason string) ([]storage.Message, error) {
	if err := t.fence(ctx, instanceID); err != nil {
		return nil, err
	}
	return t.Tx.FailQueuedMessages(ctx, instanceID, reason)
}

func (t *fencedTx) PutEpisode(ctx context.Context, e storage.Episode) (storage.Episode, error) {
	if err := t.fence(ctx, e.InstanceID); err != nil {
		return storage.Episode{}, err
	}
	return t.Tx.PutEpisode(ctx, e)
}

// inTx runs one fenced write in a unit of work of its own.
func inTx[T any](ctx context.Context, f *Fenced, fn func(tx storage.Tx) (T, error)) (out T, err error) {
	err = f.InTx(ctx, func(tx storage.Tx) error {
		out, err = fn(tx)
		return err
	})
	return out, err
}

// The writes of storage.Tx called on the store itself, each fenced in a
// unit of work of its own.

func (f *Fenced) UpdateInstance(ctx context.Context, in storage.Instance) (storage.Instance, error) {
	return inTx(ctx, f, func(tx storage.Tx) (storage.Instance, error) { return tx.UpdateInstance(ctx, in) })
}

func (f *Fenced) DeleteInstance(ctx context.Context, id string) error {
	return f.InTx(ctx, func(tx storage.Tx) error { return tx.DeleteInstance(ctx, id) })
}

func (f *Fenced) PutSettings(ctx context.Context, instanceID string, s storage.InstanceSettings) error {
	return f.InTx(ctx, func(tx storage.Tx) error { return tx.PutSettings(ctx, instanceID, s) })
}

func (f *Fenced) RecordDisconnect(ctx context.Context, d storage.Disconnect) (storage.Disconnect, error) {
	return inTx(ctx, f, func(tx storage.Tx) (storage.Disconnect, error) { return tx.RecordDisconnect(ctx, d) })
}

func (f *Fenced) Enqueue(ctx context.Context, ev storage.OutboxEvent) (storage.OutboxEvent, error) {
	return inTx(ctx, f, func(tx storage.Tx) (storage.OutboxEvent, error) { return tx.Enqueue(ctx, ev) })
}

func (f *Fenced) InsertMessage(ctx context.Context, m storage.Message) (storage.Message, error) {
	return inTx(ctx, f, func(tx storage.Tx) (storage.Message, error) { return tx.InsertMessage(ctx, m) })
}

func (f *Fenced) SetMessageStatus(ctx context.Context, instanceID, id string, status storage.MessageStatus, reason string, ts time.Time) (m storage.Message, changed bool, err error) {
	err = f.InTx(ctx, func(tx storage.Tx) error {
		m, changed, err = tx.SetMessageStatus(ctx, instanceID, id, status, reason, ts)
		return err
	})
	return m, changed, err
}

func (f *Fenced) FailQueuedMessages(ctx context.Context, instanceID, reason string) ([]storage.Message, error) {
	return inTx(ctx, f, func(tx storage.Tx) ([]storage.Message, error) { return tx.FailQueuedMessages(ctx, instanceID, reason) })
}

func (f *Fenced) PutEpisode(ctx context.Context, e storage.Episode) (storage.Episode, error) {
	return inTx(ctx, f, func(tx storage.Tx) (storage.Episode, error) { return tx.PutEpisode(ctx, e) })
}
