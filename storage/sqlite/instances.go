package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wahost/wahost/storage"
)

const instanceCols = `id, name, status, owner_jid, profile_name, profile_picture_url,
	qr_count, attempt, step, created_at, updated_at,
	disconnection_at, disconnection_reason_code, disconnection_object, reconnect_due, reconnect_step`

func scanInstance(row scanner) (storage.Instance, error) {
	var in storage.Instance
	var created, updated int64
	var discAt sql.NullInt64
	var obj sql.NullString
	var due sql.NullInt64
	var step int
	err := row.Scan(&in.ID, &in.Name, &in.Status, &in.OwnerJID, &in.ProfileName, &in.ProfilePictureURL,
		&in.QRCount, &in.Attempt, &in.Step, &created, &updated,
		&discAt, &in.DisconnectionReasonCode, &obj, &due, &step)
	if err != nil {
		return storage.Instance{}, err
	}
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	in.DisconnectionAt = nullMicros(discAt)
	in.DisconnectionObject = jsonOut(obj)
	if at := nullMicros(due); at != nil {
		in.Reconnect = &storage.PendingReconnect{Due: *at, Step: step}
	}
	return in, nil
}

// Instance returns one instance. Inside a unit of work the transaction
// already holds the database's write lock, which serialises the
// read-modify-write as a row lock would.
func (o ops) Instance(ctx context.Context, id string) (storage.Instance, error) {
	if err := storage.ValidateID("instance id", id); err != nil {
		return storage.Instance{}, err
	}
	in, err := scanInstance(o.r.queryRow(ctx,
		"SELECT "+instanceCols+" FROM wahost_instances WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", id)
	}
	return in, wrapErr("get instance", err)
}

// InstanceByName returns the instance with the given name.
func (o ops) InstanceByName(ctx context.Context, name string) (storage.Instance, error) {
	if err := storage.ValidateName(name); err != nil {
		return storage.Instance{}, err
	}
	in, err := scanInstance(o.r.queryRow(ctx,
		"SELECT "+instanceCols+" FROM wahost_instances WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", name)
	}
	return in, wrapErr("get instance by name", err)
}

// ListInstances returns every instance ordered by name.
func (o ops) ListInstances(ctx context.Context) ([]storage.Instance, error) {
	rows, err := o.r.query(ctx, "SELECT "+instanceCols+" FROM wahost_instances ORDER BY name")
	if err != nil {
		return nil, wrapErr("list instances", err)
	}
	out, err := collect(rows, scanInstance)
	return out, wrapErr("list instances", err)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
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
	out, err := scanInstance(o.w.queryRow(ctx, `INSERT INTO wahost_instances (
		id, name, status, owner_jid, profile_name, profile_picture_url, qr_count, attempt, step,
		created_at, updated_at, disconnection_at, disconnection_reason_code, disconnection_object)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	RETURNING `+instanceCols,
		in.ID, in.Name, in.Status, in.OwnerJID, in.ProfileName, in.ProfilePictureURL,
		in.QRCount, in.Attempt, in.Step, now, now, microsArg(in.DisconnectionAt), in.DisconnectionReasonCode,
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
	out, err := scanInstance(o.w.queryRow(ctx, `UPDATE wahost_instances SET
		status = ?, owner_jid = ?, profile_name = ?, profile_picture_url = ?,
		qr_count = ?, attempt = ?, step = ?, updated_at = ?,
		disconnection_at = ?, disconnection_reason_code = ?, disconnection_object = ?,
		reconnect_due = ?, reconnect_step = ?
	WHERE id = ?
	RETURNING `+instanceCols,
		in.Status, in.OwnerJID, in.ProfileName, in.ProfilePictureURL,
		in.QRCount, in.Attempt, in.Step, o.stamp(),
		microsArg(in.DisconnectionAt), in.DisconnectionReasonCode, jsonArg(in.DisconnectionObject),
		microsArg(reconnectDue(in.Reconnect)), reconnectStep(in.Reconnect), in.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Instance{}, storage.NotFound("instance", in.ID)
	}
	return out, wrapErr("update instance", err)
}

// DeleteInstance removes an instance with its settings, history and lease.
func (o ops) DeleteInstance(ctx context.Context, id string) error {
	if err := storage.ValidateID("instance id", id); err != nil {
		return err
	}
	res, err := o.w.exec(ctx, "DELETE FROM wahost_instances WHERE id = ?", id)
	if err != nil {
		return wrapErr("delete instance", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storage.NotFound("instance", id)
	}
	return nil
}

func reconnectDue(r *storage.PendingReconnect) *time.Time {
	if r == nil {
		return nil
	}
	return &r.Due
}

func reconnectStep(r *storage.PendingReconnect) int {
	if r == nil {
		return 0
	}
	return max(r.Step, 0)
}
