package storagetest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testInstances(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	created := try(s.CreateInstance(ctx, storage.Instance{Name: "beta", OwnerJID: "5511@s.whatsapp.net"})).must(t)
	if err := storage.ValidateID("id", created.ID); err != nil {
		t.Fatalf("created ID %q: %v", created.ID, err)
	}
	if created.Status != storage.StatusClose || !created.CreatedAt.Equal(c.Now()) || !created.UpdatedAt.Equal(c.Now()) {
		t.Fatalf("created = %+v, want status close and timestamps %v", created, c.Now())
	}
	explicitID := storage.NewID()
	alpha := try(s.CreateInstance(ctx, storage.Instance{ID: explicitID, Name: "alpha", Status: storage.StatusConnecting})).must(t)
	if alpha.ID != explicitID {
		t.Fatalf("alpha.ID = %q, want %q", alpha.ID, explicitID)
	}

	got := try(s.Instance(ctx, created.ID)).must(t)
	if !reflect.DeepEqual(got, created) {
		t.Fatalf("Instance = %+v, want %+v", got, created)
	}
	byName := try(s.InstanceByName(ctx, "beta")).must(t)
	if !reflect.DeepEqual(byName, created) {
		t.Fatalf("InstanceByName = %+v, want %+v", byName, created)
	}
	list := try(s.ListInstances(ctx)).must(t)
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "beta" {
		t.Fatalf("ListInstances = %+v, want alpha, beta", list)
	}

	c.Advance(time.Second)
	at := c.Now().Add(-time.Minute)
	upd := created
	upd.Status = storage.StatusOpen
	upd.ProfileName = "Ana ☕"
	upd.ProfilePictureURL = "https://pps.whatsapp.net/v/t61/x.jpg"
	upd.QRCount, upd.Attempt, upd.Step = 3, 2, 1
	upd.DisconnectionAt = &at
	upd.DisconnectionReasonCode = 428
	upd.DisconnectionObject = json.RawMessage(`{"z": 1, "a": [true, null]}`)
	upd.Name = "ignored"
	upd.CreatedAt = time.Time{}
	stored := try(s.UpdateInstance(ctx, upd)).must(t)
	if stored.Name != "beta" || !stored.CreatedAt.Equal(created.CreatedAt) || !stored.UpdatedAt.Equal(c.Now()) {
		t.Fatalf("UpdateInstance changed immutable fields or missed UpdatedAt: %+v", stored)
	}
	if string(stored.DisconnectionObject) != `{"z": 1, "a": [true, null]}` {
		t.Fatalf("DisconnectionObject = %s, want it byte for byte", stored.DisconnectionObject)
	}
	reread := try(s.Instance(ctx, created.ID)).must(t)
	if !reflect.DeepEqual(reread, stored) {
		t.Fatalf("re-read = %+v, want %+v", reread, stored)
	}
	if reread.DisconnectionAt == nil || !reread.DisconnectionAt.Equal(storage.Timestamp(at)) {
		t.Fatalf("DisconnectionAt = %v, want %v", reread.DisconnectionAt, at)
	}

	// A pending reconnect is kept with its due time and step.
	due := c.Now().Add(time.Hour + 123*time.Microsecond)
	reread.Reconnect = &storage.PendingReconnect{Due: due, Step: 2}
	pending := try(s.UpdateInstance(ctx, reread)).must(t)
	if pending.Reconnect == nil || !pending.Reconnect.Due.Equal(storage.Timestamp(due)) || pending.Reconnect.Step != 2 {
		t.Fatalf("Reconnect = %+v, want due %v step 2", pending.Reconnect, due)
	}
	if got := try(s.Instance(ctx, created.ID)).must(t); !reflect.DeepEqual(got, pending) {
		t.Fatalf("re-read = %+v, want %+v", got, pending)
	}

	// Clearing the disconnection fields stores NULLs again.
	reread.DisconnectionAt, reread.DisconnectionObject, reread.Reconnect = nil, nil, nil
	cleared := try(s.UpdateInstance(ctx, reread)).must(t)
	if cleared.DisconnectionAt != nil || cleared.DisconnectionObject != nil || cleared.Reconnect != nil {
		t.Fatalf("cleared = %+v", cleared)
	}

	if err := s.DeleteInstance(ctx, alpha.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Instance(ctx, alpha.ID)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.DeleteInstance(ctx, alpha.ID), storage.ErrNotFound)
}

