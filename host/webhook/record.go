package webhook

import (
	"context"
)

// recorder writes deliveries to the outbox behind the workers, so a lane's
// next event need not wait for the commit. Deliveries settled at about the
// same time are recorded in one statement instead of one commit each:
// on SQLite, whose single writer the host's own units of work also need,
// that is most of the cost of a delivery. An event delivered but not yet
// recorded when the host crashes is sent again after its lease: receivers
// drop it by its delivery ID, as any repeat.
type recorder struct {
	d    *Dispatcher
	ids  chan string
	done chan struct{}
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
	batch := make([]string, 0, maxClaimed)
	for id := range r.ids {
		batch = append(batch[:0], id)
	fill:
		for len(batch) < maxClaimed {
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
	err := r.d.mark(ctx, func(ctx context.Context) error { return r.d.store.MarkDeliveredMany(ctx, ids) })
	if err == nil || len(ids) == 1 {
		if err != nil {
			r.d.log.Warn("webhook: delivered but not recorded; it will be sent again", "event_id", ids[0], "err", err)
		}
		return
	}
	// One bad event must not cost the others their record: write them one
	// by one.
	for _, id := range ids {
		if err := r.d.mark(ctx, func(ctx context.Context) error { return r.d.store.MarkDelivered(ctx, id) }); err != nil {
			r.d.log.Warn("webhook: delivered but not recorded; it will be sent again", "event_id", id, "err", err)
		}
	}
}
