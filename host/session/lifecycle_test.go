package session_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

func methods(calls []sessiontest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.String()
	}
	return out
}

// connectOpen connects the instance and waits until its login is
// complete on both sides.
func connectOpen(t *testing.T, env *sessiontest.Env, id string, n int) *wafake.Conn {
	t.Helper()
	if err := env.Manager.Connect(context.Background(), id); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	env.Handler.Wait(t, id, sessiontest.Connected, n)
	conn := wafaketest.Accept(t, env.Server)
	wafaketest.WaitScript(t, conn)
	return conn
}

// TestLoggedOutResetSession checks that after whatsmeow's own delete on
// LoggedOut, ResetSession removes every row left for the device, on both
// databases, and that the next login starts unpaired.
func TestLoggedOutResetSession(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			env := sessiontest.New(t, sessiontest.Options{
				Postgres: db == "postgres",
				Server:   wafake.Config{Script: wafake.Failure(401, nil)},
			})
			ctx := context.Background()
			inst, dev := env.Instance(t, "unlinked", storage.StatusOpen, wafake.NewPhone("15550001234"))
			jid := *dev.ID
			// A row whatsmeow's own delete leaves behind.
			if err := dev.PrivacyTokens.PutPrivacyTokens(ctx, store.PrivacyToken{
				User: types.NewJID("15550007777", types.DefaultUserServer), Token: []byte("token"), Timestamp: time.Now(),
			}); err != nil {
				t.Fatal(err)
			}
			if rows := env.DeviceRows(t, jid); rows["whatsmeow_device"] != 1 || rows["whatsmeow_privacy_tokens"] != 1 {
				t.Fatalf("rows before: %v", rows)
			}

			if err := env.Manager.Connect(ctx, inst.ID); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			rep := env.Handler.Report(t, inst.ID)
			if rep.Event.Kind != abi.KindLoggedOut || rep.Event.Code != 401 {
				t.Fatalf("report = %+v, want logged_out 401", rep)
			}
			wafaketest.WaitScript(t, wafaketest.Accept(t, env.Server))

			n, err := env.Manager.ResetSession(ctx, inst.ID)
			if err != nil || n < 1 {
				t.Errorf("ResetSession = %d, %v; want the privacy token at least", n, err)
			}
			for table, count := range env.DeviceRows(t, jid) {
				if count != 0 {
					t.Errorf("%s still has %d rows for %s", table, count, jid)
				}
			}
			if st := env.Manager.State(inst.ID); st.JID != "" {
				t.Errorf("State().JID = %q after the reset", st.JID)
			}

			env.Server.Enqueue(wafake.ShowQR())
			if err := env.Manager.Connect(ctx, inst.ID); err != nil {
				t.Fatalf("Connect after the reset: %v", err)
			}
			env.Handler.Wait(t, inst.ID, sessiontest.QR, 1)
			if conn := wafaketest.Accept(t, env.Server); !conn.Registering() {
				t.Error("the login after the reset is not a new registration")
			}
		})
	}
}

