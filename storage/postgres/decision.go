package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// DecisionInput reads an instance, its settings and its recent history
// in one round trip: the three queries go out as one pipelined batch.
func (s *Store) DecisionInput(ctx context.Context, instanceID string, since time.Time, limit int) (storage.DecisionInput, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.DecisionInput{}, err
	}
	var b pgx.Batch
	var out storage.DecisionInput
	var errs [3]error
	b.Queue(instanceQuery, instanceID).QueryRow(func(row pgx.Row) error {
		out.Instance, errs[0] = scanInstance(row)
		return nil
	})
	b.Queue(settingsQuery, instanceID).QueryRow(func(row pgx.Row) error {
		out.Settings, errs[1] = scanSettings(row)
		return nil
	})
	b.Queue(recentQuery, instanceID, storage.Timestamp(since), clampLimit(limit)).Query(func(rows pgx.Rows) error {
		out.Recent, errs[2] = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Disconnect, error) {
			return scanDisconnect(r)
		})
		return nil
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return storage.DecisionInput{}, wrapErr("read decision input", err)
	}
	if errors.Is(errs[0], pgx.ErrNoRows) || errors.Is(errs[1], pgx.ErrNoRows) {
		return storage.DecisionInput{}, storage.NotFound("instance", instanceID)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return storage.DecisionInput{}, wrapErr("read decision input", err)
	}
	return out, nil
}
