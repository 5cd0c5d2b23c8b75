package host_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/session/sessionstore"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// fleetSize is how many paired instances the fleet tests run;
// WAHOST_FLEET_INSTANCES overrides it.
func fleetSize(t testing.TB, def int) int {
	if v := os.Getenv("WAHOST_FLEET_INSTANCES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WAHOST_FLEET_INSTANCES=%q", v)
		}
		return n
	}
	return def
}

// fleetDB is one PostgreSQL schema a fleet shares, opened by the test too.
type fleetDB struct {
	url, schema string
	store       *postgres.Store
	db          *sql.DB
}

func newFleetDB(t testing.TB) *fleetDB {
	t.Helper()
	f := &fleetDB{url: testenv.PostgresURL(t), schema: testenv.Name("wahost_fleet_")}
	var err error
	if f.store, err = postgres.Open(context.Background(), postgres.Config{URL: f.url, Schema: f.schema}); err != nil {
		t.Fatal(err)
	}
	if f.db, _, err = f.store.SessionDB(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := f.db.Exec(`DROP SCHEMA "` + f.schema + `" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", f.schema, err)
		}
		_ = f.db.Close()
		_ = f.store.Close()
	})
	return f
}

// seed stores n instances, each paired with a device of its own on srv
// and open, as a fleet finds them after a restart.
func (f *fleetDB) seed(t testing.TB, srv *wafake.Server, n int) map[string]types.JID {
	t.Helper()
	ctx := context.Background()
	devices, err := sessionstore.Open(ctx, f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer devices.Close()
	jids := make([]types.JID, n)
	for i := range n {
		phone := wafaketest.User(t, srv, fmt.Sprintf("55119%07d", i))
		if jids[i], err = phone.Link(ctx, devices.Container().NewDevice()); err != nil {
			t.Fatal(err)
		}
	}
	// The instances appear at once, as after a restore: the hosts see
	// the whole set in one pass.
	out := make(map[string]types.JID, n)
	if err := f.store.InTx(ctx, func(tx storage.Tx) error {
		for i, jid := range jids {
			in, err := tx.CreateInstance(ctx, storage.Instance{
				Name: fmt.Sprintf("fleet-%04d", i), Status: storage.StatusOpen, OwnerJID: jid.String(),
			})
			if err != nil {
				return err
			}
			out[in.ID] = jid
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// count runs a counting query.
func (f *fleetDB) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// events lists the outbox's rows by event, stream entries and deliveries.
func (f *fleetDB) events(t testing.TB) string {
	t.Helper()
	rows, err := f.db.Query(`SELECT event, seq IS NOT NULL, count(*) FROM wahost_outbox GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out string
	for rows.Next() {
		var ev string
		var stream bool
		var n int
		if err := rows.Scan(&ev, &stream, &n); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s stream=%v: %d; ", ev, stream, n)
	}
	return out
}

// disconnects describes the disconnect history.
func (f *fleetDB) disconnects(t testing.TB) string {
	t.Helper()
	rows, err := f.db.Query(`SELECT instance_id::text, at, kind, code, message, action FROM wahost_disconnects ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, kind, msg, action string
		var at time.Time
		var code int
		if err := rows.Scan(&id, &at, &kind, &code, &msg, &action); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %d %q → %s", at.Format("15:04:05.000"), id, kind, code, msg, action))
	}
	return strings.Join(out, "; ")
}

// fleetHost is one host process of a fleet.
type fleetHost struct {
	*child
	id string
}

// fleetTTL is the lease TTL of the fleet tests: short, for quick
// takeovers, yet long enough that a machine busy with other tests renews
// every lease in time.
const fleetTTL = 5 * time.Second

func startFleetHost(t testing.TB, f *fleetDB, srv *wafake.Server, id, hooks string, extra ...any) *fleetHost {
	t.Helper()
	flags := map[string]any{
		"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey, "log.level": "error",
		"policy.cache_dir": testenv.CompileCacheDir(), "webhook.url": hooks,
		"database.url": f.url, "database.schema": f.schema,
		"cluster.enabled": true, "cluster.host_id": id, "cluster.lease_ttl": fleetTTL.String(),
		"reconnect.rate": 500, "reconnect.burst": 500,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		flags[extra[i].(string)] = extra[i+1]
	}
	return &fleetHost{child: startChildOn(t, flags, srv.Addr()), id: id}
}

// metric reads one unlabelled series from the host's /metrics.
func (h *fleetHost) metric(t testing.TB, name string) float64 {
	t.Helper()
	_, body := h.call(t, "GET", "/metrics", "")
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// fleet reads GET /v1/cluster: instance id → host id.
func (h *fleetHost) fleet(t testing.TB) (owners map[string]string, hosts int) {
	t.Helper()
	code, body := h.call(t, "GET", "/v1/cluster", "")
	var st struct {
		Hosts []struct {
			ID        string `json:"id"`
			Instances []struct {
				ID string `json:"id"`
			} `json:"instances"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(body, &st); code != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/cluster = %d %s", code, body)
	}
	owners = map[string]string{}
	for _, hi := range st.Hosts {
		for _, in := range hi.Instances {
			owners[in.ID] = hi.ID
		}
	}
	return owners, len(st.Hosts)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// eventually waits until cond holds, checking it every 50 ms, and fails
// the test with what's state after the deadline.
func eventually(t testing.TB, within time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("after %s: %s", within, what())
		case <-tick.C:
		}
	}
}

// TestFleetTakeover runs three host processes on one PostgreSQL schema
// and one fake WhatsApp server with many paired instances: every instance
// is driven by exactly one host; a host killed with SIGKILL has its
// instances taken over by the others within the lease TTL plus the rate
// limit's spread; a host paused past its TTL writes nothing more once it
// resumes; a host started later receives a share. WhatsApp's answer to a
// device connected twice, a 440 conflict, never happens while hosts come
// and go.
func TestFleetTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts host processes")
	}
	n := fleetSize(t, 300)
	srv := wafaketest.NewServer(t, wafake.Config{})
	f := newFleetDB(t)
	hooks := newReceiver(t, "")
	hosts := []*fleetHost{
		startFleetHost(t, f, srv, "host-a", hooks.URL),
		startFleetHost(t, f, srv, "host-b", hooks.URL),
		startFleetHost(t, f, srv, "host-c", hooks.URL),
	}
	eventually(t, 30*time.Second, func() string { return "not every host joined" }, func() bool {
		_, live := hosts[0].fleet(t)
		return live == 3
	})
	devices := f.seed(t, srv, n)

	// Every instance is driven, once.
	connected := func(want int, ids map[string]bool) func() bool {
		return func() bool {
			for id, jid := range devices {
				if (ids == nil || ids[id]) && srv.Connections(jid) < want {
					return false
				}
			}
			return true
		}
	}
	start := time.Now()
	eventually(t, 2*time.Minute, func() string { return fmt.Sprintf("%d connections of %d devices", srv.Accepts(), n) },
		connected(1, nil))
	t.Logf("%d instances driven by 3 hosts in %s", n, time.Since(start).Round(time.Millisecond))
	owners, _ := hosts[0].fleet(t)
	perHost := map[string]int{}
	for id, jid := range devices {
		if srv.Connections(jid) != 1 {
			t.Errorf("device of %s connected %d times, want once", id, srv.Connections(jid))
		}
		perHost[owners[id]]++
	}
	if len(owners) != n {
		t.Fatalf("GET /v1/cluster lists %d driven instances, want %d (per host %v)", len(owners), n, perHost)
	}
	t.Logf("instances per host: %v", perHost)
	names := map[string]string{}
	for _, in := range must(f.store.ListInstances(context.Background())) {
		names[in.ID] = in.Name
	}

	// Any host answers for any instance: the owner serves it, reached
	// through a proxy with the original key.
	for id, h := range owners {
		if h != hosts[1].id {
			continue
		}
		req, _ := http.NewRequest("GET", hosts[0].base+"/v1/instances/"+names[id], nil)
		req.Header.Set("apikey", apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Wahost-Host") != hosts[1].id {
			t.Fatalf("GET an instance of host-b through host-a = %d served by %q, want 200 from host-b",
				resp.StatusCode, resp.Header.Get("X-Wahost-Host"))
		}
		break
	}

	// SIGKILL: the survivors take the victim's instances over.
	victim := hosts[2]
	lost := map[string]bool{}
	for id, h := range owners {
		if h == victim.id {
			lost[id] = true
		}
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	killed := time.Now()
	eventually(t, time.Minute, func() string { return "the victim's instances were not all taken over" }, connected(2, lost))
	t.Logf("%d instances of the killed host taken over in %s (lease TTL %s)", len(lost), time.Since(killed).Round(time.Millisecond), fleetTTL)
	if c := srv.Conflicts(); c != 0 {
		t.Fatalf("%d conflicts (440) after a host was killed, want 0", c)
	}
	for id, jid := range devices {
		if want := map[bool]int{true: 2, false: 1}[lost[id]]; srv.Connections(jid) != want {
			t.Errorf("device of %s connected %d times, want %d", id, srv.Connections(jid), want)
		}
	}
	// One reconnection.success per instance taken over: none lost, none
	// written by two hosts.
	eventually(t, 20*time.Second, func() string { return "not every takeover was reported: " + f.events(t) }, func() bool {
		return f.count(t, `SELECT count(*) FROM wahost_outbox WHERE event = 'reconnection.success' AND seq IS NOT NULL`) == len(lost)
	})
	if d := f.count(t, `SELECT count(DISTINCT instance_id) FROM wahost_outbox WHERE event = 'reconnection.success' AND seq IS NOT NULL`); d != len(lost) {
		t.Fatalf("reconnection.success for %d distinct instances, want %d", d, len(lost))
	}

	// SIGSTOP past the TTL: the other host takes everything; once resumed,
	// the paused host commits nothing for what it lost.
	paused, other := hosts[1], hosts[0]
	owners, _ = other.fleet(t)
	mine := map[string]bool{}
	for id, h := range owners {
		if h == paused.id {
			mine[id] = true
		}
	}
	if err := paused.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for id, jid := range devices {
		want[id] = srv.Connections(jid)
	}
	eventually(t, time.Minute, func() string { return "the paused host's instances were not taken over" }, func() bool {
		for id := range mine {
			if srv.Connections(devices[id]) <= want[id] {
				return false
			}
		}
		return true
	})
	// Its sockets stayed open while it was stopped, so WhatsApp replaced
	// them: that is the 440 a paused process gets, the one a fleet cannot
	// prevent; the host must not act on it.
	if err := paused.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() string { return "the resumed host did not rejoin" }, func() bool {
		_, live := other.fleet(t)
		return live == 2
	})
	// It noticed: every lease it held is counted lost, none released.
	eventually(t, time.Minute, func() string { return "the resumed host did not drop its lost leases" }, func() bool {
		return paused.metric(t, "wahost_cluster_leases_lost_total") == float64(len(mine))
	})
	// A unit of work the resumed host tried for an instance it lost would
	// have recorded the drop (a disconnect row, a disconnect.decided
	// webhook): there is none, in the whole fleet.
	if d := f.count(t, `SELECT count(*) FROM wahost_disconnects`); d != 0 {
		t.Fatalf("%d disconnect rows after the pause, want 0: %s", d, f.disconnects(t))
	}
	if d := f.count(t, `SELECT count(*) FROM wahost_outbox WHERE event NOT IN ('connection.update', 'reconnection.success')`); d != 0 {
		t.Fatalf("%d webhooks other than connection.update and reconnection.success, want 0", d)
	}

	// A host started later receives a share, by hand-off.
	conflicts := srv.Conflicts()
	late := startFleetHost(t, f, srv, "host-d", hooks.URL, "cluster.forward", false)
	eventually(t, time.Minute, func() string { return "the late host received no share" }, func() bool {
		owners, _ := late.fleet(t)
		got := 0
		for _, h := range owners {
			if h == late.id {
				got++
			}
		}
		return got >= n/3-1
	})
	owners, _ = late.fleet(t)
	eventually(t, time.Minute, func() string { return "not every instance is driven after the hand-off" }, func() bool {
		owners, _ = late.fleet(t)
		return len(owners) == n
	})
	if c := srv.Conflicts(); c != conflicts {
		t.Fatalf("%d conflicts (440) during the hand-off to a new host, want none", c-conflicts)
	}
	// With cluster.forward off, a host answers 307 to the owner.
	for id, h := range owners {
		if h != other.id {
			continue
		}
		req, _ := http.NewRequest("GET", late.base+"/v1/instances/"+names[id], nil)
		req.Header.Set("apikey", apiKey)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || loc != other.base+"/v1/instances/"+names[id] {
			t.Fatalf("GET an instance of %s on a host with cluster.forward off = %d to %q, want 307 to %s",
				other.id, resp.StatusCode, loc, other.base)
		}
		break
	}
	if d := f.count(t, `SELECT count(*) FROM wahost_disconnects`); d != 0 {
		t.Fatalf("%d disconnect rows after the hand-off, want 0: %s", d, f.disconnects(t))
	}
}