// TestHostDisconnect checks that a disconnect the host causes is not
// reported, whether the connection is open or still dialing.
func TestHostDisconnect(t *testing.T) {
	t.Parallel()
	t.Run("open", func(t *testing.T) {
		t.Parallel()
		env := sessiontest.New(t, sessiontest.Options{})
		inst, _ := env.Instance(t, "open", storage.StatusClose, wafake.NewPhone("15550001234"))
		first := connectOpen(t, env, inst.ID, 1)
		if err := env.Manager.Disconnect(inst.ID); err != nil {
			t.Fatalf("Disconnect: %v", err)
		}
		waitDone(t, first)
		if st := env.Manager.State(inst.ID); st.Phase != "" || st.Connected {
			t.Errorf("State() after Disconnect = %+v", st)
		}
		connectOpen(t, env, inst.ID, 2)
		want := []string{sessiontest.Connected, sessiontest.Connected}
		if got := methods(env.Handler.Calls(inst.ID)); !reflect.DeepEqual(got, want) {
			t.Errorf("calls = %v, want %v", got, want)
		}
	})
	t.Run("dialing", func(t *testing.T) {
		t.Parallel()
		dialing := make(chan struct{})
		h := wafake.HTTPClientFor(func(ctx context.Context, _, _ string) (net.Conn, error) {
			close(dialing)
			<-ctx.Done()
			return nil, ctx.Err()
		}, 0)
		env := sessiontest.New(t, sessiontest.Options{NoServer: true, Manager: session.Config{HTTPClient: h}})
		inst, _ := env.Instance(t, "dialing", storage.StatusClose, wafake.NewPhone("15550001234"))
		done := make(chan error, 1)
		go func() { done <- env.Manager.Connect(context.Background(), inst.ID) }()
		<-dialing
		if err := env.Manager.Disconnect(inst.ID); err != nil {
			t.Fatalf("Disconnect: %v", err)
		}
		if err := <-done; !errors.Is(err, session.ErrInterrupted) {
			t.Errorf("Connect = %v, want ErrInterrupted", err)
		}
		if calls := env.Handler.Calls(""); len(calls) != 0 {
			t.Errorf("calls: %v", calls)
		}
	})
}

