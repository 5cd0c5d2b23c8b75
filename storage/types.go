package storage

import (
	"encoding/json"
	"time"
)

// Status is the connection state of an instance as Evolution API reports
// it ("close", "connecting", "open", "refused"). Other lower-case states may
// be added by the session layer; the store only checks the form.
type Status string

// Connection states shared with Evolution API clients.
const (
	StatusClose      Status = "close"
	StatusConnecting Status = "connecting"
	StatusOpen       Status = "open"
	StatusRefused    Status = "refused"
)

// Instance is one WhatsApp session slot and the fields API clients read.
type Instance struct {
	ID                string // UUID, assigned on create when empty
	Name              string // unique; see ValidateName
	Status            Status // StatusClose when empty on create
	OwnerJID          string
	ProfileName       string
	ProfilePictureURL string
	QRCount           int // QR codes shown since the last reset
	Attempt           int // reconnect attempt reached so far
	Step              int // escalation step reached so far
	CreatedAt         time.Time
	UpdatedAt         time.Time

	// The last disconnection, as Evolution API's disconnectionAt,
	// disconnectionReasonCode and disconnectionObject.
	DisconnectionAt         *time.Time
	DisconnectionReasonCode int
	DisconnectionObject     json.RawMessage // JSON object or nil

	// Reconnect is the reconnect a decision scheduled and that has not
	// led to an open session or another decision yet; nil when none.
	Reconnect *PendingReconnect
}

// PendingReconnect is a decided reconnect: when it is due and the
// escalation step to carry out first. It is written in the decision's unit
// of work and honoured by a restart.
type PendingReconnect struct {
	Due  time.Time
	Step int
}

// Disconnect is one row of the disconnect history: what happened, and what
// the policy decided. Every disconnect is recorded, not only terminal ones;
// the rows of the last day are the history a policy receives.
type Disconnect struct {
	ID           int64 // assigned by the store, increasing
	InstanceID   string
	At           time.Time
	Kind         string          // event kind, e.g. "logged_out", "stream_error"
	Code         int             // reason code, e.g. 401, 515; 0 when none
	Raw          string          // whatsmeow's raw reason, as text
	Message      string          // human-readable description
	Cause        string          // network cause, e.g. "connection reset"
	Decision     json.RawMessage // the decision document taken (JSON)
	Action       string          // the decision's action, for queries
	Rule         string          // the policy rule that matched
	PolicySHA256 string          // lower-case hex sha256 of the policy module
	Fallback     bool            // the decision came from the host's fallback
	Latency      time.Duration   // time the policy took to decide
	Attempt      int
	Step         int
	JitterSeed   uint32

	// Shadow is a candidate policy's decision evaluated beside the active
	// one and recorded for comparison; nil when no candidate ran.
	Shadow       json.RawMessage
	ShadowSHA256 string

	// Proxy is the ID (scheme://host:port, no credentials) of the proxy
	// the connection went through; empty for a direct one.
	Proxy string
	// ProxyTo is the ID of the proxy the decision's switch_proxy moved
	// the instance to before its next connect; empty when it did not
	// move.
	ProxyTo string

	// Input is the input document the policy decided on, without its
	// history (rebuilt from the rows before it), for replay; nil for rows
	// recorded without it.
	Input json.RawMessage
	// Encoded says Decision and Input were written by this process's
	// encoders (the executor's): RecordDisconnect checks their size but
	// does not parse them again. Never set it for bytes from outside.
	Encoded bool
}

// OutboxEvent is one webhook waiting for delivery. The ID is the
// idempotency key receivers use to drop duplicates: delivery is at least
// once.
type OutboxEvent struct {
	ID            string // UUID, assigned on enqueue when empty
	InstanceID    string
	Event         string          // wire name, e.g. "connection.update"
	Payload       json.RawMessage // stored and returned byte for byte
	CreatedAt     time.Time
	Attempts      int       // claims so far
	NextAttemptAt time.Time // not claimable before; a claim's lease end
	DeliveredAt   *time.Time
	FailedAt      *time.Time // set by MarkFailed; cleared by Requeue
	LastError     string
	ClaimedBy     string // worker of the latest claim

	// Stream asks Enqueue for the event's stream entry instead of a
	// delivery: it is stored delivered (no worker claims it) and gets a
	// Seq. Read back from the stream (EventsAfter), it reports Seq > 0.
	Stream bool
	// Encoded says Payload was written by a JSON encoder of this process,
	// as package webhook writes every envelope: Enqueue checks its size
	// but does not parse it again. Never set it for bytes from outside.
	Encoded bool
	// Seq is a stream entry's position in the event stream: it is given
	// once the entry is committed, above every Seq given before, so a
	// reader that saw Seq n has seen every committed entry below n (see
	// EventLog). 0 on deliveries, and on a stream entry not read back from
	// the stream.
	Seq int64
	// Destination names where a delivery goes when it is not a webhook:
	// a message broker and its target (see package host/webhook's
	// Publisher). Empty for webhooks, whose URL is in the payload.
	Destination string
}

// Pending reports whether the event still waits for delivery.
func (e OutboxEvent) Pending() bool { return e.DeliveredAt == nil && e.FailedAt == nil }

// InstanceSettings are the per-instance options that survive restarts.
type InstanceSettings struct {
	WebhookURL      string   // absolute http or https URL, or empty
	WebhookEvents   []string // event names to send; empty means all
	WebhookByEvents bool     // append "/<event-with-dashes>" to the URL
	PolicyOverride  string   // policy to use instead of the host default
	QRLimit         int      // QR codes before refusing; 0 uses the default

	// The fields Evolution API's webhook settings and per-instance tokens
	// add (host/evolution).
	WebhookHeaders  map[string]string // sent with every webhook to WebhookURL; "jwt_key" becomes a Bearer JWT
	WebhookBase64   bool              // media as base64 in message webhooks
	WebhookDisabled bool              // WebhookURL is kept but receives nothing
	TokenSHA256     string            // lower-case hex SHA-256 of the instance's own API token, or empty
	Token           string            // the token itself, kept only when webhooks expose it (webhook.expose_apikey)

	// Proxy is the instance's proxy (host/proxy): a pool name of
	// proxies.pools or a proxy URL, credentials included (never returned
	// by the API); empty uses proxies.default.
	Proxy string

	// The instance's own event sinks besides its webhook, as Evolution
	// API's /rabbitmq/set and /nats/set keep them.
	RabbitMQ SinkSettings
	NATS     SinkSettings

	UpdatedAt time.Time
}

// SinkSettings say whether an instance publishes its events to a message
// broker, and which.
type SinkSettings struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events,omitempty"` // event names; empty means all
}

// Lease gives one host the right to drive an instance until ExpiresAt.
// Token increases every time the lease changes hands, so writes fenced by
// it are refused once another host has taken over.
type Lease struct {
	InstanceID string
	Owner      string // host id
	Token      int64
	ExpiresAt  time.Time
}

// PendingPurge is a cache purge that failed and waits to be retried.
type PendingPurge struct {
	Instance      string // cache namespace of the instance
	Generation    int64  // bumped by every AddPurge; see PurgeDone
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// Timestamp returns t as stores keep it: UTC, microsecond precision, no
// monotonic reading.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// PoolStats describe a store's connection pool at one moment.
type PoolStats struct {
	Max      int32 // connections the pool may open
	Total    int32 // connections open
	Acquired int32 // connections in use
	Idle     int32 // connections open and unused
	// Waited counts acquisitions that had to wait for a connection.
	Waited int64
}