// BenchmarkFleetTakeover measures the takeover of a killed host's
// instances: three host processes drive 1,000 paired instances (lease TTL
// 3s, reconnect rate 500/s), one is killed with SIGKILL, and the time runs
// until every one of its instances is connected again on the survivors.
// It reports that time and the part of it after the lease TTL.
func BenchmarkFleetTakeover(b *testing.B) {
	n := fleetSize(b, 1000)
	var total, taken time.Duration
	for range b.N {
		b.StopTimer()
		srv := wafaketest.NewServer(b, wafake.Config{})
		f := newFleetDB(b)
		hosts := []*fleetHost{
			startFleetHost(b, f, srv, "host-a", "", "cluster.lease_ttl", "3s"),
			startFleetHost(b, f, srv, "host-b", "", "cluster.lease_ttl", "3s"),
			startFleetHost(b, f, srv, "host-c", "", "cluster.lease_ttl", "3s"),
		}
		eventually(b, 30*time.Second, func() string { return "not every host joined" }, func() bool {
			_, live := hosts[0].fleet(b)
			return live == 3
		})
		devices := f.seed(b, srv, n)
		eventually(b, 5*time.Minute, func() string { return "not every instance was driven" }, func() bool {
			for _, jid := range devices {
				if srv.Connections(jid) < 1 {
					return false
				}
			}
			return true
		})
		owners, _ := hosts[0].fleet(b)
		var lost []types.JID
		for id, h := range owners {
			if h == hosts[2].id {
				lost = append(lost, devices[id])
			}
		}
		b.StartTimer()
		killed := time.Now()
		if err := hosts[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		eventually(b, 5*time.Minute, func() string { return "the killed host's instances were not all taken over" }, func() bool {
			for _, jid := range lost {
				if srv.Connections(jid) < 2 {
					return false
				}
			}
			return true
		})
		d := time.Since(killed)
		b.StopTimer()
		total += d
		taken += time.Duration(len(lost))
		if c := srv.Conflicts(); c != 0 {
			b.Fatalf("%d conflicts (440) during the takeover", c)
		}
		_ = hosts[2].cmd.Wait()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/takeover")
	b.ReportMetric(float64(taken)/float64(b.N), "instances/takeover")
	b.ReportMetric((total.Seconds()/float64(b.N))-3, "s-after-ttl/takeover")
}
