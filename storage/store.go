package storage

import (
	"context"
	"time"
)

// Tx is the set of writes a unit of work carries. Inside [Store.InTx] every
// call joins one transaction; called on a Store, each runs on its own.
type Tx interface {
	// Instance returns the instance with the given ID. Inside a unit of
	// work it also locks the row until the transaction ends.
	Instance(ctx context.Context, id string) (Instance, error)
	// CreateInstance stores a new instance and returns it with ID (when
	// empty), Status (close when empty) and timestamps filled. A taken name
	// fails with ErrDuplicateName.
	CreateInstance(ctx context.Context, in Instance) (Instance, error)
	// UpdateInstance writes every mutable field of in (all but ID, Name and
	// CreatedAt), stamps UpdatedAt and returns the stored row.
	UpdateInstance(ctx context.Context, in Instance) (Instance, error)
	// DeleteInstance removes an instance with its settings, history,
	// messages and lease. Outbox events stay: the webhooks announcing the removal must
	// still go out.
	DeleteInstance(ctx context.Context, id string) error
	// PutSettings replaces an instance's settings.
	PutSettings(ctx context.Context, instanceID string, s InstanceSettings) error
	// RecordDisconnect appends one row to the disconnect history and
	// returns it with ID set.
	RecordDisconnect(ctx context.Context, d Disconnect) (Disconnect, error)
	// Enqueue adds a webhook to the outbox and returns it with ID (when
	// empty), CreatedAt and NextAttemptAt (when zero) set to now. An ID
	// already present fails with ErrInvalidInput.
	Enqueue(ctx context.Context, ev OutboxEvent) (OutboxEvent, error)
	// MarkDelivered records a webhook's delivery (see Outbox); inside a
	// unit of work it joins the transaction, so many deliveries can be
	// recorded in one commit.
	MarkDelivered(ctx context.Context, id string) error
	// AddPurge records that the cache namespace instance must be purged;
	// a pending purge for the same namespace is coalesced and becomes due
	// now.
	AddPurge(ctx context.Context, instance string) error
	// CheckLease fails with ErrLeaseLost unless l is still the current,
	// unexpired lease on its instance. Inside a unit of work it fences the
	// transaction's writes: they commit only while the lease holds.
	CheckLease(ctx context.Context, l Lease) error

	// InsertMessage stores a new message and returns it with Seq,
	// CreatedAt and UpdatedAt set (and NextAttemptAt = now when zero and
	// Status is queued). An ID or IdempotencyKey already stored for the
	// instance fails with ErrDuplicateMessage, and the unit of work stays
	// usable. A message of an unknown instance fails with ErrNotFound.
	InsertMessage(ctx context.Context, m Message) (Message, error)
	// SetMessageStatus moves a message to status (with reason, and ts when
	// non-zero as its Timestamp) and returns it with changed=true; a
	// status whose Rank is not above the current one (and any change of a
	// failed message) leaves it as it is and returns it with
	// changed=false. Failed may replace queued or sent only.
	SetMessageStatus(ctx context.Context, instanceID, id string, status MessageStatus, reason string, ts time.Time) (m Message, changed bool, err error)
	// FailQueuedMessages fails every queued outgoing message of the
	// instance with reason and returns them, in Seq order.
	FailQueuedMessages(ctx context.Context, instanceID, reason string) ([]Message, error)

	// OpenEpisode returns the instance's open episode; ErrNotFound when
	// it has none.
	OpenEpisode(ctx context.Context, instanceID string) (Episode, error)
	// PutEpisode stores e, a new episode when e.ID is 0, and returns it
	// with ID set.
	PutEpisode(ctx context.Context, e Episode) (Episode, error)
	// PutRollout replaces the rollout state; inside a unit of work, with
	// the webhook announcing the change.
	PutRollout(ctx context.Context, s RolloutState) error
}

