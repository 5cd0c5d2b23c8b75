package webhook

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/wahost/wahost/storage"
)

// deliveryMarker is implemented by the storage.Tx of stores whose units
// of work can also mark outbox events, as storage/sqlite's and
// storage/postgres's do. The recorder then writes the deliveries settled
// at about the same time in one commit instead of one commit each: on
// SQLite, whose single writer the host's own units of work also need,
// that is most of the cost of a delivery.
type deliveryMarker interface {
	MarkDelivered(ctx context.Context, id string) error
}

var errNoBatch = errors.New("the store's units of work cannot mark deliveries")

// recorder writes deliveries to the outbox behind the workers, so a lane's
// next event need not wait for the commit. An event delivered but not yet
// recorded when the host crashes is sent again after its lease: receivers
// drop it by its delivery ID, as any repeat.
type recorder struct {
	d       *Dispatcher
	ids     chan string
	done    chan struct{}
	noBatch atomic.Bool // the store cannot batch: write one by one
}

func newRecorder(ctx context.Context, d *Dispatcher) *recorder {
	r := &recorder{d: d, ids: make(chan string, maxClaimed), done: make(chan struct{})}
	go r.run(ctx)
	return r
}

// add queues a delivered event; it blocks only when the queue is full.
func (r *recorder) add(id string) { r.ids <- id }

// close writes what is queued and returns once it is written.
func (r *recorder) close() {
	close(r.ids)
	<-r.done
}

func (r *recorder) run(ctx context.Context) {
	defer close(r.done)
	batch := make([]string, 0, claimBatch)
	for id := range r.ids {
		batch = append(batch[:0], id)
	fill:
		for len(batch) < claimBatch {
			select {
			case id, ok := <-r.ids:
				if !ok {
					break fill
				}
				batch = append(batch, id)
			default:
				break fill
			}
		}
		r.write(ctx, batch)
	}
}

func (r *recorder) write(ctx context.Context, ids []string) {
	if len(ids) > 1 && !r.noBatch.Load() {
		err := r.d.mark(ctx, func(ctx context.Context) error {
			return r.d.store.InTx(ctx, func(tx storage.Tx) error {
				m, ok := tx.(deliveryMarker)
				if !ok {
					return errNoBatch
				}
				for _, id := range ids {
					if err := m.MarkDelivered(ctx, id); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err == nil {
			return
		}
		if errors.Is(err, errNoBatch) {
			r.noBatch.Store(true)
		}
		// One bad event (pruned meanwhile, say) must not cost the others
		// their record: write them one by one.
	}
	for _, id := range ids {
		if err := r.d.mark(ctx, func(ctx context.Context) error { return r.d.store.MarkDelivered(ctx, id) }); err != nil {
			r.d.log.Warn("webhook: delivered but not recorded; it will be sent again", "event_id", id, "err", err)
		}
	}
}
