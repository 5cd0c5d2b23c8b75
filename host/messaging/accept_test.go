package messaging_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

func asInput(err error, target **messaging.InputError) bool { return errors.As(err, target) }

func TestNormalizeJID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, err string }{
		{"+55 (11) 99999-0001", peer, ""},
		{"5511999990001", peer, ""},
		{"5511999990001@s.whatsapp.net", peer, ""},
		{"5511999990001:7@s.whatsapp.net", peer, ""},
		{"5511999990001@c.us", peer, ""},
		{"120363012345678901@g.us", "120363012345678901@g.us", ""},
		{"", "", "empty"},
		{"12345", "", "not a phone number"},
		{"abc@s.whatsapp.net", "", "not a user JID"},
		{"x@broadcast", "", "unsupported JID server"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := messaging.NormalizeJID("to", tc.in)
			if tc.err != "" {
				var ie *messaging.InputError
				if !errors.As(err, &ie) || ie.Field != "to" || !strings.Contains(ie.Reason, tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func TestAcceptRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		out   message.Outgoing
		field string
	}{
		{"bad number", text("12", "x"), "to"},
		{"empty text", text(peer, ""), "text"},
		{"media without source", message.Outgoing{To: peer, Kind: message.KindImage, Media: &message.Media{}}, "image"},
		{"media with both", message.Outgoing{To: peer, Kind: message.KindAudio, Media: &message.Media{URL: "https://x/a", Data: []byte("a")}}, "audio"},
		{"media ftp", message.Outgoing{To: peer, Kind: message.KindVideo, Media: &message.Media{URL: "ftp://x/a"}}, "video"},
		{"location out of range", message.Outgoing{To: peer, Kind: message.KindLocation, Location: &message.Location{Latitude: 91}}, "location"},
		{"reaction without id", message.Outgoing{To: peer, Kind: message.KindReaction, Target: &message.Key{}}, "reaction"},
		{"edit without text", message.Outgoing{To: peer, Kind: message.KindEdit, Target: &message.Key{ID: "3EB0X"}}, "edit"},
		{"unknown kind", message.Outgoing{To: peer, Kind: "poll"}, "kind"},
		{"bad mention", message.Outgoing{To: peer, Kind: message.KindText, Text: "x", Mentions: []string{"x"}}, "mentions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Accept(ctx, e.inst.ID, tc.out, "")
			var ie *messaging.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("error %v, want an InputError on %s", err, tc.field)
			}
		})
	}
	if list, _ := e.store.ListMessages(ctx, storage.MessageQuery{InstanceID: e.inst.ID}); len(list) != 0 {
		t.Fatalf("refused messages were stored: %d", len(list))
	}

	for _, tc := range []struct {
		name   string
		owner  string
		status storage.Status
		ok     bool
	}{
		{"never paired", "", storage.StatusClose, false},
		{"logged out", "5511000000001:3@s.whatsapp.net", storage.StatusClose, false},
		{"reconnecting", "5511000000001:3@s.whatsapp.net", storage.StatusConnecting, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.store.InTx(ctx, func(tx storage.Tx) error {
				inst, err := tx.Instance(ctx, e.inst.ID)
				if err != nil {
					return err
				}
				inst.OwnerJID, inst.Status = tc.owner, tc.status
				_, err = tx.UpdateInstance(ctx, inst)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.Accept(ctx, e.inst.ID, text(peer, "x"), "")
			var se *messaging.StateError
			if tc.ok != (err == nil) || (!tc.ok && (!errors.As(err, &se) || se.State != string(tc.status))) {
				t.Fatalf("accept: %v", err)
			}
		})
	}
	if _, err := e.svc.Accept(ctx, "00000000-0000-0000-0000-00000000beef", text(peer, "x"), ""); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown instance: %v", err)
	}
}