// Store is the durable state of a host. Implementations are safe for
// concurrent use.
type Store interface {
	Tx
	Instances
	DisconnectLog
	DecisionReader
	Outbox
	Leases
	PurgeQueue
	MessageLog
	EventLog
	Outcomes

	// InTx runs fn in one transaction and commits when fn returns nil. When
	// fn returns an error or panics, or the commit fails, nothing fn wrote
	// is kept. fn writes through tx only (a write through the Store would
	// not join the transaction, and on SQLite would wait for it forever)
	// and must not retain tx after returning. InTx does not retry: a
	// failed unit of work is the caller's to repeat.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Grouper
	OutboxWatcher
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Instances reads instances and their settings.
type Instances interface {
	// InstanceByName returns the instance with the given name.
	InstanceByName(ctx context.Context, name string) (Instance, error)
	// ListInstances returns every instance ordered by name.
	ListInstances(ctx context.Context) ([]Instance, error)
	// Settings returns an instance's settings; an instance whose settings
	// were never written has the zero value.
	Settings(ctx context.Context, instanceID string) (InstanceSettings, error)
}

// DisconnectLog reads the disconnect history.
type DisconnectLog interface {
	// RecentDisconnects returns up to limit disconnects of an instance at
	// or after since, newest first.
	RecentDisconnects(ctx context.Context, instanceID string, since time.Time, limit int) ([]Disconnect, error)
	// ListDisconnects pages through an instance's history newest first:
	// rows with ID below before (all rows when before is 0), at most limit
	// (clamped to 1..MaxPage, DefaultPage when 0). Pass the last ID
	// returned as the next before.
	ListDisconnects(ctx context.Context, instanceID string, before int64, limit int) ([]Disconnect, error)
	// PruneDisconnects deletes up to limit (1..MaxPage) rows older than
	// before, oldest first, and returns how many (callers prune in
	// bounded batches); the episodes that ended before it go with them.
	PruneDisconnects(ctx context.Context, before time.Time, limit int) (int64, error)
}

// DecisionReader reads what deciding a disconnect needs of an instance.
type DecisionReader interface {
	// DecisionInput returns the instance, its settings (the zero value
	// when never written) and up to limit of its disconnects at or after
	// since, newest first, as Instance, Settings and RecentDisconnects
	// would, in one round trip where the store can.
	DecisionInput(ctx context.Context, instanceID string, since time.Time, limit int) (DecisionInput, error)
	// DecisionInputs reads what DecisionInput reads for each of ids, in
	// one round trip where the store can. errs[i] is ids[i]'s error
	// (ErrNotFound for an instance that does not exist); a failure of the
	// whole read is every id's error.
	DecisionInputs(ctx context.Context, ids []string, since time.Time, limit int) (ins []DecisionInput, errs []error)
}

// DecisionInput is what DecisionReader returns.
type DecisionInput struct {
	Instance Instance
	Settings InstanceSettings
	Recent   []Disconnect
}

// Page sizes of the listing methods.
const (
	DefaultPage = 100
	MaxPage     = 1000
)

// Outbox is the worker side of the webhook outbox. A claim leases events
// to one worker: a worker that dies mid-delivery leaves them claimable again
// when the lease ends, so delivery is at least once.
type Outbox interface {
	// Claim leases up to n (1..MaxPage) due events to worker for lease,
	// oldest due first, incrementing their Attempts. Concurrent claims never
	// return the same event while its lease runs. Rows with a Destination
	// keep the order of their lane (instance and destination): a row is
	// returned only when every earlier pending row of its lane is returned
	// with it or is leased to worker already, so that no worker publishes a
	// later row while an earlier one waits. A row held back behind a due
	// row that the claim did not take moves just after it (its
	// NextAttemptAt), so a claim may return fewer than n rows while more
	// are due; the next one takes them in order.
	Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]OutboxEvent, error)
	// MarkDelivered (on Tx) records a delivery. Marking a delivered event
	// again is a no-op.

	// MarkRetry makes a pending event due again at next, recording lastErr.
	MarkRetry(ctx context.Context, id string, next time.Time, lastErr string) error
	// MarkFailed gives up on a pending event, recording lastErr.
	MarkFailed(ctx context.Context, id string, lastErr string) error
	// Requeue makes a failed event due now with its attempts reset.
	Requeue(ctx context.Context, id string) error
	// OutboxEvent returns one event.
	OutboxEvent(ctx context.Context, id string) (OutboxEvent, error)
	// FailedEvents returns failed events newest first, of one instance or
	// of all when instanceID is empty; limit is clamped as in
	// ListDisconnects.
	FailedEvents(ctx context.Context, instanceID string, limit int) ([]OutboxEvent, error)
	// PruneDelivered deletes up to limit (1..MaxPage) events delivered
	// before before and returns how many.
	PruneDelivered(ctx context.Context, before time.Time, limit int) (int64, error)
	// PruneFailed deletes up to limit (1..MaxPage) events that failed
	// before before and returns how many.
	PruneFailed(ctx context.Context, before time.Time, limit int) (int64, error)
	// Backlog counts what waits: instances by status, events pending
	// delivery and failed, purges pending.
	Backlog(ctx context.Context) (Backlog, error)
}

// Backlog is what the store holds that an operator watches (metrics).
type Backlog struct {
	Instances     map[Status]int64 // by status
	OutboxPending int64            // webhook deliveries not yet delivered nor failed
	OutboxFailed  int64            // webhook deliveries given up on
	PendingPurges int64            // cache purges waiting for the cache
}

