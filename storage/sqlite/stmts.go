package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Preparing a statement costs SQLite about as much as running a small
// insert, so every query is prepared once per pool and reused.

// querier runs queries on a pool or in a transaction.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) scanner
}

type scanner interface{ Scan(dest ...any) error }

// errRow is a row whose Scan reports a failed prepare.
type errRow struct{ err error }

// Scan returns the prepare error.
func (r errRow) Scan(...any) error { return r.err }

// stmtCache holds the prepared statements of one pool.
type stmtCache struct {
	mu     sync.Mutex // guards stmts, missed
	stmts  map[string]*sql.Stmt
	missed map[string]bool

	db *sql.DB
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt), missed: make(map[string]bool)}
}

// prepare returns the statement for q, preparing it on first use. It must
// not run inside a unit of work: preparing takes a connection of the pool,
// and the writer pool's only connection is the transaction's.
func (c *stmtCache) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st := c.stmts[q]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.stmts[q]; prev != nil {
		_ = st.Close()
		return prev, nil
	}
	c.stmts[q] = st
	delete(c.missed, q)
	return st, nil
}

// lookup returns the statement for q if prepared, and otherwise remembers
// q so that warm prepares it once the transaction is over.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[q]
	if st == nil {
		c.missed[q] = true
	}
	return st
}

// warm prepares the statements transactions missed.
func (c *stmtCache) warm(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.missed {
		qs = append(qs, q)
	}
	c.mu.Unlock()
	for _, q := range qs {
		if _, err := c.prepare(ctx, q); err != nil {
			return // the statement runs unprepared until a later warm
		}
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

// poolQuerier runs each query on its own with a cached statement.
type poolQuerier struct{ c *stmtCache }

func (p poolQuerier) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := p.c.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p poolQuerier) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.c.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p poolQuerier) queryRow(ctx context.Context, q string, args ...any) scanner {
	st, err := p.c.prepare(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// txQuerier runs queries in one transaction, binding the pool's cached
// statements to it; a statement not cached yet is prepared for the rest of
// the transaction and cached by the pool after it ends.
type txQuerier struct {
	tx    *sql.Tx
	c     *stmtCache
	bound map[string]*sql.Stmt // closed by the transaction's end
}

func (t *txQuerier) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.bound[q]; st != nil {
		return st
	}
	if st := t.c.lookup(q); st != nil {
		st = t.tx.StmtContext(ctx, st)
		t.bound[q] = st
		return st
	}
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	t.bound[q] = st
	return st
}

func (t *txQuerier) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *txQuerier) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *txQuerier) queryRow(ctx context.Context, q string, args ...any) scanner {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}
