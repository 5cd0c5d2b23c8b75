package storage

import (
	"context"
	"time"
)

// Cache holds per-instance hot state (status, current QR, counters, recent
// decisions) under the namespace of one instance. The database stays the
// source of truth: everything here may be lost. Instance namespaces must
// pass ValidateName (an instance ID does); keys are 1 to MaxKeyLen bytes
// without NUL. Implementations are safe for concurrent use.
type Cache interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, instance, key string) ([]byte, error)
	// Set stores value under key; ttl 0 keeps it until deleted or purged.
	Set(ctx context.Context, instance, key string, value []byte, ttl time.Duration) error
	// Delete removes key; removing a missing key is a no-op.
	Delete(ctx context.Context, instance, key string) error
	// Incr adds delta to the counter at key (0 when missing) and returns
	// the new value.
	Incr(ctx context.Context, instance, key string, delta int64) (int64, error)
	// Push prepends value to the list at key and keeps its newest max
	// entries.
	Push(ctx context.Context, instance, key string, value []byte, max int) error
	// List returns the list at key, newest first; a missing list is empty.
	List(ctx context.Context, instance, key string) ([][]byte, error)
	// Purge removes every key of the instance and returns how many it
	// removed. Purging again removes nothing and returns 0.
	Purge(ctx context.Context, instance string) (int64, error)
	// Close releases the cache's connections.
	Close() error
}

// MaxKeyLen is the longest cache key accepted, without its namespace.
const MaxKeyLen = 256

// MaxCacheValueBytes is the largest cache value accepted.
const MaxCacheValueBytes = 1 << 20

// ValidateCacheKey checks an instance namespace and a key.
func ValidateCacheKey(instance, key string) error {
	if err := ValidateName(instance); err != nil {
		return err
	}
	if key == "" {
		return &InputError{Field: "key", Reason: "empty"}
	}
	return checkText("key", key, MaxKeyLen)
}

// ValidateCacheValue checks a value before it is cached.
func ValidateCacheValue(value []byte) error {
	if len(value) > MaxCacheValueBytes {
		return &TooLargeError{Field: "value", Size: len(value), Max: MaxCacheValueBytes}
	}
	return nil
}
