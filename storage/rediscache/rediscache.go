// Package rediscache is the Redis implementation of storage.Cache, and the
// only package of wahost that imports go-redis. Keys are namespaced
// "<prefix>:<instance>:<key>"; purging an instance walks its namespace with
// SCAN and removes what it finds with UNLINK, never KEYS and never a
// pattern passed to DEL.
package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/wahost/wahost/storage"
)

// DefaultPrefix namespaces wahost's keys when Config.Prefix is empty.
const DefaultPrefix = "wahost"

// scanCount is the COUNT hint of each SCAN step during a purge.
const scanCount = 512

// Config selects the server and the key namespace.
type Config struct {
	Addr     string // host:port
	Username string
	Password string
	DB       int
	// Prefix is the first segment of every key; hosts sharing one Redis
	// and one database share the cache when their prefixes match.
	Prefix string
	// Timeout bounds dialing, reading and writing; 0 means 2 seconds, so
	// a Redis outage fails calls quickly instead of stalling the host.
	Timeout time.Duration
}

// Cache is a storage.Cache on a go-redis client.
type Cache struct {
	rdb    *redis.Client
	prefix string
	addr   string
}

var _ storage.Cache = (*Cache)(nil)

// New returns a cache for cfg. It does not contact the server: the host
// starts and keeps working while Redis is down, and calls fail with
// storage.ErrUnavailable until it is back.
func New(cfg Config) (*Cache, error) {
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	if cfg.Addr == "" {
		return nil, errors.New("rediscache: empty address")
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := storage.ValidateText("prefix", prefix, storage.MaxKeyLen); err != nil {
		return nil, fmt.Errorf("rediscache: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:                     cfg.Addr,
		Username:                 cfg.Username,
		Password:                 cfg.Password,
		DB:                       cfg.DB,
		DialTimeout:              timeout,
		ReadTimeout:              timeout,
		WriteTimeout:             timeout,
		DialerRetries:            1,
		MaxRetries:               1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return &Cache{rdb: rdb, prefix: prefix, addr: cfg.Addr}, nil
}

// Ping checks that the server answers.
func (c *Cache) Ping(ctx context.Context) error {
	return c.wrap("ping", c.rdb.Ping(ctx).Err())
}

// Close closes the client's connections.
func (c *Cache) Close() error { return c.rdb.Close() }

// wrap names the server in err; see wrapErr.
func (c *Cache) wrap(op string, err error) error { return wrapErr(c.addr, op, err) }

// key returns the full Redis key of an instance's key.
func (c *Cache) key(instance, key string) string {
	return c.prefix + ":" + instance + ":" + key
}

// Get returns the value of key, or ErrNotFound.
func (c *Cache) Get(ctx context.Context, instance, key string) ([]byte, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return nil, err
	}
	v, err := c.rdb.Get(ctx, c.key(instance, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.NotFound("cache key", key)
	}
	return v, c.wrap("get", err)
}

// Set stores value under key.
func (c *Cache) Set(ctx context.Context, instance, key string, value []byte, ttl time.Duration) error {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return err
	}
	if ttl < 0 {
		return &storage.InputError{Field: "ttl", Reason: "negative"}
	}
	if err := storage.ValidateCacheValue(value); err != nil {
		return err
	}
	return c.wrap("set", c.rdb.Set(ctx, c.key(instance, key), value, ttl).Err())
}

// Delete removes key.
func (c *Cache) Delete(ctx context.Context, instance, key string) error {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return err
	}
	return c.wrap("delete", c.rdb.Unlink(ctx, c.key(instance, key)).Err())
}

// Incr adds delta to the counter at key.
func (c *Cache) Incr(ctx context.Context, instance, key string, delta int64) (int64, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return 0, err
	}
	n, err := c.rdb.IncrBy(ctx, c.key(instance, key), delta).Result()
	return n, c.wrap("incr", err)
}

// Push prepends value to the list at key and keeps its newest max entries,
// in one MULTI/EXEC.
func (c *Cache) Push(ctx context.Context, instance, key string, value []byte, max int) error {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return err
	}
	if err := storage.ValidateCacheValue(value); err != nil {
		return err
	}
	if max <= 0 {
		return &storage.InputError{Field: "max", Reason: "must be positive"}
	}
	k := c.key(instance, key)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, k, value)
		p.LTrim(ctx, k, 0, int64(max-1))
		return nil
	})
	return c.wrap("push", err)
}

// List returns the list at key, newest first.
func (c *Cache) List(ctx context.Context, instance, key string) ([][]byte, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return nil, err
	}
	vs, err := c.rdb.LRange(ctx, c.key(instance, key), 0, -1).Result()
	if err != nil {
		return nil, c.wrap("list", err)
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = []byte(v)
	}
	return out, nil
}

// Purge removes every key of the instance: SCAN over its namespace, UNLINK
// of each page found. It returns how many keys UNLINK removed, so a key
// that expired or was removed concurrently is not counted, and purging
// again returns 0. A key written during the purge may survive it; the
// caller purges after the session has stopped writing.
func (c *Cache) Purge(ctx context.Context, instance string) (int64, error) {
	if err := storage.ValidateName(instance); err != nil {
		return 0, err
	}
	n, err := c.unlinkMatching(ctx, escapeGlob(c.prefix)+":"+instance+":*")
	return n, c.wrap("purge "+instance, err)
}

// DropPrefix removes every key under the cache's prefix, of all instances,
// and returns how many it removed.
func (c *Cache) DropPrefix(ctx context.Context) (int64, error) {
	n, err := c.unlinkMatching(ctx, escapeGlob(c.prefix)+":*")
	return n, c.wrap("drop prefix", err)
}

// unlinkMatching walks the keyspace with SCAN MATCH and UNLINKs each page.
func (c *Cache) unlinkMatching(ctx context.Context, match string) (int64, error) {
	var removed int64
	var cursor uint64
	for {
		keys, next, err := c.rdb.Scan(ctx, cursor, match, scanCount).Result()
		if err != nil {
			return removed, fmt.Errorf("scan: %w", err)
		}
		if len(keys) > 0 {
			n, err := c.rdb.Unlink(ctx, keys...).Result()
			if err != nil {
				return removed, fmt.Errorf("unlink: %w", err)
			}
			removed += n
		}
		if next == 0 {
			return removed, nil
		}
		cursor = next
	}
}

// escapeGlob escapes the characters SCAN's MATCH treats specially, so a
// prefix matches only itself. Instance names cannot contain them.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quiet drops go-redis's own log lines (a failed dial, printed to the
// standard error): every failure reaches the caller as an error naming
// the server, and is logged there once.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once
