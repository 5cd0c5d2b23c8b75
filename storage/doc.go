// Package storage owns the contract of wahost's durable and cached state:
// the domain types (instances, the disconnect history, the webhook outbox,
// per-instance settings, leases, pending cache purges, messages), the
// interfaces that every store and cache implements, the errors callers
// branch on, and the validation shared by all implementations.
//
// The package imports no database or cache driver. Implementations live in
// sub-packages, one per driver:
//
//   - storage/postgres: PostgreSQL through pgx, for production and for
//     several hosts sharing one database;
//   - storage/sqlite: embedded SQLite (pure Go), the default;
//   - storage/rediscache and storage/memcache: the per-instance hot cache;
//   - storage/purge: retries cache purges that failed while the cache was
//     down;
//   - storage/datadir: the layout of the data directory and the removal of
//     one instance's files;
//   - storage/backend: opens the store and cache a configuration selects.
//
// storage/storagetest holds the conformance suites every Store and Cache
// implementation passes.
//
// # Units of work
//
// A state change, its history row and the webhooks it emits are written in
// one transaction through [Store.InTx]: a rolled-back change never emits a
// webhook and a committed one never loses it. [Store.InGroup] commits many
// units of work in one transaction where it can, each still kept or
// dropped whole; [Store.NotifyOutbox] tells the webhook dispatcher of every
// commit that wrote outbox rows.
//
// # Messages
//
// Every incoming and outgoing WhatsApp message is a [Message], keyed by its
// instance and WhatsApp id and numbered by a store-wide, increasing Seq.
// The queued outgoing messages are the send queue, taken in Seq order
// ([MessageLog.QueuedMessages]); a client's idempotency key is unique per
// instance, so a retried send request finds the message it already queued
// ([ErrDuplicateMessage], [MessageLog.MessageByIdempotencyKey]). Statuses
// only move forward ([MessageStatus.Rank]): a receipt that arrives late
// never moves a message back, and a failed message stays failed. A message
// is inserted or changed in the same unit of work as the webhook that
// announces it. Deleting an instance deletes its messages; pruning deletes
// old messages in bounded batches and never a queued one.
//
// # Time
//
// Stores take the current time from an injected clock and keep timestamps
// at microsecond precision in UTC, so values read back compare equal to the
// values written after [Timestamp].
package storage
