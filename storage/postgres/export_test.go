package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wahost/wahost/storage"
)

// Internals for the package's external tests.
var CopyOutbox = copyOutbox

const CopyMin = copyMin

func (s *Store) Pool() *pgxpool.Pool { return s.pool }

var CopyDisconnects = copyDisconnects

// CopyGroup copies a group's history and outbox rows in one round trip,
// as a group's flush does.
func CopyGroup(ctx context.Context, tx pgx.Tx, history []storage.Disconnect, outbox []storage.OutboxEvent, pending int64) error {
	return copyIn(ctx, tx, historyCopy(history), outboxCopy(outbox, pending))
}
