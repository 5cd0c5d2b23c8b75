package abi

import "strconv"

// The package builds its error messages without fmt: a Go guest links
// this package, and fmt (with reflect, os and their kin) would make every
// policy module a megabyte larger, its compiled code and the host's memory
// with it.

// wrapError is an error whose message already includes the error it wraps,
// as fmt.Errorf's %w makes them.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

// wrap returns an error reading prefix, err's message and suffix, that
// wraps err.
func wrap(prefix string, err error, suffix string) error {
	return &wrapError{msg: prefix + err.Error() + suffix, err: err}
}

// plainError is an error with a message only.
type plainError string

func (e plainError) Error() string { return string(e) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// quoteByte renders a byte as Go quotes a character, as %q does.
func quoteByte(c byte) string { return strconv.QuoteRune(rune(c)) }
