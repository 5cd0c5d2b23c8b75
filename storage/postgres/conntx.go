package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// connTx is a group's transaction on a pooled connection. pgx's Begin and
// Commit each take a round trip of their own; a group sends BEGIN as the
// first statement of its prepare batch and COMMIT at the end of its one
// write (see write), so that a group of 128 decisions costs two round
// trips. A write that committed says so (committed); Commit and Rollback
// then only end what is left and give the connection back to the pool.
type connTx struct {
	c         *pgxpool.Conn // nil once given back
	committed bool          // the group's write committed
}

func beginConnTx(ctx context.Context, pool *pgxpool.Pool) (*connTx, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &connTx{c: c}, nil
}

// release gives the connection back; the pool closes one still in a
// transaction.
func (t *connTx) release() {
	t.c.Release()
	t.c = nil
}

func (t *connTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("postgres: a group's transaction has no nested transactions")
}

// Commit commits, unless the group's write did.
func (t *connTx) Commit(ctx context.Context) error {
	if t.c == nil {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if t.committed {
		return nil
	}
	tag, err := t.c.Exec(ctx, "commit")
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	return err
}

// Rollback rolls back what is still open.
func (t *connTx) Rollback(ctx context.Context) error {
	if t.c == nil {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if t.c.Conn().PgConn().TxStatus() == 'I' {
		return nil // nothing open: never begun, or ended by the write
	}
	_, err := t.c.Exec(ctx, "rollback")
	return err
}

func (t *connTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, columns, src)
}

func (t *connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}

func (t *connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Conn().Prepare(ctx, name, sql)
}

func (t *connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}

func (t *connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}

func (t *connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}

func (t *connTx) Conn() *pgx.Conn { return t.c.Conn() }

var _ pgx.Tx = (*connTx)(nil)
