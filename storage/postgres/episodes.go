package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const episodeCols = `id, instance_id::text, started_at, ended_at, outcome, end_kind, end_rule, attempts,
	max_step, needed_qr, fallbacks, loops_440, policy_sha256, policy, generation, arm, mixed`

func scanEpisode(row pgx.Row) (storage.Episode, error) {
	var e storage.Episode
	var gen int64
	err := row.Scan(&e.ID, &e.InstanceID, &e.StartedAt, &e.EndedAt, &e.Outcome, &e.EndKind, &e.EndRule,
		&e.Attempts, &e.MaxStep, &e.NeededQR, &e.Fallbacks, &e.Loops440, &e.PolicySHA256, &e.Policy, &gen,
		&e.Arm, &e.Mixed)
	e.Generation = uint64(gen)
	e.StartedAt = storage.Timestamp(e.StartedAt)
	e.EndedAt = utc(e.EndedAt)
	return e, err
}

// OpenEpisode returns the instance's open episode.
func (o ops) OpenEpisode(ctx context.Context, instanceID string) (storage.Episode, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.Episode{}, err
	}
	if gi := o.grp.instance(instanceID); gi != nil {
		if gi.open == nil {
			return storage.Episode{}, fmt.Errorf("postgres: open episode of %s: %w", instanceID, storage.ErrNotFound)
		}
		ep := *gi.open
		ep.EndedAt = utc(ep.EndedAt)
		return ep, nil
	}
	e, err := scanEpisode(o.q.QueryRow(ctx, `SELECT `+episodeCols+` FROM wahost_episodes
	WHERE instance_id = $1 AND outcome = ''`, instanceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("postgres: open episode of %s: %w", instanceID, storage.ErrNotFound)
	}
	return e, wrapErr("open episode of "+instanceID, err)
}

// PutEpisode inserts or updates an episode.
func (o ops) PutEpisode(ctx context.Context, e storage.Episode) (storage.Episode, error) {
	if err := storage.ValidateID("instance id", e.InstanceID); err != nil {
		return storage.Episode{}, err
	}
	if gi := o.grp.instance(e.InstanceID); gi != nil {
		if out, ok := o.grp.putEpisode(gi, e); ok {
			return out, nil
		}
		o.grp.forget(e.InstanceID) // the statement below changes its episodes
	}
	args := []any{e.InstanceID, storage.Timestamp(e.StartedAt), utc(e.EndedAt), e.Outcome, e.EndKind, e.EndRule,
		e.Attempts, e.MaxStep, e.NeededQR, e.Fallbacks, e.Loops440, e.PolicySHA256, e.Policy,
		int64(e.Generation), e.Arm, e.Mixed}
	if e.ID == 0 {
		out, err := scanEpisode(o.q.QueryRow(ctx, `INSERT INTO wahost_episodes (instance_id, started_at,
		ended_at, outcome, end_kind, end_rule, attempts, max_step, needed_qr, fallbacks, loops_440,
		policy_sha256, policy, generation, arm, mixed)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 WHERE `+instanceLocked+`
		RETURNING `+episodeCols, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return out, storage.NotFound("instance", e.InstanceID)
		}
		return out, wrapErr("start episode of "+e.InstanceID, err)
	}
	out, err := scanEpisode(o.q.QueryRow(ctx, `UPDATE wahost_episodes SET instance_id = $1, started_at = $2,
		ended_at = $3, outcome = $4, end_kind = $5, end_rule = $6, attempts = $7, max_step = $8,
		needed_qr = $9, fallbacks = $10, loops_440 = $11, policy_sha256 = $12, policy = $13,
		generation = $14, arm = $15, mixed = $16 WHERE id = $17 AND `+instanceLocked+`
		RETURNING `+episodeCols, append(args, e.ID)...))
	if errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("postgres: update episode %d: %w", e.ID, storage.ErrNotFound)
	}
	return out, wrapErr("update episode of "+e.InstanceID, err)
}

// Episodes returns the episodes started at or after since, oldest first.
func (o ops) Episodes(ctx context.Context, since time.Time) ([]storage.Episode, error) {
	rows, err := o.q.Query(ctx, `SELECT `+episodeCols+` FROM wahost_episodes
	WHERE started_at >= $1 ORDER BY started_at, id`, storage.Timestamp(since))
	if err != nil {
		return nil, wrapErr("list episodes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Episode, error) { return scanEpisode(r) })
	return out, wrapErr("list episodes", err)
}

// CutEpisodes ends the open episodes started before startedBefore.
func (o ops) CutEpisodes(ctx context.Context, startedBefore, at time.Time) (int64, error) {
	o.grp.forget("")
	tag, err := o.q.Exec(ctx, `UPDATE wahost_episodes SET outcome = $1, ended_at = $2
	WHERE outcome = '' AND started_at < $3`, storage.EpisodeCut, storage.Timestamp(at), storage.Timestamp(startedBefore))
	if err != nil {
		return 0, wrapErr("cut episodes", err)
	}
	return tag.RowsAffected(), nil
}

// Rollout returns the stored rollout state.
func (o ops) Rollout(ctx context.Context) (storage.RolloutState, error) {
	var s storage.RolloutState
	err := o.q.QueryRow(ctx, `SELECT id, module, sha256, policy, stable_policy, step, status, reason,
	started_at, step_started_at, canary_episodes, stable_episodes, detail, updated_at FROM wahost_rollout`).Scan(
		&s.ID, &s.Module, &s.SHA256, &s.Policy, &s.StablePolicy, &s.Step, &s.Status, &s.Reason, &s.StartedAt,
		&s.StepStarted, &s.CanaryEpisodes, &s.StableEpisodes, &s.Detail, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("postgres: rollout: %w", storage.ErrNotFound)
	}
	s.StartedAt, s.StepStarted, s.UpdatedAt = storage.Timestamp(s.StartedAt), storage.Timestamp(s.StepStarted), storage.Timestamp(s.UpdatedAt)
	return s, wrapErr("rollout", err)
}

// PutRollout replaces the rollout state.
func (o ops) PutRollout(ctx context.Context, s storage.RolloutState) error {
	_, err := o.q.Exec(ctx, `INSERT INTO wahost_rollout (only_row, id, module, sha256, policy, stable_policy,
	step, status, reason, started_at, step_started_at, canary_episodes, stable_episodes, detail, updated_at)
	VALUES (true, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	ON CONFLICT (only_row) DO UPDATE SET id = $1, module = $2, sha256 = $3, policy = $4, stable_policy = $5,
	step = $6, status = $7, reason = $8, started_at = $9, step_started_at = $10, canary_episodes = $11,
	stable_episodes = $12, detail = $13, updated_at = $14`,
		s.ID, s.Module, s.SHA256, s.Policy, s.StablePolicy, s.Step, s.Status, s.Reason, storage.Timestamp(s.StartedAt),
		storage.Timestamp(s.StepStarted), s.CanaryEpisodes, s.StableEpisodes, jsonArg(s.Detail), o.stamp())
	return wrapErr("put rollout", err)
}