// TestOrdering checks that an instance's calls are made one at a time and
// in order, that a slow handler neither blocks whatsmeow nor other
// instances, and that Connect of a connected instance is refused.
func TestOrdering(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{})
	a, _ := env.Instance(t, "slow", storage.StatusClose, wafake.NewPhone("15550001111"))
	b, _ := env.Instance(t, "other", storage.StatusClose, wafake.NewPhone("15550002222"))
	seen, release := make(chan struct{}), make(chan struct{})
	env.Handler.OnCall = func(c sessiontest.Call) {
		if c.Instance == a.ID && c.Method == sessiontest.Connected {
			close(seen)
			<-release
		}
	}
	ctx := context.Background()
	env.Server.Enqueue(wafake.Steps(wafake.Success(), func(ctx context.Context, _ *wafake.Conn) error {
		select { // whatsmeow may dispatch Connected after the next node's event
		case <-seen:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, wafake.StreamReplaced()))
	if err := env.Manager.Connect(ctx, a.ID); err != nil {
		t.Fatalf("Connect(a): %v", err)
	}
	env.Handler.Wait(t, a.ID, sessiontest.Connected, 1) // and blocked there
	// The server replaces a's stream while a's handler is busy: its
	// script flushes, which needs the client to go on handling nodes.
	wafaketest.WaitScript(t, wafaketest.Accept(t, env.Server))
	// Another instance is not held up by a.
	connectOpen(t, env, b.ID, 1)
	close(release)

	rep := env.Handler.Report(t, a.ID)
	if rep.Event.Kind != abi.KindStreamReplaced || rep.Phase != abi.PhaseOpen {
		t.Errorf("report = %+v, want stream_replaced while open", rep)
	}
	want := []string{sessiontest.Connected, "HandleDisconnect(stream_replaced 440 open)"}
	if got := methods(env.Handler.Calls(a.ID)); !reflect.DeepEqual(got, want) {
		t.Errorf("calls of a = %v, want %v", got, want)
	}
	if o := env.Handler.Overlaps(); len(o) > 0 {
		t.Errorf("calls overlapped for %v", o)
	}
	if err := env.Manager.Connect(ctx, b.ID); !errors.Is(err, session.ErrAlreadyConnected) {
		t.Errorf("Connect of a connected instance: %v, want ErrAlreadyConnected", err)
	}
}

// TestStartResumes checks that Start reconnects the instances stored open
// or connecting that have a device, and only those.
func TestStartResumes(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{})
	ctx := context.Background()
	open, _ := env.Instance(t, "open", storage.StatusOpen, wafake.NewPhone("15550001111"))
	connecting, _ := env.Instance(t, "connecting", storage.StatusConnecting, wafake.NewPhone("15550002222"))
	closed, _ := env.Instance(t, "closed", storage.StatusClose, wafake.NewPhone("15550003333"))
	unpaired, _ := env.Instance(t, "unpaired", storage.StatusOpen, nil)
	// An owner stored as the account JID, without the device part.
	account, accountDev := env.Instance(t, "account", storage.StatusOpen, wafake.NewPhone("15550004444"))
	account.OwnerJID = accountDev.ID.ToNonAD().String()
	if _, err := env.Store.UpdateInstance(ctx, account); err != nil {
		t.Fatal(err)
	}

	if err := env.Manager.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, inst := range []storage.Instance{open, connecting, account} {
		env.Handler.Wait(t, inst.ID, sessiontest.Connected, 1)
	}
	if got := env.Handler.Wait(t, account.ID, sessiontest.Connected, 1).Opened.JID; got != accountDev.ID.String() {
		t.Errorf("account instance opened as %s, want its device %s", got, accountDev.ID)
	}
	for range 3 {
		wafaketest.WaitScript(t, wafaketest.Accept(t, env.Server))
	}
	if n := env.Server.Accepts(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	for _, inst := range []storage.Instance{closed, unpaired} {
		if st := env.Manager.State(inst.ID); st != (session.State{}) {
			t.Errorf("%s was resumed: %+v", inst.Name, st)
		}
	}
}

// TestLogout checks that Logout unlinks the device on the server and
// deletes its rows, without a report.
func TestLogout(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{})
	ctx := context.Background()
	inst, dev := env.Instance(t, "bye", storage.StatusClose, wafake.NewPhone("15550001234"))
	jid := *dev.ID
	if err := env.Manager.Logout(ctx, inst.ID); !errors.Is(err, session.ErrNotConnected) {
		t.Errorf("Logout before connecting: %v, want ErrNotConnected", err)
	}
	conn := connectOpen(t, env, inst.ID, 1)
	if err := env.Manager.Logout(ctx, inst.ID); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, sessiontest.Timeout)
	defer cancel()
	if _, err := conn.Await(wctx, func(n *waBinary.Node) bool {
		_, ok := n.GetOptionalChildByTag("remove-companion-device")
		return n.Tag == "iq" && ok
	}); err != nil {
		t.Errorf("the server got no remove-companion-device: %v", err)
	}
	waitDone(t, conn)
	for table, count := range env.DeviceRows(t, jid) {
		if count != 0 {
			t.Errorf("%s still has %d rows for %s", table, count, jid)
		}
	}
	if calls := methods(env.Handler.Calls(inst.ID)); !reflect.DeepEqual(calls, []string{sessiontest.Connected}) {
		t.Errorf("calls = %v", calls)
	}
}

// TestRecreateAndRemove checks that a recreated client logs in again on
// the same device, and that a removed instance is forgotten; neither is
// reported.
func TestRecreateAndRemove(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{})
	ctx := context.Background()
	inst, dev := env.Instance(t, "again", storage.StatusClose, wafake.NewPhone("15550001234"))
	first := connectOpen(t, env, inst.ID, 1)
	if err := env.Manager.Recreate(ctx, inst.ID); err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	waitDone(t, first)
	second := connectOpen(t, env, inst.ID, 2)
	if second.DeviceJID() != *dev.ID {
		t.Errorf("recreated client logs in as %v, want %v", second.DeviceJID(), dev.ID)
	}
	if err := env.Manager.Remove(ctx, inst.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	waitDone(t, second)
	if st := env.Manager.State(inst.ID); st != (session.State{}) {
		t.Errorf("State() after Remove = %+v", st)
	}
	want := []string{sessiontest.Connected, sessiontest.Connected}
	if got := methods(env.Handler.Calls(inst.ID)); !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}
