// Package memcache is the in-memory implementation of storage.Cache, the
// default when no Redis is configured. It follows the Redis cache's
// semantics (TTL kept by Incr and Push, Set clearing it, wrong-type errors)
// so the host behaves the same on either.
package memcache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/wahost/wahost/storage"
)

// sweepEvery is the number of writes between sweeps of expired entries,
// which bounds the memory held by keys nobody reads again.
const sweepEvery = 1024

// Cache is a storage.Cache in process memory.
type Cache struct {
	mu     sync.Mutex // guards spaces, writes
	spaces map[string]map[string]*entry
	writes int

	now func() time.Time
}

var _ storage.Cache = (*Cache)(nil)

type entry struct {
	value   []byte
	list    [][]byte // non-nil for list entries
	expires time.Time
}

func (e *entry) expired(now time.Time) bool { return !e.expires.IsZero() && !now.Before(e.expires) }

// New returns an empty cache reading time from now (time.Now when nil).
func New(now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{spaces: make(map[string]map[string]*entry), now: now}
}

// getLocked returns the live entry at key, dropping an expired one.
func (c *Cache) getLocked(instance, key string) *entry {
	space := c.spaces[instance]
	e := space[key]
	if e != nil && e.expired(c.now()) {
		delete(space, key)
		return nil
	}
	return e
}

// putLocked stores e at key and sweeps now and then.
func (c *Cache) putLocked(instance, key string, e *entry) {
	space := c.spaces[instance]
	if space == nil {
		space = make(map[string]*entry)
		c.spaces[instance] = space
	}
	space[key] = e
	if c.writes++; c.writes%sweepEvery == 0 {
		c.sweepLocked()
	}
}

func (c *Cache) sweepLocked() {
	now := c.now()
	for inst, space := range c.spaces {
		for k, e := range space {
			if e.expired(now) {
				delete(space, k)
			}
		}
		if len(space) == 0 {
			delete(c.spaces, inst)
		}
	}
}

// Get returns the value of key, or ErrNotFound.
func (c *Cache) Get(_ context.Context, instance, key string) ([]byte, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.getLocked(instance, key)
	if e == nil {
		return nil, storage.NotFound("cache key", key)
	}
	if e.list != nil {
		return nil, wrongType(key)
	}
	return append([]byte{}, e.value...), nil
}

// Set stores value under key.
func (c *Cache) Set(_ context.Context, instance, key string, value []byte, ttl time.Duration) error {
	if err := checkWrite(instance, key, value, ttl); err != nil {
		return err
	}
	e := &entry{value: append([]byte{}, value...)}
	if ttl > 0 {
		e.expires = c.now().Add(ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(instance, key, e)
	return nil
}

func checkWrite(instance, key string, value []byte, ttl time.Duration) error {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return err
	}
	if ttl < 0 {
		return &storage.InputError{Field: "ttl", Reason: "negative"}
	}
	return storage.ValidateCacheValue(value)
}

// Delete removes key.
func (c *Cache) Delete(_ context.Context, instance, key string) error {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.spaces[instance], key)
	return nil
}

// Incr adds delta to the counter at key.
func (c *Cache) Incr(_ context.Context, instance, key string, delta int64) (int64, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.getLocked(instance, key)
	var n int64
	if e != nil {
		if e.list != nil {
			return 0, wrongType(key)
		}
		v, err := strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, &storage.InputError{Field: "key", Reason: key + " does not hold an integer"}
		}
		n = v
	}
	if delta > 0 && n > (1<<63-1)-delta || delta < 0 && n < (-1<<63)-delta {
		return 0, &storage.InputError{Field: "delta", Reason: "counter would overflow"}
	}
	n += delta
	if e == nil {
		e = &entry{}
		c.putLocked(instance, key, e)
	}
	e.value = strconv.AppendInt(e.value[:0], n, 10)
	return n, nil
}

// Push prepends value to the list at key and keeps its newest max entries.
func (c *Cache) Push(_ context.Context, instance, key string, value []byte, max int) error {
	if err := checkWrite(instance, key, value, 0); err != nil {
		return err
	}
	if max <= 0 {
		return &storage.InputError{Field: "max", Reason: "must be positive"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.getLocked(instance, key)
	if e == nil {
		e = &entry{list: [][]byte{}}
		c.putLocked(instance, key, e)
	} else if e.list == nil {
		return wrongType(key)
	}
	list := append([][]byte{append([]byte{}, value...)}, e.list...)
	if len(list) > max {
		list = list[:max]
	}
	e.list = list
	return nil
}

// List returns the list at key, newest first.
func (c *Cache) List(_ context.Context, instance, key string) ([][]byte, error) {
	if err := storage.ValidateCacheKey(instance, key); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.getLocked(instance, key)
	if e == nil {
		return [][]byte{}, nil
	}
	if e.list == nil {
		return nil, wrongType(key)
	}
	out := make([][]byte, len(e.list))
	for i, v := range e.list {
		out[i] = append([]byte{}, v...)
	}
	return out, nil
}

// Purge removes every key of the instance and returns how many were live.
func (c *Cache) Purge(_ context.Context, instance string) (int64, error) {
	if err := storage.ValidateName(instance); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var n int64
	for _, e := range c.spaces[instance] {
		if !e.expired(now) {
			n++
		}
	}
	delete(c.spaces, instance)
	return n, nil
}

// Close drops every entry.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spaces = make(map[string]map[string]*entry)
	return nil
}

func wrongType(key string) error {
	return &storage.InputError{Field: "key", Reason: key + " holds a value of another kind"}
}