// EventLog reads the event stream: the outbox's stream entries (see
// OutboxEvent.Stream), one per event, in Seq order. An entry is readable
// once its unit of work commits and until PruneDelivered removes it; its
// Seq is then never handed out again.
type EventLog interface {
	// EventsAfter returns up to limit (clamped as in ListDisconnects)
	// stream entries with Seq above after that f matches, in Seq order.
	EventsAfter(ctx context.Context, after int64, f EventFilter, limit int) ([]OutboxEvent, error)
	// EventBounds returns the lowest and highest Seq stored (0, 0 when
	// there is none; pruning keeps the highest). Entries between a
	// reader's position and first were pruned: it cannot resume without a
	// gap.
	EventBounds(ctx context.Context) (first, last int64, err error)
	// InstanceDeliveries returns up to limit (clamped as in
	// ListDisconnects) webhook deliveries of an instance, pending,
	// delivered or failed, newest first.
	InstanceDeliveries(ctx context.Context, instanceID string, limit int) ([]OutboxEvent, error)
}

// EventFilter selects stream entries; a zero field matches every entry.
type EventFilter struct {
	InstanceID string   // only this instance's events
	Events     []string // only these wire names (e.g. "connection.update")
}

// Leases hands instances to hosts. A lease is acquired and renewed by its
// owner; when it expires another host may take it, with a higher token.
type Leases interface {
	// AcquireLease gives owner the lease on an instance for ttl when it is
	// free, expired or already owner's (then renewed, same token). A lease
	// changing hands gets a higher token. Another owner's unexpired lease
	// fails with a *LeaseHeldError.
	AcquireLease(ctx context.Context, instanceID, owner string, ttl time.Duration) (Lease, error)
	// RenewLease extends l for ttl from now. It fails with ErrLeaseLost once
	// another host acquired the lease or l was released.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease ends l now so another host may acquire it at once.
	// Releasing a lease no longer held is a no-op.
	ReleaseLease(ctx context.Context, l Lease) error
	// Lease returns the current lease row of an instance, expired or not.
	Lease(ctx context.Context, instanceID string) (Lease, error)
}

// PurgeQueue holds cache purges to retry; AddPurge is on Tx.
type PurgeQueue interface {
	// DuePurges returns up to limit purges due at or before now, most
	// overdue first.
	DuePurges(ctx context.Context, now time.Time, limit int) ([]PendingPurge, error)
	// PurgeDone removes a purge that succeeded, unless AddPurge bumped its
	// generation meanwhile: that request arrived during the purge and must
	// run again.
	PurgeDone(ctx context.Context, instance string, generation int64) error
	// PurgeRetry makes a purge due again at next, recording lastErr.
	PurgeRetry(ctx context.Context, instance string, next time.Time, lastErr string) error
}

// MessageLog reads the messages and drives the send queue; the writes that
// join a unit of work (InsertMessage, SetMessageStatus,
// FailQueuedMessages) are on Tx.
//
// Seq is assigned when a message is inserted, not when its unit of work
// commits: on PostgreSQL two units of work inserting for the same instance
// at once may commit out of Seq order, so a sender that relies on Seq as
// the send order inserts one instance's messages one unit of work at a
// time.
type MessageLog interface {
	// Message returns one message.
	Message(ctx context.Context, instanceID, id string) (Message, error)
	// MessageByIdempotencyKey returns the outgoing message accepted with
	// key.
	MessageByIdempotencyKey(ctx context.Context, instanceID, key string) (Message, error)
	// QueuedMessages returns up to limit (clamped as in ListDisconnects)
	// queued outgoing messages of the instance in Seq order, due or not.
	QueuedMessages(ctx context.Context, instanceID string, limit int) ([]Message, error)
	// InstancesWithQueued returns the ids of the instances with queued
	// outgoing messages.
	InstancesWithQueued(ctx context.Context) ([]string, error)
	// RetryMessage makes a queued message due again at next, counting an
	// attempt and recording lastErr in Reason. A message no longer queued
	// is left as it is.
	RetryMessage(ctx context.Context, instanceID, id string, next time.Time, lastErr string) error
	// ExpiredMessages returns up to limit (clamped as in ListDisconnects)
	// queued messages whose ExpiresAt is at or before now, the longest
	// expired first.
	ExpiredMessages(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// ListMessages pages through an instance's messages newest first, by
	// SortTime (Timestamp, or CreatedAt while it is unknown) then Seq; see
	// MessageQuery.
	ListMessages(ctx context.Context, q MessageQuery) ([]Message, error)
	// PruneMessages deletes up to limit (1..MaxPage) messages created
	// before before that are no longer queued, oldest first, and returns
	// how many; callers loop until it returns fewer than limit (bounded
	// batches keep SQLite's writer free).
	PruneMessages(ctx context.Context, before time.Time, limit int) (int64, error)
}
