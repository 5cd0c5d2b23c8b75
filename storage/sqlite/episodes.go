package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

const episodeCols = `id, instance_id, started_at, ended_at, outcome, end_kind, end_rule, attempts,
	max_step, needed_qr, fallbacks, loops_440, policy_sha256, policy, generation, arm, mixed`

func scanEpisode(row scanner) (storage.Episode, error) {
	var e storage.Episode
	var started, gen int64
	var ended sql.NullInt64
	err := row.Scan(&e.ID, &e.InstanceID, &started, &ended, &e.Outcome, &e.EndKind, &e.EndRule,
		&e.Attempts, &e.MaxStep, &e.NeededQR, &e.Fallbacks, &e.Loops440, &e.PolicySHA256, &e.Policy, &gen,
		&e.Arm, &e.Mixed)
	e.StartedAt, e.EndedAt, e.Generation = fromMicros(started), nullMicros(ended), uint64(gen)
	return e, err
}

// OpenEpisode returns the instance's open episode.
func (o ops) OpenEpisode(ctx context.Context, instanceID string) (storage.Episode, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.Episode{}, err
	}
	e, err := scanEpisode(o.r.queryRow(ctx, `SELECT `+episodeCols+` FROM wahost_episodes
	WHERE instance_id = ? AND outcome = ''`, instanceID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("sqlite: open episode of %s: %w", instanceID, storage.ErrNotFound)
	}
	return e, wrapErr("open episode of "+instanceID, err)
}

// PutEpisode inserts or updates an episode.
func (o ops) PutEpisode(ctx context.Context, e storage.Episode) (storage.Episode, error) {
	if err := storage.ValidateID("instance id", e.InstanceID); err != nil {
		return storage.Episode{}, err
	}
	args := []any{e.InstanceID, micros(e.StartedAt), microsArg(e.EndedAt), e.Outcome, e.EndKind, e.EndRule,
		e.Attempts, e.MaxStep, e.NeededQR, e.Fallbacks, e.Loops440, e.PolicySHA256, e.Policy,
		int64(e.Generation), e.Arm, e.Mixed}
	if e.ID == 0 {
		out, err := scanEpisode(o.w.queryRow(ctx, `INSERT INTO wahost_episodes (instance_id, started_at,
		ended_at, outcome, end_kind, end_rule, attempts, max_step, needed_qr, fallbacks, loops_440,
		policy_sha256, policy, generation, arm, mixed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING `+episodeCols, args...))
		return out, wrapErr("start episode of "+e.InstanceID, err)
	}
	out, err := scanEpisode(o.w.queryRow(ctx, `UPDATE wahost_episodes SET instance_id = ?, started_at = ?,
		ended_at = ?, outcome = ?, end_kind = ?, end_rule = ?, attempts = ?, max_step = ?,
		needed_qr = ?, fallbacks = ?, loops_440 = ?, policy_sha256 = ?, policy = ?,
		generation = ?, arm = ?, mixed = ? WHERE id = ? RETURNING `+episodeCols, append(args, e.ID)...))
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("sqlite: update episode %d: %w", e.ID, storage.ErrNotFound)
	}
	return out, wrapErr("update episode of "+e.InstanceID, err)
}

// Episodes returns the episodes started at or after since, oldest first.
func (o ops) Episodes(ctx context.Context, since time.Time) ([]storage.Episode, error) {
	rows, err := o.r.query(ctx, `SELECT `+episodeCols+` FROM wahost_episodes
	WHERE started_at >= ? ORDER BY started_at, id`, micros(since))
	if err != nil {
		return nil, wrapErr("list episodes", err)
	}
	out, err := collect(rows, scanEpisode)
	return out, wrapErr("list episodes", err)
}

// CutEpisodes ends the open episodes started before startedBefore.
func (o ops) CutEpisodes(ctx context.Context, startedBefore, at time.Time) (int64, error) {
	res, err := o.w.exec(ctx, `UPDATE wahost_episodes SET outcome = ?, ended_at = ?
	WHERE outcome = '' AND started_at < ?`, storage.EpisodeCut, micros(at), micros(startedBefore))
	if err != nil {
		return 0, wrapErr("cut episodes", err)
	}
	return res.RowsAffected()
}

// Rollout returns the stored rollout state.
func (o ops) Rollout(ctx context.Context) (storage.RolloutState, error) {
	var s storage.RolloutState
	var started, stepStarted, updated int64
	var detail sql.NullString
	err := o.r.queryRow(ctx, `SELECT id, module, sha256, policy, stable_policy, step, status, reason,
	started_at, step_started_at, canary_episodes, stable_episodes, detail, updated_at FROM wahost_rollout`).Scan(
		&s.ID, &s.Module, &s.SHA256, &s.Policy, &s.StablePolicy, &s.Step, &s.Status, &s.Reason, &started,
		&stepStarted, &s.CanaryEpisodes, &s.StableEpisodes, &detail, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("sqlite: rollout: %w", storage.ErrNotFound)
	}
	s.StartedAt, s.StepStarted, s.UpdatedAt = fromMicros(started), fromMicros(stepStarted), fromMicros(updated)
	s.Detail = jsonOut(detail)
	return s, wrapErr("rollout", err)
}

// PutRollout replaces the rollout state.
func (o ops) PutRollout(ctx context.Context, s storage.RolloutState) error {
	_, err := o.w.exec(ctx, `INSERT INTO wahost_rollout (only_row, id, module, sha256, policy, stable_policy,
	step, status, reason, started_at, step_started_at, canary_episodes, stable_episodes, detail, updated_at)
	VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (only_row) DO UPDATE SET id = excluded.id, module = excluded.module, sha256 = excluded.sha256,
	policy = excluded.policy, stable_policy = excluded.stable_policy, step = excluded.step,
	status = excluded.status, reason = excluded.reason, started_at = excluded.started_at,
	step_started_at = excluded.step_started_at, canary_episodes = excluded.canary_episodes,
	stable_episodes = excluded.stable_episodes, detail = excluded.detail, updated_at = excluded.updated_at`,
		s.ID, s.Module, s.SHA256, s.Policy, s.StablePolicy, s.Step, s.Status, s.Reason, micros(s.StartedAt),
		micros(s.StepStarted), s.CanaryEpisodes, s.StableEpisodes, jsonArg(s.Detail), o.stamp())
	return wrapErr("put rollout", err)
}
