// Package backend opens the store and cache a configuration selects: the
// embedded SQLite store under the data directory unless a PostgreSQL URL is
// given, and the in-memory cache unless a Redis address is given. It is
// the one place that knows every driver package, so the composition root
// depends on it alone.
package backend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/datadir"
	"github.com/wahost/wahost/storage/memcache"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/rediscache"
	"github.com/wahost/wahost/storage/sqlite"
)

// Drivers accepted in StoreConfig.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// StoreConfig selects the database.
type StoreConfig struct {
	// Driver is DriverSQLite (the default when empty) or DriverPostgres.
	Driver string
	// URL is the PostgreSQL connection string.
	URL string
	// Schema optionally holds the tables on PostgreSQL.
	Schema string
	// MaxConns caps the PostgreSQL pool; 0 keeps the default.
	MaxConns int32
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is an open store and the source of whatsmeow's session store on
// the same database (host/session/sessionstore.Source).
type Store interface {
	storage.Store
	// SessionDB opens a database/sql handle on the store's database and
	// names its dialect ("postgres" or "sqlite").
	SessionDB() (db *sql.DB, dialect string, err error)
}

// OpenStore opens the configured store, applying migrations; the SQLite
// file is dir's DatabasePath.
func OpenStore(ctx context.Context, cfg StoreConfig, dir datadir.Dir) (Store, error) {
	switch cfg.Driver {
	case "", DriverSQLite:
		if dir.Root() == "" {
			return nil, errors.New("backend: sqlite needs a data directory")
		}
		return sqlite.Open(ctx, sqlite.Config{Path: dir.DatabasePath(), Now: cfg.Now})
	case DriverPostgres:
		if cfg.URL == "" {
			return nil, errors.New("backend: postgres needs a URL (postgres://user@host:5432/db)")
		}
		return postgres.Open(ctx, postgres.Config{URL: cfg.URL, Schema: cfg.Schema, MaxConns: cfg.MaxConns, Now: cfg.Now})
	}
	return nil, fmt.Errorf("backend: unknown store driver %q (use %q or %q)", cfg.Driver, DriverSQLite, DriverPostgres)
}

// CacheConfig selects the cache.
type CacheConfig struct {
	// RedisAddr selects Redis when set; empty means the in-memory cache.
	RedisAddr     string
	RedisUsername string
	RedisPassword string
	RedisDB       int
	// Prefix namespaces the Redis keys; empty means rediscache.DefaultPrefix.
	Prefix string
}

// OpenCache returns the configured cache. A Redis cache does not contact
// the server until used.
func OpenCache(cfg CacheConfig) (storage.Cache, error) {
	if cfg.RedisAddr == "" {
		return memcache.New(nil), nil
	}
	return rediscache.New(rediscache.Config{
		Addr: cfg.RedisAddr, Username: cfg.RedisUsername, Password: cfg.RedisPassword,
		DB: cfg.RedisDB, Prefix: cfg.Prefix,
	})
}
