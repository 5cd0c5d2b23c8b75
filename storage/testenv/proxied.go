package testenv

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/postgres"
)

// ProxiedPostgres opens a store on a fresh schema of the test database
// through a TCP proxy the test cuts and restores (the shared server is
// never stopped). The schema is dropped when the test ends.
func ProxiedPostgres(t testing.TB, now func() time.Time) (*postgres.Store, *tcpproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	p, err := tcpproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	schema := Name("wahost_test_")
	ctx := context.Background()
	st, err := postgres.Open(ctx, postgres.Config{URL: u.String(), Schema: schema, ConnectTimeout: 2 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Restore()
		db, _, err := st.SessionDB()
		if err == nil {
			_, err = db.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			_ = db.Close()
		}
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		_ = st.Close()
	})
	return st, p
}
