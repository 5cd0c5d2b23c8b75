// Package sessiontest runs a session.Manager in tests: the real whatsmeow
// clients against an in-process fake WhatsApp server (package wafake),
// wahost's store and whatsmeow's device store on SQLite or PostgreSQL, and
// a Recorder standing in for the executor.
package sessiontest

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sessionstore"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// Source is a store that also hands whatsmeow a database handle.
type Source interface {
	storage.Store
	sessionstore.Source
}

// Options configures an Env.
type Options struct {
	// Postgres puts the stores on PostgreSQL, in a schema of their own
	// dropped at cleanup; the default is a SQLite file in t.TempDir().
	Postgres bool
	// NoServer leaves Env.Server nil; set Manager.HTTPClient then.
	NoServer bool
	// Server configures the fake WhatsApp server.
	Server wafake.Config
	// Manager configures the Manager; Store, Devices, Logger and, unless
	// set, HTTPClient and MediaHTTPClient (to Server) are filled in.
	Manager session.Config
}

// Env is a Manager wired to a fake server, real stores and a Recorder.
// Everything is closed at cleanup, the Manager first.
type Env struct {
	Server  *wafake.Server
	Store   Source
	Devices *sessionstore.Store
	Handler *Recorder
	Manager *session.Manager
	cfg     session.Config
}

// New builds an Env and registers its cleanup.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &Env{Handler: NewRecorder()}
	if opts.Postgres {
		e.Store = openPostgres(t)
	} else {
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
		if err != nil {
			t.Fatalf("opening sqlite store: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		e.Store = st
	}
	devs, err := sessionstore.Open(ctx, e.Store, nil)
	if err != nil {
		t.Fatalf("opening whatsmeow's store: %v", err)
	}
	t.Cleanup(func() { _ = devs.Close() })
	e.Devices = devs

	if !opts.NoServer {
		if opts.Server.Logger == nil {
			opts.Server.Logger = logger.With("side", "server")
		}
		e.Server = wafaketest.NewServer(t, opts.Server)
	}
	cfg := opts.Manager
	cfg.Store, cfg.Devices, cfg.Logger = e.Store, devs, logger
	if cfg.HTTPClient == nil && e.Server != nil {
		cfg.HTTPClient = e.Server.HTTPClient()
	}
	if cfg.MediaHTTPClient == nil && e.Server != nil {
		cfg.MediaHTTPClient = e.Server.HTTPClient()
	}
	if cfg.ProxyClient == nil && e.Server != nil {
		addr := e.Server.Addr()
		cfg.ProxyClient = func(ep proxy.Endpoint) *http.Client { return proxy.HTTPClientTo(ep, addr, 30*time.Second) }
	}
	e.cfg = cfg
	e.Manager = e.newManager()
	t.Cleanup(func() {
		if err := e.Manager.Close(); err != nil {
			t.Errorf("closing the manager: %v", err)
		}
	})
	return e
}

func (e *Env) newManager() *session.Manager {
	m := session.New(e.cfg)
	m.SetHandler(e.Handler)
	return m
}

// Settle waits until every client logged in to the server has handled
// what it was sent (wafake.Server.Settle): a client closed locally then
// is not writing. It does nothing without a server.
func (e *Env) Settle(t testing.TB) {
	t.Helper()
	if e.Server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := e.Server.Settle(ctx); err != nil {
		t.Fatalf("settling the clients: %v", err)
	}
}

// Restart settles the clients, closes the Manager and starts a new one on
// the same stores, server and configuration, as a host restart does; it
// does not connect.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.Settle(t)
	if err := e.Manager.Close(); err != nil {
		t.Fatalf("closing the manager: %v", err)
	}
	e.Manager = e.newManager()
}

func openPostgres(t testing.TB) Source {
	t.Helper()
	ctx := context.Background()
	schema := testenv.Name("wahost_session_")
	st, err := postgres.Open(ctx, postgres.Config{URL: testenv.PostgresURL(t), Schema: schema})
	if err != nil {
		t.Fatalf("opening postgres store: %v", err)
	}
	t.Cleanup(func() {
		db, _, err := st.SessionDB()
		if err == nil {
			if _, err := db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`); err != nil {
				t.Errorf("dropping schema %s: %v", schema, err)
			}
			_ = db.Close()
		}
		_ = st.Close()
	})
	return st
}

// Instance creates an instance with the given status; a non-nil dev is
// linked to a new phone account first and becomes the instance's device.
func (e *Env) Instance(t testing.TB, name string, status storage.Status, phone *wafake.Phone) (storage.Instance, *store.Device) {
	t.Helper()
	ctx := context.Background()
	in := storage.Instance{Name: name, Status: status}
	var dev *store.Device
	if phone != nil {
		dev = e.Devices.Container().NewDevice()
		jid, err := phone.Link(ctx, dev)
		if err != nil {
			t.Fatalf("linking a device for %s: %v", name, err)
		}
		in.OwnerJID = jid.String()
	}
	inst, err := e.Store.CreateInstance(ctx, in)
	if err != nil {
		t.Fatalf("creating instance %s: %v", name, err)
	}
	return inst, dev
}

// DeviceRows counts, table by table, the rows whatsmeow keeps for the
// device jid (every whatsmeow table with a jid or our_jid column).
func (e *Env) DeviceRows(t testing.TB, jid types.JID) map[string]int {
	t.Helper()
	db, dialect, err := e.Store.SessionDB()
	if err != nil {
		t.Fatalf("opening a session db handle: %v", err)
	}
	defer db.Close()
	q := `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name LIKE 'whatsmeow%' AND column_name IN ('jid', 'our_jid')`
	arg := "$1"
	if dialect == sessionstore.DialectSQLite {
		q = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name LIKE 'whatsmeow%' AND p.name IN ('jid', 'our_jid')`
		arg = "?"
	}
	type col struct{ table, column string }
	var cols []col
	err = query(db, q, func(rows *sql.Rows) error {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			return err
		}
		if c.table != "whatsmeow_lid_map" { // global, kept by design
			cols = append(cols, c)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing whatsmeow tables: %v", err)
	}
	if len(cols) < 12 {
		t.Fatalf("found only %d whatsmeow tables with a device column: %v", len(cols), cols)
	}
	out := make(map[string]int, len(cols))
	for _, c := range cols {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM `+c.table+` WHERE `+c.column+` = `+arg, jid.String()).Scan(&n); err != nil {
			t.Fatalf("counting %s: %v", c.table, err)
		}
		out[c.table] += n
	}
	return out
}

func query(db *sql.DB, q string, each func(*sql.Rows) error) error {
	rows, err := db.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// testWriter sends log lines to t until the test's cleanup starts to
// finish: whatsmeow's goroutines may still log after the Manager closed,
// and t.Log after the test completed panics.
type testWriter struct {
	mu   sync.Mutex // guards done
	done bool
	t    testing.TB
}

var _ io.Writer = (*testWriter)(nil)

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() { // registered first, so it runs last
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// SetCache sets the cache the next Restart's Manager uses.
func (e *Env) SetCache(c storage.Cache) { e.cfg.Cache = c }