func testInstanceErrors(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	base := newInstance(t, s, "taken")
	tests := []struct {
		name string
		in   storage.Instance
		want error
	}{
		{"duplicate name", storage.Instance{Name: "taken"}, storage.ErrDuplicateName},
		{"duplicate id", storage.Instance{ID: base.ID, Name: "other"}, storage.ErrInvalidInput},
		{"empty name", storage.Instance{Name: ""}, storage.ErrInvalidName},
		{"dot", storage.Instance{Name: "."}, storage.ErrInvalidName},
		{"dot dot", storage.Instance{Name: ".."}, storage.ErrInvalidName},
		{"slash", storage.Instance{Name: "a/b"}, storage.ErrInvalidName},
		{"space", storage.Instance{Name: "a b"}, storage.ErrInvalidName},
		{"colon", storage.Instance{Name: "a:b"}, storage.ErrInvalidName},
		{"glob", storage.Instance{Name: "a*"}, storage.ErrInvalidName},
		{"unicode", storage.Instance{Name: "café"}, storage.ErrInvalidName},
		{"too long", storage.Instance{Name: strings.Repeat("x", storage.MaxNameLen+1)}, storage.ErrInvalidName},
		{"bad id", storage.Instance{ID: "not-a-uuid", Name: "x"}, storage.ErrInvalidInput},
		{"bad status", storage.Instance{Name: "x", Status: "Open!"}, storage.ErrInvalidInput},
		{"negative count", storage.Instance{Name: "x", QRCount: -1}, storage.ErrInvalidInput},
		{"big profile", storage.Instance{Name: "x", ProfileName: strings.Repeat("p", storage.MaxTextBytes+1)}, storage.ErrTooLarge},
		{"NUL", storage.Instance{Name: "x", ProfileName: "a\x00b"}, storage.ErrInvalidInput},
		{"bad UTF-8", storage.Instance{Name: "x", OwnerJID: "\xff"}, storage.ErrInvalidInput},
		{"bad object", storage.Instance{Name: "x", DisconnectionObject: json.RawMessage(`{"a":`)}, storage.ErrInvalidInput},
		{"big object", storage.Instance{Name: "x", DisconnectionObject: bigJSON(storage.MaxJSONBytes + 1)}, storage.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateInstance(ctx, tt.in)
			wantErr(t, err, tt.want)
		})
	}
	// The longest valid name is accepted as is, never truncated.
	long := strings.Repeat("n", storage.MaxNameLen)
	if got := newInstance(t, s, long); got.Name != long {
		t.Fatalf("Name = %q", got.Name)
	}

	_, err := s.Instance(ctx, storage.NewID())
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.Instance(ctx, "nope")
	wantErr(t, err, storage.ErrInvalidInput)
	_, err = s.InstanceByName(ctx, "missing")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.InstanceByName(ctx, "../etc")
	wantErr(t, err, storage.ErrInvalidName)
	_, err = s.UpdateInstance(ctx, storage.Instance{ID: storage.NewID(), Name: "x", Status: storage.StatusOpen})
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.UpdateInstance(ctx, storage.Instance{ID: base.ID, Name: "taken"})
	wantErr(t, err, storage.ErrInvalidInput)
}

// bigJSON returns a JSON string document of exactly n bytes.
func bigJSON(n int) json.RawMessage {
	return json.RawMessage(`"` + strings.Repeat("a", n-2) + `"`)
}

func testSettings(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "settings")
	got := try(s.Settings(ctx, in.ID)).must(t)
	if !reflect.DeepEqual(got, storage.InstanceSettings{}) {
		t.Fatalf("Settings of a new instance = %+v, want zero", got)
	}
	want := storage.InstanceSettings{
		WebhookURL:      "https://example.com/hook?x=1",
		WebhookEvents:   []string{"connection.update", "qrcode.updated"},
		WebhookByEvents: true,
		PolicyOverride:  "strict",
		QRLimit:         30,
		WebhookHeaders:  map[string]string{"X-Token": "abc", "jwt_key": "secret"},
		WebhookBase64:   true,
		WebhookDisabled: true,
		TokenSHA256:     strings.Repeat("ab", 32),
		Token:           "B5E8-TOKEN",
		RabbitMQ:        storage.SinkSettings{Enabled: true, Events: []string{"messages.upsert"}},
		NATS:            storage.SinkSettings{Enabled: true},
		Proxy:           "socks5://alice:s3cret@10.0.0.7:1080",
	}
	if err := s.PutSettings(ctx, in.ID, want); err != nil {
		t.Fatal(err)
	}
	want.UpdatedAt = c.Now()
	if got := try(s.Settings(ctx, in.ID)).must(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("Settings = %+v, want %+v", got, want)
	}
	c.Advance(time.Minute)
	replaced := storage.InstanceSettings{QRLimit: 5}
	if err := s.PutSettings(ctx, in.ID, replaced); err != nil {
		t.Fatal(err)
	}
	replaced.UpdatedAt = c.Now()
	if got := try(s.Settings(ctx, in.ID)).must(t); !reflect.DeepEqual(got, replaced) {
		t.Fatalf("Settings after replace = %+v, want %+v", got, replaced)
	}

	tests := []struct {
		name string
		s    storage.InstanceSettings
		want error
	}{
		{"relative url", storage.InstanceSettings{WebhookURL: "/hook"}, storage.ErrInvalidInput},
		{"ftp url", storage.InstanceSettings{WebhookURL: "ftp://x/y"}, storage.ErrInvalidInput},
		{"long url", storage.InstanceSettings{WebhookURL: "https://x/" + strings.Repeat("a", storage.MaxURLBytes)}, storage.ErrTooLarge},
		{"bad event", storage.InstanceSettings{WebhookEvents: []string{"Connection Update"}}, storage.ErrInvalidInput},
		{"too many events", storage.InstanceSettings{WebhookEvents: make([]string, storage.MaxEvents+1)}, storage.ErrInvalidInput},
		{"negative limit", storage.InstanceSettings{QRLimit: -1}, storage.ErrInvalidInput},
		{"bad sink event", storage.InstanceSettings{NATS: storage.SinkSettings{Events: []string{"a b"}}}, storage.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, s.PutSettings(ctx, in.ID, tt.s), tt.want)
		})
	}
	wantErr(t, s.PutSettings(ctx, storage.NewID(), storage.InstanceSettings{}), storage.ErrNotFound)
	_, err := s.Settings(ctx, storage.NewID())
	wantErr(t, err, storage.ErrNotFound)
}
