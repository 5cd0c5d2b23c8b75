package sessionstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/session/sessionstore"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// sources opens each database wahost supports, isolated for t.
var sources = []struct {
	name string
	open func(t *testing.T) sessionstore.Source
}{
	{"sqlite", func(t *testing.T) sessionstore.Source {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) sessionstore.Source {
		schema := testenv.Name("wahost_test_")
		s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db, _, _ := s.SessionDB()
			if _, err := db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
			_ = db.Close()
			_ = s.Close()
		})
		return s
	}},
}

func TestDeleteSession(t *testing.T) {
	t.Parallel()
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ss, err := sessionstore.Open(ctx, src.open(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ss.Close() })

			victim := newDevice(t, ss, "5511900000001")
			bystander := newDevice(t, ss, "5511900000002")
			fill(t, victim)
			fill(t, bystander)
			jid := *victim.ID
			counts := rowsPerTable(t, ss, jid)
			for table, n := range rowsPerTable(t, ss, *bystander.ID) {
				if n == 0 {
					t.Fatalf("the test does not fill %s: extend fill", table)
				}
			}

			got, err := ss.DeleteSession(ctx, jid)
			if err != nil {
				t.Fatal(err)
			}
			if got.Device != 1 || got.PrivacyTokens != 1 {
				t.Fatalf("DeleteSession = %+v, want the device and one privacy token", got)
			}
			for table, n := range rowsPerTable(t, ss, jid) {
				if n != 0 {
					t.Errorf("%s: %d rows of the deleted device left (had %d)", table, n, counts[table])
				}
			}
			for table, n := range rowsPerTable(t, ss, *bystander.ID) {
				if n == 0 {
					t.Errorf("%s: rows of another device deleted", table)
				}
			}
			if dev, err := ss.Container().GetDevice(ctx, jid); err != nil || dev != nil {
				t.Fatalf("GetDevice after delete = %v, %v", dev, err)
			}
			if again, err := ss.DeleteSession(ctx, jid); err != nil || again != (sessionstore.Deleted{}) {
				t.Fatalf("second DeleteSession = %+v, %v; want nothing deleted", again, err)
			}
		})
	}
}

// TestDeleteAfterWhatsmeow covers a device whatsmeow already deleted itself
// (as on LoggedOut): its ID is gone, and the privacy tokens are left for
// DeleteSession, called with the JID captured beforehand.
func TestDeleteAfterWhatsmeow(t *testing.T) {
	t.Parallel()
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ss, err := sessionstore.Open(ctx, src.open(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ss.Close() })
			dev := newDevice(t, ss, "5511900000003")
			fill(t, dev)
			jid := *dev.ID
			if err := dev.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			if dev.ID != nil {
				t.Fatal("whatsmeow kept the device ID")
			}
			if n := rowsPerTable(t, ss, jid)["whatsmeow_privacy_tokens"]; n != 1 {
				t.Fatalf("privacy tokens after whatsmeow's delete = %d, want the 1 it misses", n)
			}
			got, err := ss.DeleteSession(ctx, jid)
			if err != nil || got.Device != 0 || got.PrivacyTokens != 1 {
				t.Fatalf("DeleteSession = %+v, %v", got, err)
			}
			for table, n := range rowsPerTable(t, ss, jid) {
				if n != 0 {
					t.Errorf("%s: %d rows left", table, n)
				}
			}
		})
	}
}

