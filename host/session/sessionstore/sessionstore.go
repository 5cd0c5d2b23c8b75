// Package sessionstore keeps whatsmeow's own device store in wahost's
// database and owns the cleanup of one session's keys (cleanup scope
// "session"). It lives under host/session, where whatsmeow stays, and is
// the only package that imports whatsmeow's sqlstore; it never imports a
// database driver, taking its database/sql handle from the store in use
// (storage/postgres or storage/sqlite, through storage/backend).
package sessionstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// sqlstore dialects, as the stores' SessionDB methods return them.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// Source opens a database/sql handle on the store's database for
// whatsmeow; *postgres.Store and *sqlite.Store implement it.
type Source interface {
	SessionDB() (db *sql.DB, dialect string, err error)
}

// Store is whatsmeow's device container on wahost's database.
type Store struct {
	container *sqlstore.Container
	db        *sql.DB
	dialect   string
}

// Open opens whatsmeow's container on src's database and brings its schema
// up to date. On PostgreSQL the upgrade runs under an advisory lock, since
// whatsmeow's own upgrade does not guard against two hosts starting at
// once. log may be nil.
func Open(ctx context.Context, src Source, log waLog.Logger) (*Store, error) {
	db, dialect, err := src.SessionDB()
	if err != nil {
		return nil, fmt.Errorf("sessionstore: %w", err)
	}
	if dialect != DialectPostgres && dialect != DialectSQLite {
		_ = db.Close()
		return nil, fmt.Errorf("sessionstore: unsupported dialect %q", dialect)
	}
	s := &Store{container: sqlstore.NewWithDB(db, dialect, log), db: db, dialect: dialect}
	if err := s.upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	// whatsmeow's LID map is one cache for every device of the container,
	// behind one lock. Until it is filled, every lookup of a number with no
	// LID known (most numbers a bot writes to) queries the database while
	// holding that lock for writing, so all sessions' sends queue behind one
	// another's queries. Filled once here, the cache answers those lookups
	// from memory; whatsmeow writes every mapping it learns through it.
	if err := s.container.LIDMap.FillCache(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sessionstore: load LID map: %w", err)
	}
	return s, nil
}

func (s *Store) upgrade(ctx context.Context) error {
	if s.dialect != DialectPostgres {
		if err := s.container.Upgrade(ctx); err != nil {
			return fmt.Errorf("sessionstore: upgrade whatsmeow schema: %w", err)
		}
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sessionstore: upgrade whatsmeow schema: %w", err)
	}
	defer conn.Close()
	var schema string
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("sessionstore: upgrade whatsmeow schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("wahost.whatsmeow-upgrade/" + schema))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("sessionstore: upgrade whatsmeow schema: lock: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	// whatsmeow's upgrader asks information_schema whether its version
	// table exists without naming a schema, so a whatsmeow_version in any
	// other schema of the database (a second deployment, a test) makes it
	// skip creating ours and then fail to read it. Creating the table
	// here, in the store's own schema, with the columns the upgrader
	// expects, makes the answer true for the right reason.
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS whatsmeow_version (version INTEGER, compat INTEGER)"); err != nil {
		return fmt.Errorf("sessionstore: upgrade whatsmeow schema: %w", err)
	}
	if err := s.container.Upgrade(ctx); err != nil {
		return fmt.Errorf("sessionstore: upgrade whatsmeow schema: %w", err)
	}
	return nil
}

// Container is whatsmeow's device container, for whatsmeow.NewClient.
func (s *Store) Container() *sqlstore.Container { return s.container }

// Close closes the container and its database handle.
func (s *Store) Close() error { return s.container.Close() }

// Deleted reports what DeleteSession removed.
type Deleted struct {
	Device        int64 // rows of whatsmeow_device (0 or 1); the cascade takes the per-device tables
	PrivacyTokens int64 // rows of whatsmeow_privacy_tokens, which the cascade misses
}

// DeleteSession removes every row whatsmeow keeps for the device jid, in
// one transaction: the device row, whose ON DELETE CASCADE removes the
// identity keys, pre-keys, sessions, sender keys, app state, contacts, chat
// settings, message secrets and buffered events, and the privacy tokens,
// which have no foreign key. The global LID map is shared by all devices
// and kept.
//
// Pass the JID captured when the session paired or connected: whatsmeow
// clears Device.ID when it deletes a device itself (on LoggedOut), and
// DeleteSession still removes what that delete left. Stop the device's
// client first; a client still running would write rows again. Deleting a
// session already gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, jid types.JID) (Deleted, error) {
	if jid.IsEmpty() || jid.User == "" {
		return Deleted{}, errors.New("sessionstore: delete session: empty device JID")
	}
	arg := s.placeholder()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Deleted{}, fmt.Errorf("sessionstore: delete session %s: %w", jid, err)
	}
	defer func() { _ = tx.Rollback() }()
	var d Deleted
	res, err := tx.ExecContext(ctx, "DELETE FROM whatsmeow_privacy_tokens WHERE our_jid = "+arg, jid.String())
	if err != nil {
		return Deleted{}, fmt.Errorf("sessionstore: delete session %s: privacy tokens: %w", jid, err)
	}
	d.PrivacyTokens, _ = res.RowsAffected()
	res, err = tx.ExecContext(ctx, "DELETE FROM whatsmeow_device WHERE jid = "+arg, jid.String())
	if err != nil {
		return Deleted{}, fmt.Errorf("sessionstore: delete session %s: device: %w", jid, err)
	}
	d.Device, _ = res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return Deleted{}, fmt.Errorf("sessionstore: delete session %s: commit: %w", jid, err)
	}
	return d, nil
}

func (s *Store) placeholder() string {
	if s.dialect == DialectPostgres {
		return "$1"
	}
	return "?"
}

// HasDevice reports whether whatsmeow keeps a device (and so its keys) for
// the account JID given as text, as instances store it.
func (s *Store) HasDevice(ctx context.Context, jid string) (bool, error) {
	parsed, err := types.ParseJID(jid)
	if err != nil {
		return false, fmt.Errorf("sessionstore: JID %q: %w", jid, err)
	}
	dev, err := s.container.GetDevice(ctx, parsed)
	if err != nil {
		return false, fmt.Errorf("sessionstore: reading device %s: %w", jid, err)
	}
	return dev != nil, nil
}
