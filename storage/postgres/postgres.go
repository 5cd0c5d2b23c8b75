// Package postgres is the PostgreSQL implementation of storage.Store, and
// the only package of wahost that imports pgx. Several hosts may share one
// database: migrations run under an advisory lock, outbox claims use
// FOR UPDATE SKIP LOCKED, and leases fence each host's writes.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wahost/wahost/storage"
)

// Config selects the database and tunes the pool.
type Config struct {
	// URL is a PostgreSQL connection string, as
	// "postgres://user@host:5432/db?sslmode=disable".
	URL string
	// Schema, when set, holds wahost's and whatsmeow's tables: it is
	// created if missing and put first on every connection's search_path.
	Schema string
	// MaxConns caps the pool; 0 keeps pgxpool's default.
	MaxConns int32
	// ConnectTimeout bounds each new connection; 0 means 5 seconds.
	ConnectTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a storage.Store on a pgx pool.
type Store struct {
	ops  // runs each call on the pool, in its own transaction
	pool *pgxpool.Pool
	hook *storage.OutboxHook
}

var _ storage.Store = (*Store)(nil)

// Open connects, applies pending migrations and returns the store. It
// fails, naming the cause, when the database cannot be reached.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if cfg.Schema != "" {
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pcfg.AfterConnect = registerUUID
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if cfg.ConnectTimeout > 0 {
		pcfg.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	}
	// pgxpool pings a connection idle for over a second before handing it
	// out, so after a server restart most dead connections are replaced
	// instead of failing a query; one used just before the restart fails
	// once with ErrUnavailable and is dropped.
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	hook := new(storage.OutboxHook)
	s := &Store{ops: ops{q: pool, now: now, hook: hook}, pool: pool, hook: hook}
	if err := s.migrate(ctx, cfg.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrapErr("ping", s.pool.Ping(ctx))
}

// SessionDB returns a database/sql handle drawing on the store's pool,
// with the same search_path, for whatsmeow's sqlstore, and its dialect
// "postgres". Closing it leaves the pool open.
func (s *Store) SessionDB() (*sql.DB, string, error) {
	return stdlib.OpenDBFromPool(s.pool), "postgres", nil
}

// InTx runs fn in one transaction; see storage.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.inTx(ctx, fn, nil, false)
}

// DeleteInstance deletes an instance with its history and episodes, in
// one transaction: its two statements (see ops.DeleteInstance) commit
// together.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	return s.InTx(ctx, func(tx storage.Tx) error { return tx.DeleteInstance(ctx, id) })
}

