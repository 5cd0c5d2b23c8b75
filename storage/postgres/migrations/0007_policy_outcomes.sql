-- Outage episodes, for comparing policies: one row per outage of an
-- instance, from the first drop of an open session to its end. Pruned with
-- the disconnect history.
CREATE TABLE wahost_episodes (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	instance_id   uuid        NOT NULL REFERENCES wahost_instances (id) ON DELETE CASCADE,
	started_at    timestamptz NOT NULL,
	ended_at      timestamptz,
	outcome       text        NOT NULL DEFAULT '',
	end_kind      text        NOT NULL DEFAULT '',
	end_rule      text        NOT NULL DEFAULT '',
	attempts      integer     NOT NULL DEFAULT 0,
	max_step      integer     NOT NULL DEFAULT 0,
	needed_qr     boolean     NOT NULL DEFAULT false,
	fallbacks     integer     NOT NULL DEFAULT 0,
	loops_440     integer     NOT NULL DEFAULT 0,
	policy_sha256 text        NOT NULL DEFAULT '',
	policy        text        NOT NULL DEFAULT '',
	generation    bigint      NOT NULL DEFAULT 0,
	arm           text        NOT NULL DEFAULT '',
	mixed         boolean     NOT NULL DEFAULT false
);
CREATE INDEX wahost_episodes_started ON wahost_episodes (started_at);
CREATE UNIQUE INDEX wahost_episodes_open ON wahost_episodes (instance_id) WHERE outcome = '';

-- The policy rollout in progress or last finished: one row.
CREATE TABLE wahost_rollout (
	only_row        boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
	id              text        NOT NULL,
	module          text        NOT NULL,
	sha256          text        NOT NULL,
	policy          text        NOT NULL,
	stable_policy   text        NOT NULL,
	step            integer     NOT NULL,
	status          text        NOT NULL,
	reason          text        NOT NULL DEFAULT '',
	started_at      timestamptz NOT NULL,
	step_started_at timestamptz NOT NULL,
	canary_episodes integer     NOT NULL DEFAULT 0,
	stable_episodes integer     NOT NULL DEFAULT 0,
	detail          json,
	updated_at      timestamptz NOT NULL
);
