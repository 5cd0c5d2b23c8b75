package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// Settings returns an instance's settings, the zero value when never set.
func (o ops) Settings(ctx context.Context, instanceID string) (storage.InstanceSettings, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.InstanceSettings{}, err
	}
	s, err := scanSettings(o.q.QueryRow(ctx, settingsQuery, instanceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.InstanceSettings{}, storage.NotFound("instance", instanceID)
	}
	return s, err
}

// settingsQuery reads the settings of instance $1: a row of defaults
// when they were never written, none when the instance does not exist.
const settingsQuery = `SELECT COALESCE(s.webhook_url, ''), COALESCE(s.webhook_events, '{}'),
		COALESCE(s.webhook_by_events, false), COALESCE(s.policy_override, ''), COALESCE(s.qr_limit, 0),
		s.updated_at, COALESCE(s.webhook_headers, '{}'::jsonb), COALESCE(s.webhook_base64, false), COALESCE(s.webhook_disabled, false),
		COALESCE(s.token_sha256, ''), COALESCE(s.token, ''), COALESCE(s.proxy, ''), COALESCE(s.sinks, '{}'::jsonb)
	FROM wahost_instances i LEFT JOIN wahost_instance_settings s ON s.instance_id = i.id
	WHERE i.id = $1`

// scanSettings reads a row of settingsQuery; pgx.ErrNoRows passes
// through unwrapped.
func scanSettings(row pgx.Row) (storage.InstanceSettings, error) {
	var s storage.InstanceSettings
	var updated *time.Time
	var sinks []byte
	err := row.Scan(
		&s.WebhookURL, &s.WebhookEvents, &s.WebhookByEvents, &s.PolicyOverride, &s.QRLimit, &updated,
		&s.WebhookHeaders, &s.WebhookBase64, &s.WebhookDisabled, &s.TokenSHA256, &s.Token, &s.Proxy, &sinks)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.InstanceSettings{}, err
	}
	if err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings", err)
	}
	if err := storage.DecodeSinks(sinks, &s); err != nil {
		return storage.InstanceSettings{}, wrapErr("get settings: sinks", err)
	}
	if updated != nil {
		s.UpdatedAt = storage.Timestamp(*updated)
	}
	if len(s.WebhookEvents) == 0 {
		s.WebhookEvents = nil
	}
	if len(s.WebhookHeaders) == 0 {
		s.WebhookHeaders = nil
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
	headers := s.WebhookHeaders
	if headers == nil {
		headers = map[string]string{}
	}
	_, err := o.q.Exec(ctx, `INSERT INTO wahost_instance_settings AS s (
		instance_id, webhook_url, webhook_events, webhook_by_events, policy_override, qr_limit, updated_at,
		webhook_headers, webhook_base64, webhook_disabled, token_sha256, token, proxy, sinks)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	ON CONFLICT (instance_id) DO UPDATE SET
		webhook_url = EXCLUDED.webhook_url, webhook_events = EXCLUDED.webhook_events,
		webhook_by_events = EXCLUDED.webhook_by_events, policy_override = EXCLUDED.policy_override,
		qr_limit = EXCLUDED.qr_limit, updated_at = EXCLUDED.updated_at,
		webhook_headers = EXCLUDED.webhook_headers, webhook_base64 = EXCLUDED.webhook_base64,
		webhook_disabled = EXCLUDED.webhook_disabled, token_sha256 = EXCLUDED.token_sha256, token = EXCLUDED.token,
		proxy = EXCLUDED.proxy, sinks = EXCLUDED.sinks`,
		instanceID, s.WebhookURL, events, s.WebhookByEvents, s.PolicyOverride, s.QRLimit, o.stamp(),
		headers, s.WebhookBase64, s.WebhookDisabled, s.TokenSHA256, s.Token, s.Proxy, string(storage.EncodeSinks(s)))
	return wrapErr("put settings of instance "+instanceID, err)
}
