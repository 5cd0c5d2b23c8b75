package storage

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on. Implementations wrap them, so test with
// errors.Is.
var (
	// ErrNotFound reports that the instance, event, message or lease does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicateName reports that another instance already has the name.
	ErrDuplicateName = errors.New("instance name already taken")
	// ErrDuplicateMessage reports that the instance already has a message
	// with the ID or the idempotency key.
	ErrDuplicateMessage = errors.New("message already stored")
	// ErrInvalidName reports an instance name outside the allowed form; the
	// error is a *NameError.
	ErrInvalidName = errors.New("invalid instance name")
	// ErrInvalidInput reports a malformed field; the error is an
	// *InputError.
	ErrInvalidInput = errors.New("invalid input")
	// ErrTooLarge reports a value over its size limit; the error is a
	// *TooLargeError. Values are never truncated.
	ErrTooLarge = errors.New("value too large")
	// ErrLeaseHeld reports that another host holds an unexpired lease on
	// the instance; the error is a *LeaseHeldError.
	ErrLeaseHeld = errors.New("lease held by another host")
	// ErrLeaseLost reports that a lease was taken over or released: its
	// holder must stop acting for the instance.
	ErrLeaseLost = errors.New("lease lost")
	// ErrUnavailable reports that the database or cache could not be
	// reached or dropped the connection. The wrapped cause names the
	// address and the failure; retrying later may succeed.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrSchemaTooNew reports a database migrated by a newer wahost than
	// this binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)

// NameError describes why an instance name was rejected.
type NameError struct {
	Name   string
	Reason string
}

// Error implements error.
func (e *NameError) Error() string {
	return fmt.Sprintf("invalid instance name %q: %s (use 1-%d characters of A-Z a-z 0-9 _ . -, not \".\" or \"..\")",
		e.Name, e.Reason, MaxNameLen)
}

// Is reports whether target is ErrInvalidName.
func (e *NameError) Is(target error) bool { return target == ErrInvalidName }

// InputError describes a malformed field.
type InputError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// TooLargeError describes a value over its size limit.
type TooLargeError struct {
	Field string
	Size  int
	Max   int
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the limit of %d bytes", e.Field, e.Size, e.Max)
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// LeaseHeldError names the host holding a lease another host asked for.
type LeaseHeldError struct {
	InstanceID string
	Owner      string
	ExpiresAt  time.Time
}

// Error implements error.
func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("instance %s is leased by host %q until %s",
		e.InstanceID, e.Owner, e.ExpiresAt.Format(time.RFC3339))
}

// Is reports whether target is ErrLeaseHeld.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// NotFound returns an error wrapping ErrNotFound that names what is
// missing, as in "instance 3f2a…: not found".
func NotFound(kind, key string) error {
	return fmt.Errorf("%s %s: %w", kind, key, ErrNotFound)
}

// Unavailable wraps cause so that errors.Is(err, ErrUnavailable) holds and
// the message keeps the cause.
func Unavailable(cause error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, cause)
}
