package storagetest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// sampleDisconnect fills every field so round trips check them all.
func sampleDisconnect(instanceID string, at time.Time, code int) storage.Disconnect {
	return storage.Disconnect{
		InstanceID:   instanceID,
		At:           at,
		Kind:         "stream_error",
		Code:         code,
		Raw:          `<stream:error code="515"/>`,
		Message:      "stream error: restart required",
		Cause:        "connection reset by peer",
		Decision:     json.RawMessage(`{"v":1, "action":"reconnect", "delay_ms":2000}`),
		Action:       "reconnect",
		Rule:         "transient/515",
		PolicySHA256: strings.Repeat("ab", 32),
		Fallback:     true,
		Latency:      1234567 * time.Nanosecond,
		Attempt:      2,
		Step:         1,
		JitterSeed:   4294967295,
		Shadow:       json.RawMessage(`{"v":1,"action":"wait"}`),
		ShadowSHA256: strings.Repeat("0f", 32),
		Input:        json.RawMessage(`{"v":1, "now_ms":1767225600000, "event":{"kind":"stream_error","code":515}}`),
		Proxy:        "socks5://10.0.0.7:1080",
		ProxyTo:      "http://10.0.0.8:3128",
	}
}

func testDisconnects(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "history")
	other := newInstance(t, s, "other")
	start := c.Now()

	var recorded []storage.Disconnect
	for i := 0; i < 5; i++ {
		d := sampleDisconnect(in.ID, start.Add(time.Duration(i)*time.Hour), 500+i)
		got := try(s.RecordDisconnect(ctx, d)).must(t)
		if got.ID <= 0 || (i > 0 && got.ID <= recorded[i-1].ID) {
			t.Fatalf("ID %d not increasing after %v", got.ID, recorded)
		}
		d.ID, d.At = got.ID, storage.Timestamp(d.At)
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("RecordDisconnect = %+v, want %+v", got, d)
		}
		recorded = append(recorded, got)
	}
	minimal := try(s.RecordDisconnect(ctx, storage.Disconnect{InstanceID: other.ID, At: start, Kind: "logged_out"})).must(t)
	if minimal.Decision != nil || minimal.Shadow != nil || minimal.Input != nil {
		t.Fatalf("empty JSON fields read back as %q, %q, %q; want nil", minimal.Decision, minimal.Shadow, minimal.Input)
	}

	recent := try(s.RecentDisconnects(ctx, in.ID, start.Add(2*time.Hour), 10)).must(t)
	if !sameIDs(recent, recorded[4], recorded[3], recorded[2]) {
		t.Fatalf("RecentDisconnects since +2h = %v", ids(recent))
	}
	if !reflect.DeepEqual(recent[0], recorded[4]) {
		t.Fatalf("RecentDisconnects row = %+v, want %+v", recent[0], recorded[4])
	}
	limited := try(s.RecentDisconnects(ctx, in.ID, start, 2)).must(t)
	if !sameIDs(limited, recorded[4], recorded[3]) {
		t.Fatalf("RecentDisconnects limit 2 = %v", ids(limited))
	}

	page1 := try(s.ListDisconnects(ctx, in.ID, 0, 2)).must(t)
	page2 := try(s.ListDisconnects(ctx, in.ID, page1[len(page1)-1].ID, 2)).must(t)
	page3 := try(s.ListDisconnects(ctx, in.ID, page2[len(page2)-1].ID, 2)).must(t)
	if !sameIDs(page1, recorded[4], recorded[3]) || !sameIDs(page2, recorded[2], recorded[1]) || !sameIDs(page3, recorded[0]) {
		t.Fatalf("pages = %v %v %v", ids(page1), ids(page2), ids(page3))
	}
	if all := try(s.ListDisconnects(ctx, in.ID, 0, 0)).must(t); len(all) != 5 {
		t.Fatalf("ListDisconnects default limit = %d rows, want 5", len(all))
	}

	// In bounded batches: two, then the one left, then none.
	cut := start.Add(90 * time.Minute)
	if n := try(s.PruneDisconnects(ctx, cut, 2)).must(t); n != 2 {
		t.Fatalf("PruneDisconnects limit 2 = %d, want 2", n)
	}
	if n := try(s.PruneDisconnects(ctx, cut, storage.MaxPage)).must(t); n != 1 { // two of "history", one of "other" in all
		t.Fatalf("PruneDisconnects after a batch = %d, want 1", n)
	}
	for _, bad := range []int{0, storage.MaxPage + 1} {
		_, err := s.PruneDisconnects(ctx, cut, bad)
		wantErr(t, err, storage.ErrInvalidInput)
	}
	if left := try(s.ListDisconnects(ctx, in.ID, 0, 10)).must(t); !sameIDs(left, recorded[4], recorded[3], recorded[2]) {
		t.Fatalf("after prune = %v", ids(left))
	}
}

func testDisconnectErrors(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "errors")
	ok := sampleDisconnect(in.ID, c.Now(), 401)
	tests := []struct {
		name   string
		modify func(d *storage.Disconnect)
		want   error
	}{
		{"unknown instance", func(d *storage.Disconnect) { d.InstanceID = storage.NewID() }, storage.ErrNotFound},
		{"bad instance id", func(d *storage.Disconnect) { d.InstanceID = "x" }, storage.ErrInvalidInput},
		{"zero time", func(d *storage.Disconnect) { d.At = time.Time{} }, storage.ErrInvalidInput},
		{"empty kind", func(d *storage.Disconnect) { d.Kind = "" }, storage.ErrInvalidInput},
		{"bad kind", func(d *storage.Disconnect) { d.Kind = "Logged Out" }, storage.ErrInvalidInput},
		{"bad decision", func(d *storage.Disconnect) { d.Decision = json.RawMessage("{") }, storage.ErrInvalidInput},
		{"null decision", func(d *storage.Disconnect) { d.Decision = json.RawMessage("null") }, storage.ErrInvalidInput},
		{"big decision", func(d *storage.Disconnect) { d.Decision = bigJSON(storage.MaxJSONBytes + 1) }, storage.ErrTooLarge},
		{"big raw", func(d *storage.Disconnect) { d.Raw = strings.Repeat("r", storage.MaxRawBytes+1) }, storage.ErrTooLarge},
		{"bad sha", func(d *storage.Disconnect) { d.PolicySHA256 = "ABC" }, storage.ErrInvalidInput},
		{"negative latency", func(d *storage.Disconnect) { d.Latency = -1 }, storage.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.modify(&d)
			_, err := s.RecordDisconnect(ctx, d)
			wantErr(t, err, tt.want)
		})
	}
	// A decision exactly at the limit is stored whole.
	d := ok
	d.Decision = bigJSON(storage.MaxJSONBytes)
	got := try(s.RecordDisconnect(ctx, d)).must(t)
	if len(got.Decision) != storage.MaxJSONBytes {
		t.Fatalf("decision read back with %d bytes, want %d", len(got.Decision), storage.MaxJSONBytes)
	}
	_, err := s.RecentDisconnects(ctx, "x", c.Now(), 1)
	wantErr(t, err, storage.ErrInvalidInput)
}

func ids(ds []storage.Disconnect) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func sameIDs(got []storage.Disconnect, want ...storage.Disconnect) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			return false
		}
	}
	return true
}
