package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// proxied returns the test database URL rewritten to go through a proxy
// that the test can cut and restore.
func proxied(t *testing.T) (string, *tcpproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(testenv.PostgresURL(t))
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
	return u.String(), p
}

// eventually retries fn until it succeeds or the deadline passes.
func eventually(t *testing.T, d time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", d, err)
		}
		<-tick.C
	}
}

func TestServerUnreachable(t *testing.T) {
	t.Parallel()
	dsn, proxy := proxied(t)
	s := openTest(t, postgres.Config{URL: dsn, ConnectTimeout: 2 * time.Second})
	ctx := context.Background()
	in, err := s.CreateInstance(ctx, storage.Instance{Name: "survivor"})
	if err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"read", func() error { _, err := s.Instance(ctx, in.ID); return err }},
		{"write", func() error { _, err := s.CreateInstance(ctx, storage.Instance{Name: "lost"}); return err }},
		{"claim", func() error { _, err := s.Claim(ctx, "w", 1, time.Minute); return err }},
		{"unit of work", func() error {
			return s.InTx(ctx, func(tx storage.Tx) error { _, err := tx.Instance(ctx, in.ID); return err })
		}},
	} {
		err := op.run()
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("%s while cut: err = %v, want ErrUnavailable", op.name, err)
		}
		t.Logf("%s while cut: %v", op.name, err)
		if !strings.Contains(err.Error(), "postgres: ") || len(err.Error()) < 40 {
			t.Fatalf("%s while cut: error %q does not name the cause", op.name, err)
		}
	}

	proxy.Restore()
	eventually(t, 10*time.Second, func() error { _, err := s.Instance(ctx, in.ID); return err })
	if _, err := s.InstanceByName(ctx, "lost"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("write made while cut: err = %v, want ErrNotFound", err)
	}
}

// TestNoPartialWrite cuts the connection in the middle of a unit of work:
// nothing it wrote may survive.
func TestNoPartialWrite(t *testing.T) {
	t.Parallel()
	dsn, proxy := proxied(t)
	schema := testenv.Name("wahost_test_")
	s := openTest(t, postgres.Config{URL: dsn, Schema: schema})
	direct := openTest(t, postgres.Config{Schema: schema})
	ctx := context.Background()
	in, err := s.CreateInstance(ctx, storage.Instance{Name: "torn"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx storage.Tx) error {
		cur, err := tx.Instance(ctx, in.ID)
		if err != nil {
			return err
		}
		cur.Status, cur.Attempt = storage.StatusConnecting, 7
		if _, err := tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: in.ID, At: time.Now(), Kind: "stream_error"}); err != nil {
			return err
		}
		proxy.Cut()
		_, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: in.ID, Event: "connection.update", Payload: json.RawMessage(`{}`)})
		return err
	})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("InTx across a cut: err = %v, want ErrUnavailable", err)
	}
	proxy.Restore()

	got, err := direct.Instance(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := direct.ListDisconnects(ctx, in.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := direct.Claim(ctx, "check", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempt != 0 || got.Status != storage.StatusClose || len(hist) != 0 || len(evs) != 0 {
		t.Fatalf("partial write survived: instance %+v, %d history rows, %d events", got, len(hist), len(evs))
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	dsn, proxy := proxied(t)
	proxy.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, postgres.Config{URL: dsn, Schema: testenv.Name("wahost_test_"), ConnectTimeout: time.Second})
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Open through a cut proxy: err = %v, want ErrUnavailable naming the connect failure", err)
	}
}
