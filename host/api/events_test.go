package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// sse is one event read from a stream.
type sse struct {
	ID    int64
	Event string
	Data  string
}

// streamEnv is an API server whose event stream is woken by a real
// dispatcher's commits only: the fallback poll is an hour.
type streamEnv struct {
	t     *testing.T
	url   string
	store storage.Store
	hooks *webhook.Dispatcher
	insts map[string]storage.Instance
}

func openStores(t *testing.T) map[string]func(t *testing.T) storage.Store {
	return map[string]func(t *testing.T) storage.Store{
		"sqlite": func(t *testing.T) storage.Store {
			st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"postgres": func(t *testing.T) storage.Store {
			url, schema := testenv.PostgresURL(t), testenv.Name("wahost_api_")
			st, err := postgres.Open(context.Background(), postgres.Config{URL: url, Schema: schema, MaxConns: 8})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = st.Close()
				ctx := context.Background()
				if conn, err := pgx.Connect(ctx, url); err == nil {
					_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
					_ = conn.Close(ctx)
				}
			})
			return st
		},
	}
}

func newStreamEnv(t *testing.T, st storage.Store) *streamEnv {
	t.Helper()
	hooks, err := webhook.New(webhook.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: st, APIKey: "k", Webhooks: hooks, Commits: hooks.Committed, EventPoll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.CloseStreams)
	e := &streamEnv{t: t, url: srv.URL, store: st, hooks: hooks, insts: map[string]storage.Instance{}}
	for _, name := range []string{"a", "b"} {
		inst, err := st.CreateInstance(context.Background(), storage.Instance{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		e.insts[name] = inst
	}
	return e
}

// emit commits one event for an instance as the executor does: in a unit
// of work, then Nudge. fail rolls the unit of work back instead.
func (e *streamEnv) emit(inst, event string, n int, fail bool) {
	e.t.Helper()
	boom := errors.New("rolled back")
	err := e.store.InTx(context.Background(), func(tx storage.Tx) error {
		if err := e.hooks.Enqueue(context.Background(), tx, e.insts[inst], event, map[string]int{"n": n}); err != nil {
			return err
		}
		if fail {
			return boom
		}
		return nil
	})
	if fail != errors.Is(err, boom) || (!fail && err != nil) {
		e.t.Fatalf("emit %s %d: %v", event, n, err)
	}
	e.hooks.Nudge()
}

// open connects to the stream and returns its events as they arrive.
func (e *streamEnv) open(query string, header ...string) (<-chan sse, *http.Response) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/v1/events"+query, nil)
	req.Header.Set("apikey", "k")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(chan sse, 64)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(out)
		return out, resp
	}
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.Event != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				cur.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.Data += line[6:]
			}
		}
	}()
	return out, resp
}

// next waits for the next event, failing after a deadline.
func (e *streamEnv) next(ch <-chan sse) sse {
	e.t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			e.t.Fatal("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		e.t.Fatal("no event within 10s")
	}
	return sse{}
}

// expect reads events and checks their (event, n) in order.
func (e *streamEnv) expect(ch <-chan sse, want ...string) []sse {
	e.t.Helper()
	var got []sse
	for _, w := range want {
		ev := e.next(ch)
		var env webhook.Envelope
		if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
			e.t.Fatalf("event %d: %v in %s", ev.ID, err, ev.Data)
		}
		var data struct{ N int }
		_ = json.Unmarshal(env.Data, &data)
		if g := fmt.Sprintf("%s/%s/%d", env.Instance, ev.Event, data.N); g != w {
			e.t.Fatalf("event %d = %s, want %s", ev.ID, g, w)
		}
		if env.Event != ev.Event || env.Destination != "" || env.APIKey != "" {
			e.t.Fatalf("event %d envelope = %+v", ev.ID, env)
		}
		got = append(got, ev)
	}
	return got
}

func TestEventStream(t *testing.T) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("live and resume", func(t *testing.T) { testStreamResume(t, newStreamEnv(t, open(t))) })
			t.Run("filters", func(t *testing.T) { testStreamFilters(t, newStreamEnv(t, open(t))) })
			t.Run("rolled back", func(t *testing.T) { testStreamRollback(t, newStreamEnv(t, open(t))) })
			t.Run("pruned", func(t *testing.T) { testStreamGap(t, newStreamEnv(t, open(t))) })
			t.Run("errors", func(t *testing.T) { testStreamErrors(t, newStreamEnv(t, open(t))) })
		})
	}
}

