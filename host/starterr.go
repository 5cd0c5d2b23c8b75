package host

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/storage"
)

// DependencyError is a start that failed because a service wahost needs
// could not be reached. Retrying later may succeed; the configuration may
// be right.
type DependencyError struct {
	Name string // "PostgreSQL"
	Key  string // the config key that names it
	Addr string // host:port
	Err  error
}

func (e *DependencyError) Error() string {
	return fmt.Sprintf("%s at %s (%s) is unreachable: %v", e.Name, e.Addr, e.Key, rootCause(e.Err))
}

func (e *DependencyError) Unwrap() error { return e.Err }

// IsConfigError reports whether a failed start is the configuration's
// fault: a bad file, key or value, a port in use, a data directory that
// cannot be written, a policy that does not load, a database that refuses
// the credentials or does not exist.
func IsConfigError(err error) bool { return config.IsConfigError(err) }

// IsDependencyError reports whether a failed start is a dependency that
// could not be reached.
func IsDependencyError(err error) bool { return errors.As(err, new(*DependencyError)) }

// rootCause is the innermost error of err's chain, following the last of
// several wrapped errors (the cause comes after the sentinel in
// "%w: %w"): the part that says what went wrong ("connection refused",
// "no such host").
func rootCause(err error) error {
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[len(errs)-1]
			}
		}
		if next == nil {
			return err
		}
		err = next
	}
}

// storeError names the database in a failure to open the store.
func storeError(dbURL string, err error) error {
	if dbURL == "" {
		return err // SQLite: the data directory's problem, reported as it is
	}
	addr := postgresAddr(dbURL)
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		return &DependencyError{Name: "PostgreSQL", Key: "database.url", Addr: addr, Err: err}
	case errors.Is(err, storage.ErrAccessDenied):
		return &config.KeyError{Key: "database.url", Err: fmt.Errorf("PostgreSQL at %s refused the connection: %v", addr, rootCause(err))}
	}
	return err
}

// postgresAddr is host:port of a postgres:// URL, or a placeholder for
// the key=value form.
func postgresAddr(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the configured address"
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5432")
	}
	return u.Host
}

// policyError names the key behind a policy that does not load.
func policyError(err error) error {
	if errors.As(err, new(*source.PinError)) {
		return &config.KeyError{Key: "policy.sha256", Err: err}
	}
	return &config.KeyError{Key: "policy.module", Err: err}
}
