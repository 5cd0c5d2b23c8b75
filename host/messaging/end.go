package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// FailQueued fails every queued message of inst with reason "logged_out"
// and writes their messages.update, inside the caller's unit of work: the
// executor calls it in the transaction that ends a session for good. The
// caller nudges the webhooks after the commit.
func (s *Service) FailQueued(ctx context.Context, tx storage.Tx, inst storage.Instance) error {
	failed, err := tx.FailQueuedMessages(ctx, inst.ID, ReasonLoggedOut)
	if err != nil {
		return fmt.Errorf("failing the queue of %s: %w", inst.Name, err)
	}
	for _, m := range failed {
		if err := s.enqueueUpdate(ctx, tx, inst, m); err != nil {
			return err
		}
	}
	return nil
}

// PruneBatch is how many messages one Prune statement deletes.
const PruneBatch = 500

// Prune deletes the messages created before before that are no longer
// queued, in batches of PruneBatch, and returns how many it deleted.
func (s *Service) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.cfg.Store.PruneMessages(ctx, before, PruneBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("pruning messages: %w", err)
		}
		if n < PruneBatch {
			return total, nil
		}
	}
}
