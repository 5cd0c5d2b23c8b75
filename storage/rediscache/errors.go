package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/wahost/wahost/storage"
)

// wrapErr prefixes err with the operation and maps what callers branch on
// to the storage sentinels: a reply error caused by the call's input is
// ErrInvalidInput, anything else from the connection is ErrUnavailable.
func wrapErr(addr, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("redis %s: %s: %w", addr, op, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !errors.Is(err, redis.ErrClosed) && !errors.Is(err, redis.ErrPoolTimeout) {
		msg := rerr.Error()
		switch {
		case strings.HasPrefix(msg, "WRONGTYPE"):
			return fmt.Errorf("redis %s: %s: %w", addr, op, &storage.InputError{Field: "key", Reason: "holds a value of another kind"})
		case strings.Contains(msg, "not an integer"), strings.Contains(msg, "overflow"):
			return fmt.Errorf("redis %s: %s: %w", addr, op, &storage.InputError{Field: "key", Reason: msg})
		case strings.HasPrefix(msg, "LOADING"), strings.HasPrefix(msg, "MASTERDOWN"),
			strings.HasPrefix(msg, "TRYAGAIN"), strings.HasPrefix(msg, "READONLY"):
			return fmt.Errorf("redis %s: %s: %w", addr, op, storage.Unavailable(err))
		}
		return fmt.Errorf("redis %s: %s: %w", addr, op, err)
	}
	return fmt.Errorf("redis %s: %s: %w", addr, op, storage.Unavailable(err))
}