func testStreamResume(t *testing.T, e *streamEnv) {
	e.emit("a", "connection.update", 1, false) // before anyone listens
	live, _ := e.open("")                      // no position: from now on
	all, _ := e.open("?after=0")               // everything stored
	e.emit("a", "qrcode.updated", 2, false)
	e.emit("b", "connection.update", 3, false)
	e.expect(live, "a/qrcode.updated/2", "b/connection.update/3")
	got := e.expect(all, "a/connection.update/1", "a/qrcode.updated/2", "b/connection.update/3")
	// A client that saw the second event resumes after it, as EventSource
	// does with Last-Event-ID.
	resumed, _ := e.open("", "Last-Event-ID", strconv.FormatInt(got[1].ID, 10))
	e.expect(resumed, "b/connection.update/3")
	e.emit("a", "status.instance", 4, false)
	e.expect(resumed, "a/status.instance/4")
	e.expect(live, "a/status.instance/4")
}

func testStreamFilters(t *testing.T, e *streamEnv) {
	onlyA, _ := e.open("?instance=a&after=0")
	onlyEvents, _ := e.open("?event=QRCODE_UPDATED&event=status.instance,logout.instance&after=0")
	both, _ := e.open("?instance=b&event=connection.update&after=0")
	e.emit("a", "connection.update", 1, false)
	e.emit("b", "qrcode.updated", 2, false)
	e.emit("b", "connection.update", 3, false)
	e.emit("a", "status.instance", 4, false)
	e.expect(onlyA, "a/connection.update/1", "a/status.instance/4")
	e.expect(onlyEvents, "b/qrcode.updated/2", "a/status.instance/4")
	e.expect(both, "b/connection.update/3")
}

func testStreamRollback(t *testing.T, e *streamEnv) {
	ch, _ := e.open("")
	e.emit("a", "connection.update", 1, true) // rolled back, though nudged
	e.emit("a", "connection.update", 2, false)
	e.emit("b", "logout.instance", 3, true)
	e.emit("b", "connection.update", 4, false)
	got := e.expect(ch, "a/connection.update/2", "b/connection.update/4")
	if got[1].ID != got[0].ID+1 {
		t.Fatalf("ids %d, %d: a rolled-back event left a hole", got[0].ID, got[1].ID)
	}
	// From the start, too: the rolled-back events are nowhere.
	all, _ := e.open("?after=0")
	e.expect(all, "a/connection.update/2", "b/connection.update/4")
}

func testStreamGap(t *testing.T, e *streamEnv) {
	for i := 1; i <= 3; i++ {
		e.emit("a", "connection.update", i, false)
	}
	if _, err := e.store.PruneDelivered(context.Background(), time.Now().Add(time.Hour), storage.MaxPage); err != nil {
		t.Fatal(err)
	}
	ch, _ := e.open("", "Last-Event-ID", "1")
	gap := e.next(ch)
	if gap.Event != api.EventGap || gap.ID != 2 || !strings.Contains(gap.Data, "cannot be resumed") {
		t.Fatalf("first event = %+v, want %s with id 2", gap, api.EventGap)
	}
	e.expect(ch, "a/connection.update/3") // the newest entry is always kept
	e.emit("b", "connection.update", 4, false)
	e.expect(ch, "b/connection.update/4")

	// A position beyond the newest (another store) is a gap too, and the
	// stream goes on from the newest.
	far, _ := e.open("", "Last-Event-ID", "99")
	if gap := e.next(far); gap.Event != api.EventGap || gap.ID != 4 || !strings.Contains(gap.Data, "not in this store") {
		t.Fatalf("first event = %+v, want %s with id 4", gap, api.EventGap)
	}
	e.emit("a", "connection.update", 5, false)
	e.expect(far, "a/connection.update/5")
}

func testStreamErrors(t *testing.T, e *streamEnv) {
	cases := []struct {
		name, query string
		header      []string
		status      int
	}{
		{"no key", "", []string{"apikey", ""}, http.StatusUnauthorized},
		{"unknown instance", "?instance=nope", nil, http.StatusNotFound},
		{"bad position", "?after=x", nil, http.StatusBadRequest},
		{"bad last id", "", []string{"Last-Event-ID", "-1"}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		_, resp := e.open(tc.query, tc.header...)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
}
