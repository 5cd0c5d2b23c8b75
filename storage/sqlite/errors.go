package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wahost/wahost/storage"
)

// wrapErr prefixes err with the operation and maps what callers branch on
// to the storage sentinels.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	switch code := se.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE && strings.Contains(se.Error(), "wahost_instances.name"):
		return fmt.Errorf("sqlite: %s: %w", op, storage.ErrDuplicateName)
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("sqlite: %s: %w", op, &storage.InputError{Field: "id", Reason: "already exists"})
	case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("sqlite: %s: referenced instance: %w", op, storage.ErrNotFound)
	case code == sqlite3.SQLITE_CONSTRAINT_CHECK || code == sqlite3.SQLITE_CONSTRAINT_NOTNULL ||
		code == sqlite3.SQLITE_MISMATCH || code == sqlite3.SQLITE_CONSTRAINT_DATATYPE:
		return fmt.Errorf("sqlite: %s: %w", op, &storage.InputError{Field: "value", Reason: se.Error()})
	case code == sqlite3.SQLITE_TOOBIG:
		return fmt.Errorf("sqlite: %s: %w: %w", op, storage.ErrTooLarge, err)
	case unavailable(code & 0xff):
		return fmt.Errorf("sqlite: %s: %w", op, storage.Unavailable(err))
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// unavailable reports primary result codes of a file that cannot be used
// now: locked past the busy timeout, unreadable, full or gone.
func unavailable(primary int) bool {
	switch primary {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}
