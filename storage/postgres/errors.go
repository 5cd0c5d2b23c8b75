package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wahost/wahost/storage"
)

// Constraint names the error mapping relies on (see migrations).
const nameConstraint = "wahost_instances_name_key"

// wrapErr prefixes err with the operation and maps what callers branch on
// to the storage sentinels.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && pgErr.ConstraintName == nameConstraint:
			return fmt.Errorf("postgres: %s: %w", op, storage.ErrDuplicateName)
		case pgErr.Code == "23505":
			return fmt.Errorf("postgres: %s: %w", op, &storage.InputError{Field: "id", Reason: "already exists"})
		case pgErr.Code == "23503":
			return fmt.Errorf("postgres: %s: referenced instance: %w", op, storage.ErrNotFound)
		case pgErr.Code == "P0002" && strings.Contains(pgErr.Where, "wahost_expect_rows"):
			// wahost_expect_rows: a row a group expected is gone.
			return fmt.Errorf("postgres: %s: %s: %w", op, pgErr.Message, storage.ErrNotFound)
		case pgErr.Code == "22P02" || pgErr.Code == "22P05" || pgErr.Code == "22021":
			return fmt.Errorf("postgres: %s: %w", op, &storage.InputError{Field: "value", Reason: pgErr.Message})
		case pgErr.Code == "54000" || pgErr.Code == "22001":
			return fmt.Errorf("postgres: %s: %w: %w", op, storage.ErrTooLarge, err)
		case strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000":
			// Invalid authorization (unknown role, wrong password) or
			// an unknown database: the configuration is wrong.
			return fmt.Errorf("postgres: %s: %w: %w", op, storage.ErrAccessDenied, err)
		case unavailableCode(pgErr.Code):
			return fmt.Errorf("postgres: %s: %w", op, storage.Unavailable(err))
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if connectionLost(err) {
		return fmt.Errorf("postgres: %s: %w", op, storage.Unavailable(err))
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailableCode reports SQLSTATEs of a server that is going away or not
// accepting connections: connection exceptions (08), admin or crash
// shutdown and "cannot connect now" (57P0x), too many connections (53300).
func unavailableCode(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P0") || code == "53300"
}

// connectionLost reports errors of the transport rather than the query.
func connectionLost(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	// pgx reports a connection it already closed as "conn closed".
	return strings.Contains(err.Error(), "conn closed")
}