// inTx runs fn in one transaction. The webhooks fn enqueues are inserted
// together at the end (see ops.outbox). The transaction begins with fn's
// first statement (lazyTx): a unit of work that only enqueues webhooks —
// an API call's event, a connection update — is one INSERT, atomic on its
// own, and one round trip instead of four. With group, fn runs units, and
// the instances they name are read ahead (see grouped).
func (s *Store) inTx(ctx context.Context, fn func(tx storage.Tx) error, units []storage.Unit, group bool) (err error) {
	lt := &lazyTx{pool: s.pool}
	defer func() {
		if lt.tx == nil {
			return
		}
		if p := recover(); p != nil {
			_ = lt.tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = lt.tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var wrote bool
	var outbox []storage.OutboxEvent
	if group {
		// Room for a decision's rows, the most a unit usually enqueues: two
		// events, each a stream entry and a webhook; from the groups
		// before, which leave theirs.
		bp, _ := groupOutboxes.Get().(*[]storage.OutboxEvent)
		if bp == nil {
			bp = new([]storage.OutboxEvent)
		}
		if cap(*bp) < 4*len(units) {
			*bp = make([]storage.OutboxEvent, 0, 4*len(units))
		}
		outbox = (*bp)[:0]
		defer func() {
			clear(outbox) // the payloads go with the group
			*bp = outbox[:0]
			groupOutboxes.Put(bp)
		}()
	}
	o := ops{q: lt, now: s.now, inTx: true, hook: s.hook, wrote: &wrote, outbox: &outbox}
	var g *grouped
	if group && slices.ContainsFunc(units, func(u storage.Unit) bool { return u.Instance != "" }) {
		tx, err := lt.beginGroup(ctx)
		if err != nil {
			return wrapErr("begin", err)
		}
		if g, err = prepareGroup(ctx, tx, units); err != nil {
			return err
		}
		if g != nil {
			o.q, o.grp = flushing{tx: tx, g: g}, g
		}
	}
	if err := fn(o); err != nil {
		return err
	}
	if lt.tx == nil {
		// Nothing but webhooks: one statement, its own transaction.
		if len(outbox) > 0 {
			q, args := outboxInsert(outbox)
			if _, err := s.pool.Exec(ctx, q, args...); err != nil {
				return wrapErr("enqueue webhooks", err)
			}
		}
	} else {
		tx := lt.tx
		if g != nil {
			// The group's rows and its outbox's, and the commit, in one
			// round trip.
			var copies []copyStmt
			if len(outbox) > 0 {
				copies = append(copies, outboxCopy(outbox, g.pending))
			}
			err = g.flush(ctx, tx, true, copies...)
		} else {
			err = insertOutbox(ctx, tx, outbox)
		}
		if err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			if errors.Is(err, pgx.ErrTxClosed) {
				return fmt.Errorf("postgres: commit: %w", err)
			}
			return wrapErr("commit", err)
		}
	}
	if wrote {
		s.hook.Committed()
	}
	return nil
}

// groupOutboxes keeps the outbox rows of finished groups for the next.
var groupOutboxes sync.Pool // *[]storage.OutboxEvent

// lazyTx is a unit of work's transaction, begun by its first statement.
type lazyTx struct {
	pool *pgxpool.Pool
	tx   pgx.Tx // nil until begun
}

// beginGroup takes a connection for a group, whose prepare batch begins
// the transaction (see connTx).
func (l *lazyTx) beginGroup(ctx context.Context) (*connTx, error) {
	t, err := beginConnTx(ctx, l.pool)
	if err != nil {
		return nil, err
	}
	l.tx = t
	return t, nil
}

func (l *lazyTx) begin(ctx context.Context) (pgx.Tx, error) {
	if l.tx == nil {
		tx, err := l.pool.Begin(ctx)
		if err != nil {
			return nil, err
		}
		l.tx = tx
	}
	return l.tx, nil
}

func (l *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tx, err := l.begin(ctx)
	if err != nil {
		return pgconn.CommandTag{}, fmt.Errorf("begin: %w", err)
	}
	return tx.Exec(ctx, sql, args...)
}

func (l *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	tx, err := l.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return tx.Query(ctx, sql, args...)
}

func (l *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	tx, err := l.begin(ctx)
	if err != nil {
		return errRow{fmt.Errorf("begin: %w", err)}
	}
	return tx.QueryRow(ctx, sql, args...)
}

// NotifyOutbox implements storage.OutboxWatcher.
func (s *Store) NotifyOutbox(fn func()) { s.hook.NotifyOutbox(fn) }

// PoolStats describes the pgx pool now.
func (s *Store) PoolStats() storage.PoolStats {
	st := s.pool.Stat()
	return storage.PoolStats{
		Max: st.MaxConns(), Total: st.TotalConns(), Acquired: st.AcquiredConns(), Idle: st.IdleConns(),
		Waited: st.EmptyAcquireCount(),
	}
}

// InGroup commits units together; see storage.Grouper. A group runs in
// one transaction, without a savepoint per unit: each would cost a round
// trip or two, and past 64 written-to savepoints every other session's
// snapshots must look their transaction ids up on disk. A failed unit
// instead makes the group run again around it (storage.RunGroup). The
// webhooks of a group's units are inserted by one statement before the
// commit.
func (s *Store) InGroup(ctx context.Context, units []storage.Unit) []error {
	group := func(ctx context.Context, units []storage.Unit, fn func(tx storage.Tx) error) error {
		return s.inTx(ctx, fn, units, true)
	}
	return storage.RunGroup(ctx, group, s.InTx, units)
}

// BackendPIDs returns the server process ids of every connection the pool
// has open, opening it to its size first; benchmarks read the server's
// CPU time from them.
func (s *Store) BackendPIDs(ctx context.Context) ([]uint32, error) {
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	var pids []uint32
	for range s.pool.Config().MaxConns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			return nil, wrapErr("acquire", err)
		}
		conns = append(conns, c)
		pids = append(pids, c.Conn().PgConn().PID())
	}
	return pids, nil
}