func TestDeleteSessionEmptyJID(t *testing.T) {
	t.Parallel()
	ss, err := sessionstore.Open(context.Background(), sources[0].open(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	if _, err := ss.DeleteSession(context.Background(), types.EmptyJID); err == nil {
		t.Fatal("DeleteSession of the empty JID succeeded")
	}
}

// newDevice saves a paired-looking device for user.
func newDevice(t *testing.T, ss *sessionstore.Store, user string) *store.Device {
	t.Helper()
	dev := ss.Container().NewDevice()
	jid := types.NewADJID(user, 0, 12)
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte("details"),
		AccountSignatureKey: randBytes(32),
		AccountSignature:    randBytes(64),
		DeviceSignature:     randBytes(64),
	}
	if err := dev.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dev
}

// fill writes at least one row into every per-device table.
func fill(t *testing.T, dev *store.Device) {
	t.Helper()
	ctx := context.Background()
	peer := types.NewJID("5511988887777", types.DefaultUserServer)
	group := types.NewJID("120363000000000000", types.GroupServer)
	var key32 [32]byte
	var hash [128]byte
	steps := []struct {
		name string
		run  func() error
	}{
		{"identity", func() error { return dev.Identities.PutIdentity(ctx, peer.String()+":0", key32) }},
		{"session", func() error { return dev.Sessions.PutSession(ctx, peer.String()+":0", []byte("s")) }},
		{"pre-key", func() error { _, err := dev.PreKeys.GenOnePreKey(ctx); return err }},
		{"sender key", func() error { return dev.SenderKeys.PutSenderKey(ctx, group.String(), peer.String(), []byte("k")) }},
		{"app state key", func() error {
			return dev.AppStateKeys.PutAppStateSyncKey(ctx, []byte("id"), store.AppStateSyncKey{Data: []byte("d"), Fingerprint: []byte("f"), Timestamp: 1})
		}},
		{"app state version", func() error { return dev.AppState.PutAppStateVersion(ctx, "regular", 1, hash) }},
		{"mutation macs", func() error {
			return dev.AppState.PutAppStateMutationMACs(ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: randBytes(32), ValueMAC: randBytes(32)}})
		}},
		{"contact", func() error { _, _, err := dev.Contacts.PutPushName(ctx, peer, "Peer"); return err }},
		{"chat settings", func() error { return dev.ChatSettings.PutMutedUntil(ctx, peer, time.Now().Add(time.Hour)) }},
		{"message secret", func() error { return dev.MsgSecrets.PutMessageSecret(ctx, peer, peer, "MSGID", []byte("secret")) }},
		{"privacy token", func() error {
			return dev.PrivacyTokens.PutPrivacyTokens(ctx, store.PrivacyToken{User: peer, Token: []byte("t"), Timestamp: time.Now()})
		}},
		{"buffered event", func() error { return dev.EventBuffer.PutBufferedEvent(ctx, key32, []byte("p"), time.Now()) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("fill %s: %v", s.name, err)
		}
	}
}

// rowsPerTable counts, in every whatsmeow table with a jid or our_jid
// column, the rows belonging to device jid.
func rowsPerTable(t *testing.T, ss *sessionstore.Store, jid types.JID) map[string]int {
	t.Helper()
	db := sessionDB(t, ss)
	q := `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name LIKE 'whatsmeow%' AND column_name IN ('jid', 'our_jid')`
	if dialect(ss) == sessionstore.DialectSQLite {
		q = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name LIKE 'whatsmeow%' AND p.name IN ('jid', 'our_jid')`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(cols) < 12 {
		t.Fatalf("found only %d whatsmeow tables with a device column: %v", len(cols), cols)
	}
	out := make(map[string]int, len(cols))
	for _, c := range cols {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM `+c.table+` WHERE `+c.column+` = `+arg(ss), jid.String()).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", c.table, err)
		}
		out[c.table] = n
	}
	return out
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sessionDB(t *testing.T, ss *sessionstore.Store) *sql.DB { return sessionstore.DB(ss) }

func dialect(ss *sessionstore.Store) string { return sessionstore.Dialect(ss) }

func arg(ss *sessionstore.Store) string {
	if dialect(ss) == sessionstore.DialectPostgres {
		return "$1"
	}
	return "?"
}

// TestSecondSchema opens whatsmeow's store in two PostgreSQL schemas of one
// database, one after the other: the second must get its own tables even
// though the first's are visible in information_schema.
func TestSecondSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		ss, err := sessionstore.Open(ctx, sources[1].open(t), nil)
		if err != nil {
			t.Fatalf("schema %d: %v", i, err)
		}
		newDevice(t, ss, "551190000001"+string(rune('0'+i)))
		_ = ss.Close()
	}
}
