package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/wahost/wahost/storage"
)

// Settings returns an instance's settings, the zero value when never set.
func (o ops) Settings(ctx context.Context, instanceID string) (storage.InstanceSettings, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.InstanceSettings{}, err
	}
	var s storage.InstanceSettings
	var events, headers, sinks string
	var updated sql.NullInt64
	err := o.r.queryRow(ctx, `SELECT COALESCE(s.webhook_url, ''), COALESCE(s.webhook_events, '[]'),
		COALESCE(s.webhook_by_events, 0), COALESCE(s.policy_override, ''), COALESCE(s.qr_limit, 0), s.updated_at,
		COALESCE(s.webhook_headers, '{}'), COALESCE(s.webhook_base64, 0), COALESCE(s.webhook_disabled, 0),
		COALESCE(s.token_sha256, ''), COALESCE(s.token, ''), COALESCE(s.proxy, ''), COALESCE(s.sinks, '{}')
	FROM wahost_instances i LEFT JOIN wahost_instance_settings s ON s.instance_id = i.id
	WHERE i.id = ?`, instanceID).Scan(
		&s.WebhookURL, &events, &s.WebhookByEvents, &s.PolicyOverride, &s.QRLimit, &updated,
		&headers, &s.WebhookBase64, &s.WebhookDisabled, &s.TokenSHA256, &s.Token, &s.Proxy, &sinks)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.InstanceSettings{}, storage.NotFound("instance", instanceID)
	}
	if err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings", err)
	}
	if err := json.Unmarshal([]byte(events), &s.WebhookEvents); err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings: webhook events", err)
	}
	if len(s.WebhookEvents) == 0 {
		s.WebhookEvents = nil
	}
	if err := json.Unmarshal([]byte(headers), &s.WebhookHeaders); err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings: webhook headers", err)
	}
	if len(s.WebhookHeaders) == 0 {
		s.WebhookHeaders = nil
	}
	if err := storage.DecodeSinks([]byte(sinks), &s); err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings: sinks", err)
	}
	if updated.Valid {
		s.UpdatedAt = fromMicros(updated.Int64)
	}
	return s, nil
}

// PutSettings replaces an instance's settings.
func (o ops) PutSettings(ctx context.Context, instanceID string, s storage.InstanceSettings) error {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	events := s.WebhookEvents
	if events == nil {
		events = []string{}
	}
	ev, err := json.Marshal(events)
	if err != nil {
		return wrapErr("put settings", err)
	}
	headers := s.WebhookHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	hdr, err := json.Marshal(headers)
	if err != nil {
		return wrapErr("put settings", err)
	}
	_, err = o.w.exec(ctx, `INSERT INTO wahost_instance_settings (
		instance_id, webhook_url, webhook_events, webhook_by_events, policy_override, qr_limit, updated_at,
		webhook_headers, webhook_base64, webhook_disabled, token_sha256, token, proxy, sinks)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (instance_id) DO UPDATE SET
		webhook_url = excluded.webhook_url, webhook_events = excluded.webhook_events,
		webhook_by_events = excluded.webhook_by_events, policy_override = excluded.policy_override,
		qr_limit = excluded.qr_limit, updated_at = excluded.updated_at,
		webhook_headers = excluded.webhook_headers, webhook_base64 = excluded.webhook_base64,
		webhook_disabled = excluded.webhook_disabled, token_sha256 = excluded.token_sha256, token = excluded.token,
		proxy = excluded.proxy, sinks = excluded.sinks`,
		instanceID, s.WebhookURL, string(ev), s.WebhookByEvents, s.PolicyOverride, s.QRLimit, o.stamp(),
		string(hdr), s.WebhookBase64, s.WebhookDisabled, s.TokenSHA256, s.Token, s.Proxy, string(storage.EncodeSinks(s)))
	return wrapErr("put settings of instance "+instanceID, err)
}
