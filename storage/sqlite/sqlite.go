// Package sqlite is the embedded SQLite implementation of storage.Store,
// the default that needs no server, and the only package of wahost that
// imports the SQLite driver (modernc.org/sqlite, pure Go, so the binary
// stays static).
//
// The database is one file in WAL mode. Every write and every unit of work
// goes through a single connection whose transactions begin IMMEDIATE, so
// writers are serialised in-process by the pool and across processes by
// SQLite's write lock (waiting up to the busy timeout); reads outside units
// of work use a separate read-only pool and never wait for writers.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/wahost/wahost/storage"
)

// Config selects the database file and tunes the connections.
type Config struct {
	// Path is the database file, created with its directory if missing.
	Path string
	// BusyTimeout is how long a write waits for another process's write
	// lock; 0 means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders caps the read-only pool; 0 means 4.
	MaxReaders int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a storage.Store on one SQLite file.
type Store struct {
	ops    // writes on writer, reads on reader
	writer *sql.DB
	reader *sql.DB
	wstmts *stmtCache
	rstmts *stmtCache
	path   string
	busy   time.Duration
	hook   *storage.OutboxHook
}

var _ storage.Store = (*Store)(nil)

// Open opens or creates the database and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("sqlite: open %s: path must not contain '?' or '#'", cfg.Path)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	readers := cfg.MaxReaders
	if readers <= 0 {
		readers = 4
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{path: cfg.Path, busy: busy}
	var err error
	if s.writer, err = sql.Open("sqlite", s.dsn("&_txlock=immediate")); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx, now); err != nil {
		_ = s.writer.Close()
		return nil, err
	}
	if s.reader, err = sql.Open("sqlite", s.dsn("&_pragma=query_only(1)")); err != nil {
		_ = s.writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	s.reader.SetMaxOpenConns(readers)
	s.wstmts, s.rstmts = newStmtCache(s.writer), newStmtCache(s.reader)
	s.hook = new(storage.OutboxHook)
	s.ops = ops{w: poolQuerier{s.wstmts}, r: poolQuerier{s.rstmts}, now: now, hook: s.hook}
	return s, nil
}

// dsn returns the data source name of the file with the pragmas every
// connection needs, followed by extra.
func (s *Store) dsn(extra string) string {
	return s.path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(s.busy.Milliseconds(), 10) + ")" + extra
}

// SessionDB opens a separate pool on the same file for whatsmeow's
// sqlstore, with the foreign keys its cascades need and IMMEDIATE
// transactions, and returns it with its sqlstore dialect. The caller
// closes it.
func (s *Store) SessionDB() (*sql.DB, string, error) {
	db, err := sql.Open("sqlite", s.dsn("&_txlock=immediate"))
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: open session db: %w", err)
	}
	return db, "sqlite", nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.rstmts.close(), s.wstmts.close(), s.reader.Close(), s.writer.Close())
}

// Ping checks that the file can be read and written.
func (s *Store) Ping(ctx context.Context) error {
	return errors.Join(wrapErr("ping", s.writer.PingContext(ctx)), wrapErr("ping", s.reader.PingContext(ctx)))
}

// InTx runs fn in one IMMEDIATE transaction on the writer connection; see
// storage.Store. fn must make its writes through tx: a write through the
// store itself would wait for the connection fn holds.
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Tx) error) (err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	tq := &txQuerier{tx: tx, c: s.wstmts, bound: make(map[string]*sql.Stmt)}
	var wrote bool
	if err := fn(ops{w: tq, r: tq, now: s.now, hook: s.hook, wrote: &wrote}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrapErr("commit", err)
	}
	if wrote {
		s.hook.Committed()
	}
	s.wstmts.warm(ctx)
	return nil
}

// NotifyOutbox implements storage.OutboxWatcher.
func (s *Store) NotifyOutbox(fn func()) { s.hook.NotifyOutbox(fn) }

// InGroup commits units together in one IMMEDIATE transaction; see
// storage.Grouper and storage.RunGroup.
func (s *Store) InGroup(ctx context.Context, units []storage.Unit) []error {
	return storage.RunGroup(ctx, storage.Together(s.InTx), s.InTx, units)
}
