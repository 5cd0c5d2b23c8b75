package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const instanceCols = `id::text, name, status, owner_jid, profile_name, profile_picture_url,
	qr_count, attempt, step, created_at, updated_at,
	disconnection_at, disconnection_reason_code, disconnection_object, reconnect_due, reconnect_step`

func scanInstance(row pgx.Row) (storage.Instance, error) {
	var in storage.Instance
	var obj []byte
	var due *time.Time
	var step int
	err := row.Scan(&in.ID, &in.Name, &in.Status, &in.OwnerJID, &in.ProfileName, &in.ProfilePictureURL,
		&in.QRCount, &in.Attempt, &in.Step, &in.CreatedAt, &in.UpdatedAt,
		&in.DisconnectionAt, &in.DisconnectionReasonCode, &obj, &due, &step)
	if err != nil {
		return storage.Instance{}, err
	}
	in.CreatedAt = storage.Timestamp(in.CreatedAt)
	in.UpdatedAt = storage.Timestamp(in.UpdatedAt)
	in.DisconnectionAt = utc(in.DisconnectionAt)
	if due != nil {
		in.Reconnect = &storage.PendingReconnect{Due: storage.Timestamp(*due), Step: step}
	}
	if len(obj) > 0 {
		in.DisconnectionObject = obj
	}
	return in, nil
}

// Instance returns one instance; inside a unit of work it locks the row.
func (o ops) Instance(ctx context.Context, id string) (storage.Instance, error) {
	if err := storage.ValidateID("instance id", id); err != nil {
		return storage.Instance{}, err
	}
	if gi := o.grp.instance(id); gi != nil {
		return cloneInstance(gi.row), nil // locked by the group
	}
	q := instanceQuery
	if o.inTx {
		q += " FOR UPDATE"
	}
	in, err := scanInstance(o.q.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", id)
	}
	return in, wrapErr("get instance", err)
}

// instanceQuery reads instance $1.
const instanceQuery = "SELECT " + instanceCols + " FROM wahost_instances WHERE id = $1"

// InstanceByName returns the instance with the given name.
func (o ops) InstanceByName(ctx context.Context, name string) (storage.Instance, error) {
	if err := storage.ValidateName(name); err != nil {
		return storage.Instance{}, err
	}
	in, err := scanInstance(o.q.QueryRow(ctx,
		"SELECT "+instanceCols+" FROM wahost_instances WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", name)
	}
	return in, wrapErr("get instance by name", err)
}

// ListInstances returns every instance ordered by name.
func (o ops) ListInstances(ctx context.Context) ([]storage.Instance, error) {
	rows, err := o.q.Query(ctx, "SELECT "+instanceCols+" FROM wahost_instances ORDER BY name")
	if err != nil {
		return nil, wrapErr("list instances", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Instance, error) {
		return scanInstance(r)
	})
	return out, wrapErr("list instances", err)
}

// CreateInstance stores a new instance.
func (o ops) CreateInstance(ctx context.Context, in storage.Instance) (storage.Instance, error) {
	if err := in.Validate(); err != nil {
		return storage.Instance{}, err
	}
	if in.ID == "" {
		in.ID = storage.NewID()
	}
	if in.Status == "" {
		in.Status = storage.StatusClose
	}
	now := o.stamp()
	out, err := scanInstance(o.q.QueryRow(ctx, `INSERT INTO wahost_instances (
		id, name, status, owner_jid, profile_name, profile_picture_url, qr_count, attempt, step,
		created_at, updated_at, disconnection_at, disconnection_reason_code, disconnection_object)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)
	RETURNING `+instanceCols,
		in.ID, in.Name, in.Status, in.OwnerJID, in.ProfileName, in.ProfilePictureURL,
		in.QRCount, in.Attempt, in.Step, now, utc(in.DisconnectionAt), in.DisconnectionReasonCode,
		jsonArg(in.DisconnectionObject)))
	return out, wrapErr("create instance "+in.Name, err)
}

// UpdateInstance writes the mutable fields of in.
func (o ops) UpdateInstance(ctx context.Context, in storage.Instance) (storage.Instance, error) {
	if err := storage.ValidateID("instance id", in.ID); err != nil {
		return storage.Instance{}, err
	}
	if in.Status == "" {
		return storage.Instance{}, &storage.InputError{Field: "status", Reason: "empty"}
	}
	if err := in.ValidateState(); err != nil {
		return storage.Instance{}, err
	}
	if gi := o.grp.instance(in.ID); gi != nil {
		return o.grp.updateInstance(gi, in, o.stamp()), nil
	}
	out, err := scanInstance(o.q.QueryRow(ctx, `UPDATE wahost_instances SET
		status = $2, owner_jid = $3, profile_name = $4, profile_picture_url = $5,
		qr_count = $6, attempt = $7, step = $8, updated_at = $9,
		disconnection_at = $10, disconnection_reason_code = $11, disconnection_object = $12,
		reconnect_due = $13, reconnect_step = $14
	WHERE id = $1
	RETURNING `+instanceCols,
		in.ID, in.Status, in.OwnerJID, in.ProfileName, in.ProfilePictureURL,
		in.QRCount, in.Attempt, in.Step, o.stamp(),
		utc(in.DisconnectionAt), in.DisconnectionReasonCode, jsonArg(in.DisconnectionObject),
		reconnectDue(in.Reconnect), reconnectStep(in.Reconnect)))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", in.ID)
	}
	return out, wrapErr("update instance", err)
}

// DeleteInstance removes an instance with its settings, history and lease.
func (o ops) DeleteInstance(ctx context.Context, id string) error {
	if err := storage.ValidateID("instance id", id); err != nil {
		return err
	}
	o.grp.forget(id)
	tag, err := o.q.Exec(ctx, "DELETE FROM wahost_instances WHERE id = $1", id)
	if err != nil {
		return wrapErr("delete instance", err)
	}
	if tag.RowsAffected() == 0 {
		return storage.NotFound("instance", id)
	}
	// The history and the episodes have no foreign key (migration 0014).
	// They go after the instance's row: that delete waited for any writer
	// holding the row, so this statement, with a snapshot of its own,
	// sees what such a writer committed, and a writer coming later finds
	// no instance to write for.
	_, err = o.q.Exec(ctx, `WITH h AS (DELETE FROM wahost_disconnects WHERE instance_id = $1)
		DELETE FROM wahost_episodes WHERE instance_id = $1`, id)
	return wrapErr("delete instance history", err)
}

func reconnectDue(r *storage.PendingReconnect) *time.Time {
	if r == nil {
		return nil
	}
	t := storage.Timestamp(r.Due)
	return &t
}

func reconnectStep(r *storage.PendingReconnect) int {
	if r == nil {
		return 0
	}
	return max(r.Step, 0)
}
