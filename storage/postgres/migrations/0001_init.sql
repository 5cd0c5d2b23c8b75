-- Instances and the fields Evolution API clients read.
CREATE TABLE wahost_instances (
	id                        uuid        PRIMARY KEY,
	name                      text        NOT NULL,
	status                    text        NOT NULL,
	owner_jid                 text        NOT NULL DEFAULT '',
	profile_name              text        NOT NULL DEFAULT '',
	profile_picture_url       text        NOT NULL DEFAULT '',
	qr_count                  integer     NOT NULL DEFAULT 0 CHECK (qr_count >= 0),
	attempt                   integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
	step                      integer     NOT NULL DEFAULT 0 CHECK (step >= 0),
	created_at                timestamptz NOT NULL,
	updated_at                timestamptz NOT NULL,
	disconnection_at          timestamptz,
	disconnection_reason_code integer     NOT NULL DEFAULT 0,
	disconnection_object      json,
	CONSTRAINT wahost_instances_name_key UNIQUE (name),
	CONSTRAINT wahost_instances_name_check
		CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$' AND name NOT IN ('.', '..'))
);

-- Per-instance settings, kept apart from the state the executor rewrites.
CREATE TABLE wahost_instance_settings (
	instance_id       uuid        PRIMARY KEY REFERENCES wahost_instances (id) ON DELETE CASCADE,
	webhook_url       text        NOT NULL DEFAULT '',
	webhook_events    text[]      NOT NULL DEFAULT '{}',
	webhook_by_events boolean     NOT NULL DEFAULT false,
	policy_override   text        NOT NULL DEFAULT '',
	qr_limit          integer     NOT NULL DEFAULT 0 CHECK (qr_limit >= 0),
	updated_at        timestamptz NOT NULL
);

-- Every disconnect and the decision taken: the policy's history input and
-- the audit trail.
CREATE TABLE wahost_disconnects (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	instance_id   uuid        NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	at            timestamptz NOT NULL,
	kind          text        NOT NULL,
	code          integer     NOT NULL DEFAULT 0,
	raw           text        NOT NULL DEFAULT '',
	message       text        NOT NULL DEFAULT '',
	cause         text        NOT NULL DEFAULT '',
	decision      json,
	action        text        NOT NULL DEFAULT '',
	rule          text        NOT NULL DEFAULT '',
	policy_sha256 text        NOT NULL DEFAULT '',
	fallback      boolean     NOT NULL DEFAULT false,
	latency_ns    bigint      NOT NULL DEFAULT 0,
	attempt       integer     NOT NULL DEFAULT 0,
	step          integer     NOT NULL DEFAULT 0,
	jitter_seed   bigint      NOT NULL DEFAULT 0,
	shadow        json,
	shadow_sha256 text        NOT NULL DEFAULT ''
);
CREATE INDEX wahost_disconnects_instance_at ON wahost_disconnects (instance_id, at DESC, id DESC);
CREATE INDEX wahost_disconnects_instance_id ON wahost_disconnects (instance_id, id DESC);

-- The webhook outbox. instance_id has no foreign key: the events announcing
-- an instance's removal outlive it.
CREATE TABLE wahost_outbox (
	id              uuid        PRIMARY KEY,
	instance_id     uuid        NOT NULL,
	event           text        NOT NULL,
	payload         json        NOT NULL,
	created_at      timestamptz NOT NULL,
	attempts        integer     NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	delivered_at    timestamptz,
	failed_at       timestamptz,
	last_error      text        NOT NULL DEFAULT '',
	claimed_by      text        NOT NULL DEFAULT ''
);
CREATE INDEX wahost_outbox_due ON wahost_outbox (next_attempt_at, id)
	WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX wahost_outbox_failed ON wahost_outbox (failed_at DESC)
	WHERE failed_at IS NOT NULL;
CREATE INDEX wahost_outbox_delivered ON wahost_outbox (delivered_at)
	WHERE delivered_at IS NOT NULL;

-- One lease per instance; the row outlives releases so tokens only grow.
CREATE TABLE wahost_leases (
	instance_id uuid        PRIMARY KEY REFERENCES wahost_instances (id) ON DELETE CASCADE,
	owner       text        NOT NULL,
	token       bigint      NOT NULL CHECK (token > 0),
	expires_at  timestamptz NOT NULL
);

-- Cache purges that failed and wait for a retry.
CREATE TABLE wahost_pending_purges (
	instance        text        PRIMARY KEY,
	generation      bigint      NOT NULL,
	created_at      timestamptz NOT NULL,
	attempts        integer     NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	last_error      text        NOT NULL DEFAULT ''
);
