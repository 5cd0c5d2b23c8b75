package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wahost/wahost/storage"
)

// Internals for the package's external tests.

// CopyOutbox copies a group's outbox rows alone.
func CopyOutbox(ctx context.Context, tx pgx.Tx, evs []storage.OutboxEvent, pending int64) error {
	return write(ctx, tx, nil, []copyStmt{outboxCopy(evs, pending)}, false)
}

func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// CopyDisconnects copies a group's history rows alone.
func CopyDisconnects(ctx context.Context, tx pgx.Tx, rows []storage.Disconnect) error {
	return write(ctx, tx, nil, []copyStmt{historyCopy(rows)}, false)
}

// CopyGroup copies a group's history and outbox rows in one round trip,
// as a group's flush does.
func CopyGroup(ctx context.Context, tx pgx.Tx, history []storage.Disconnect, outbox []storage.OutboxEvent, pending int64) error {
	return write(ctx, tx, nil, []copyStmt{historyCopy(history), outboxCopy(outbox, pending)}, false)
}

// WriteGroup writes a group's instance rows and history rows in one
// round trip, as a group's flush does.
func WriteGroup(ctx context.Context, tx pgx.Tx, instances []storage.Instance, history []storage.Disconnect) error {
	var copies []copyStmt
	if len(history) > 0 {
		copies = append(copies, historyCopy(history))
	}
	return write(ctx, tx, []wireStmt{instancesStmt(instances)}, copies, false)
}

// WriteGroupAndCommit is WriteGroup in a group's own transaction, whose
// write commits it; it reports whether the transaction knew it was
// committed.
func (s *Store) WriteGroupAndCommit(ctx context.Context, instances []storage.Instance) (committed bool, err error) {
	tx, err := beginConnTx(ctx, s.pool)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "begin"); err != nil {
		return false, err
	}
	err = write(ctx, tx, []wireStmt{instancesStmt(instances)}, nil, true)
	return tx.committed, err
}
