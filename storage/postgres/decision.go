package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
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

// DecisionInputs reads the instances of ids, their settings and their
// recent history with three set-based queries in one pipelined batch.
func (s *Store) DecisionInputs(ctx context.Context, ids []string, since time.Time, limit int) ([]storage.DecisionInput, []error) {
	ins, errs := make([]storage.DecisionInput, len(ids)), make([]error, len(ids))
	fail := func(err error) ([]storage.DecisionInput, []error) {
		for i := range errs {
			errs[i] = err
		}
		return ins, errs
	}
	at := make(map[string][]int, len(ids)) // an id may be asked for twice
	valid := make([]string, 0, len(ids))
	for i, id := range ids {
		if errs[i] = storage.ValidateID("instance id", id); errs[i] != nil {
			continue
		}
		if _, ok := at[id]; !ok {
			valid = append(valid, id)
		}
		at[id] = append(at[id], i)
	}
	if len(valid) == 0 {
		return ins, errs
	}
	insts := make(map[string]storage.Instance, len(valid))
	sets := make(map[string]storage.InstanceSettings, len(valid))
	recent := make(map[string][]storage.Disconnect, len(valid))
	var b pgx.Batch
	var qerr [3]error
	b.Queue("SELECT "+instanceCols+" FROM wahost_instances WHERE id = ANY($1::uuid[])", valid).Query(func(rows pgx.Rows) error {
		for rows.Next() && qerr[0] == nil {
			var in storage.Instance
			if in, qerr[0] = scanInstance(rows); qerr[0] == nil {
				insts[in.ID] = in
			}
		}
		return nil
	})
	b.Queue(settingsSetQuery, valid).Query(func(rows pgx.Rows) error {
		for rows.Next() && qerr[1] == nil {
			var set storage.InstanceSettings
			r := idRow{rows: rows}
			if set, qerr[1] = scanSettings(&r); qerr[1] == nil {
				sets[r.id] = set
			}
		}
		return nil
	})
	b.Queue(recentSetQuery, valid, storage.Timestamp(since), clampLimit(limit)).Query(func(rows pgx.Rows) error {
		for rows.Next() && qerr[2] == nil {
			var d storage.Disconnect
			if d, qerr[2] = scanDisconnect(rows); qerr[2] == nil {
				recent[d.InstanceID] = append(recent[d.InstanceID], d)
			}
		}
		return nil
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return fail(wrapErr("read decision inputs", err))
	}
	if err := errors.Join(qerr[:]...); err != nil {
		return fail(wrapErr("read decision inputs", err))
	}
	for _, id := range valid {
		in, ok := insts[id]
		set, hasSet := sets[id]
		for _, i := range at[id] {
			if !ok || !hasSet {
				errs[i] = storage.NotFound("instance", id)
				continue
			}
			ins[i] = storage.DecisionInput{Instance: in, Settings: set, Recent: slices.Clone(recent[id])}
		}
	}
	return ins, errs
}

// settingsSetQuery reads settingsQuery's row for each instance of $1,
// after its id.
var settingsSetQuery = "SELECT i.id::text, " + strings.TrimPrefix(strings.Replace(settingsQuery,
	"WHERE i.id = $1", "WHERE i.id = ANY($1::uuid[])", 1), "SELECT ")

// recentSetQuery reads recentQuery's rows for each instance of $1, each
// instance's newest first.
const recentSetQuery = `SELECT ` + disconnectCols + ` FROM unnest($1::uuid[]) AS q(qid)
	CROSS JOIN LATERAL (SELECT * FROM wahost_disconnects d WHERE d.instance_id = q.qid AND d.at >= $2
		ORDER BY d.at DESC, d.id DESC LIMIT $3) d
	ORDER BY d.instance_id, d.at DESC, d.id DESC`

// idRow scans an instance id, then the rest of the row.
type idRow struct {
	rows pgx.Rows
	id   string
}

func (r *idRow) Scan(dest ...any) error {
	return r.rows.Scan(append([]any{&r.id}, dest...)...)
}
