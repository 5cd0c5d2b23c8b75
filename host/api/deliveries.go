package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wahost/wahost/storage"
)

// deliveryView is one webhook delivery with its state: "pending",
// "delivered" or "failed".
type deliveryView struct {
	outboxView
	State         string    `json:"state"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
}

func deliveryState(ev storage.OutboxEvent) string {
	switch {
	case ev.DeliveredAt != nil:
		return "delivered"
	case ev.FailedAt != nil:
		return "failed"
	}
	return "pending"
}

// instanceWebhooks lists an instance's webhook deliveries, newest first.
func (s *Server) instanceWebhooks(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", storage.DefaultPage, 1, storage.MaxPage)
	if err != nil {
		return err
	}
	evs, err := s.cfg.Store.InstanceDeliveries(r.Context(), inst.ID, int(limit))
	if err != nil {
		return err
	}
	out := make([]deliveryView, 0, len(evs))
	for _, ev := range evs {
		out = append(out, deliveryView{
			outboxView: outboxView{
				ID: ev.ID, InstanceID: ev.InstanceID, Event: ev.Event, Payload: ev.Payload, CreatedAt: ev.CreatedAt,
				Attempts: ev.Attempts, FailedAt: ev.FailedAt, DeliveredAt: ev.DeliveredAt, LastError: ev.LastError,
			},
			State: deliveryState(ev), NextAttemptAt: ev.NextAttemptAt,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"instance": inst.Name, "deliveries": out})
	return nil
}

// lookupName returns the named instance, or a 404 saying so.
func (s *Server) lookupName(ctx context.Context, name string) (storage.Instance, error) {
	inst, err := s.cfg.Store.InstanceByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return inst, noInstance(name)
	}
	return inst, err
}
