package message

import (
	"errors"
	"fmt"
)

// Errors both sides branch on.
var (
	// ErrNotConnected: the instance's session is not open; the message
	// waits in the queue.
	ErrNotConnected = errors.New("message: session not open")
	// ErrNotOnWhatsApp: the recipient is not a WhatsApp user.
	ErrNotOnWhatsApp = errors.New("message: recipient is not on WhatsApp")
	// ErrMediaUnreachable: the media URL could not be fetched.
	ErrMediaUnreachable = errors.New("message: media unreachable")
	// ErrNoMedia: the message carries no downloadable file.
	ErrNoMedia = errors.New("message: no media in message")
	// ErrTimeout: the server did not acknowledge the send in time.
	ErrTimeout = errors.New("message: no server acknowledgement")
)

// ServerError is a send the server answered with an error code.
type ServerError struct{ Code int }

func (e *ServerError) Error() string { return fmt.Sprintf("message: server answered error %d", e.Code) }

// InvalidError is content that cannot be sent as given (a bad JID, a media
// type WhatsApp refuses). Retrying does not help.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "message: invalid: " + e.Reason }
