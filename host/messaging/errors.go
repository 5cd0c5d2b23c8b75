package messaging

import (
	"errors"
	"fmt"
)

// ErrTooLarge is a message or its media over messages.max_media.
var ErrTooLarge = errors.New("message too large")

// InputError is a request the service cannot accept as given: Field names
// what to fix.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// StateError is an instance whose state does not allow sending: never
// paired, or logged out. State is its stored status.
type StateError struct {
	Instance string
	State    string
	Reason   string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("instance %q is %s (%s): link a number to it (POST /v1/instances/%s/connect) before sending", e.Instance, e.State, e.Reason, e.Instance)
}

// The reasons a message fails with.
const (
	ReasonNotOnWhatsApp    = "not_on_whatsapp"
	ReasonExpired          = "expired"
	ReasonLoggedOut        = "logged_out"
	ReasonMediaUnreachable = "media_unreachable"
	ReasonMediaTooLarge    = "media_too_large"
	ReasonInvalid          = "invalid"
	// ReasonServerError is followed by ":<code>".
	ReasonServerError = "server_error"
)
