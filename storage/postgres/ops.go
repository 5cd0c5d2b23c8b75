package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wahost/wahost/storage"
)

// querier is what pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ops implements storage.Tx over a pool (each call its own transaction) or
// over one transaction.
type ops struct {
	q    querier
	now  func() time.Time
	inTx bool
	// outbox, inside a unit of work, collects the webhooks and stream
	// entries it enqueues; they are all inserted by one statement before
	// the commit (outboxInsert).
	outbox *[]storage.OutboxEvent
	// hook is told about outbox rows: by wrote's commit inside a unit of
	// work (wrote set), at once outside one.
	hook  *storage.OutboxHook
	wrote *bool
	// grp, in a group's transaction, holds the rows read ahead for its
	// units and their writes not yet sent; q then sends those before any
	// statement. See grouped.
	grp *grouped
}

var _ storage.Tx = ops{}

func (o ops) stamp() time.Time { return storage.Timestamp(o.now()) }

// jsonArg passes an empty document as SQL NULL and any other verbatim.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// utc returns t as storage.Timestamp does, and nil for nil.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := storage.Timestamp(*t)
	return &u
}

// clampLimit applies storage.DefaultPage and storage.MaxPage.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return storage.DefaultPage
	case n > storage.MaxPage:
		return storage.MaxPage
	}
	return n
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
