package sqlite

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wahost/wahost/storage"
)

// DecisionInput reads an instance, its settings and its recent history:
// reads cost SQLite no round trip, so it makes the three calls.
func (s *Store) DecisionInput(ctx context.Context, instanceID string, since time.Time, limit int) (storage.DecisionInput, error) {
	var out storage.DecisionInput
	var err error
	if out.Instance, err = s.Instance(ctx, instanceID); err != nil {
		return storage.DecisionInput{}, err
	}
	if out.Settings, err = s.Settings(ctx, instanceID); err != nil {
		return storage.DecisionInput{}, err
	}
	if out.Recent, err = s.RecentDisconnects(ctx, instanceID, since, limit); err != nil {
		return storage.DecisionInput{}, err
	}
	return out, nil
}

// DecisionInputs reads the decision input of each of ids: reads cost
// SQLite no round trip, so it makes DecisionInput's, on as many of its
// reader connections at once as it has.
func (s *Store) DecisionInputs(ctx context.Context, ids []string, since time.Time, limit int) ([]storage.DecisionInput, []error) {
	ins, errs := make([]storage.DecisionInput, len(ids)), make([]error, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(s.reader.Stats().MaxOpenConnections, len(ids)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(ids); i = int(next.Add(1) - 1) {
				ins[i], errs[i] = s.DecisionInput(ctx, ids[i], since, limit)
			}
		})
	}
	wg.Wait()
	return ins, errs
}
