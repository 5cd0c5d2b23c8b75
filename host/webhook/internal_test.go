package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wahost/wahost/storage"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		status int
		want   verdict
	}{
		{200, verdictDelivered}, {202, verdictDelivered}, {204, verdictDelivered}, {299, verdictDelivered},
		{408, verdictRetry}, {429, verdictRetry}, {500, verdictRetry}, {502, verdictRetry}, {503, verdictRetry}, {599, verdictRetry},
		{100, verdictPermanent}, {301, verdictPermanent}, {307, verdictPermanent}, {400, verdictPermanent},
		{401, verdictPermanent}, {404, verdictPermanent}, {410, verdictPermanent}, {422, verdictPermanent},
	} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			if got := classify(c.status, RetryWahost); got != c.want {
				t.Errorf("classify(%d) = %v, want %v", c.status, got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	longest := func(d time.Duration) time.Duration { return d }
	shortest := func(time.Duration) time.Duration { return 0 }
	for _, c := range []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		jitter     func(time.Duration) time.Duration
		want       time.Duration
	}{
		{"first", 1, 0, longest, time.Second},
		{"second", 2, 0, longest, 2 * time.Second},
		{"tenth", 10, 0, longest, 512 * time.Second},
		{"capped", 11, 0, longest, 10 * time.Minute},
		{"far past the cap", 1000, 0, longest, 10 * time.Minute},
		{"zero attempt counts as first", 0, 0, longest, time.Second},
		{"full jitter reaches zero", 5, 0, shortest, 0},
		{"retry-after above backoff", 1, 2 * time.Minute, longest, 2 * time.Minute},
		{"retry-after below backoff", 11, time.Second, longest, 10 * time.Minute},
		{"retry-after floors jitter", 3, 3 * time.Second, shortest, 3 * time.Second},
		{"retry-after capped", 1, 5 * time.Hour, longest, MaxRetryAfter},
		{"jitter out of range is clamped", 1, 0, func(d time.Duration) time.Duration { return 10 * d }, time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := backoff(c.attempt, c.retryAfter, c.jitter); got != c.want {
				t.Errorf("backoff = %s, want %s", got, c.want)
			}
		})
	}
	for range 1000 {
		if d := fullJitter(time.Second); d < 0 || d > time.Second {
			t.Fatalf("fullJitter(1s) = %s", d)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"99999999999999", MaxRetryAfter},
		{"Fri, 31 Jan 2025 12:01:30 GMT", 90 * time.Second},
		{"Fri, 31 Jan 2025 11:00:00 GMT", 0},
		{"Sat, 01 Feb 2025 12:00:00 GMT", MaxRetryAfter},
		{"soon", 0},
	} {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Fri, 31 Jan 2025 12:01:30 GMT", "-1", "1e9", ""} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > MaxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %s, outside [0, %s]", s, d, MaxRetryAfter)
		}
	})
}

func signed(secret string, ts int64, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, sign(secret, ts, body))
	return h
}

func TestVerifySignature(t *testing.T) {
	now := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"event":"connection.update"}`)
	good := signed("k", now.Unix(), body)
	with := func(name, value string) http.Header {
		h := good.Clone()
		h.Set(name, value)
		return h
	}
	for _, c := range []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", "k", good, body, now, nil},
		{"clock ahead within tolerance", "k", good, body, now.Add(4 * time.Minute), nil},
		{"clock behind within tolerance", "k", good, body, now.Add(-4 * time.Minute), nil},
		{"rotated: second signature matches", "k", with(HeaderSignature, "v1=00ff, "+good.Get(HeaderSignature)), body, now, nil},
		{"wrong secret", "other", good, body, now, ErrBadSignature},
		{"body altered", "k", good, []byte(`{"event":"logout.instance"}`), now, ErrBadSignature},
		{"timestamp altered", "k", with(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), body, now, ErrBadSignature},
		{"unknown scheme", "k", with(HeaderSignature, "v2="+strings.TrimPrefix(good.Get(HeaderSignature), "v1=")), body, now, ErrBadSignature},
		{"not hex", "k", with(HeaderSignature, "v1=zz"), body, now, ErrBadSignature},
		{"replayed later", "k", good, body, now.Add(6 * time.Minute), ErrStaleTimestamp},
		{"from the future", "k", good, body, now.Add(-6 * time.Minute), ErrStaleTimestamp},
		{"timestamp not a number", "k", with(HeaderTimestamp, "yesterday"), body, now, ErrStaleTimestamp},
		{"unsigned", "k", http.Header{}, body, now, ErrNoSignature},
		{"no timestamp", "k", http.Header{HeaderSignature: good[HeaderSignature]}, body, now, ErrNoSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := VerifySignature(c.secret, c.header, c.body, c.now, 0)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("VerifySignature = %v, want %v", err, c.want)
			}
		})
	}
	if err := VerifySignature("", good, body, now, 0); err == nil {
		t.Error("VerifySignature with an empty secret succeeded")
	}
	if err := VerifySignature("k", good, body, now.Add(time.Hour), 2*time.Hour); err != nil {
		t.Errorf("VerifySignature with a wider tolerance: %v", err)
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("1738324800", "v1=abc", []byte(`{}`))
	f.Add("", "", []byte(nil))
	f.Add("-1", "v1=,v1=00", []byte("x"))
	now := time.Unix(1738324800, 0)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		_ = VerifySignature("k", h, body, now, time.Minute) // must not panic
		good := signed("k", now.Unix(), body)
		if err := VerifySignature("k", good, body, now, time.Minute); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

func TestEventName(t *testing.T) {
	for in, want := range map[string]string{
		"connection.update":    "connection.update",
		"CONNECTION_UPDATE":    "connection.update",
		"connection-update":    "connection.update",
		" QRCODE_UPDATED ":     "qrcode.updated",
		"reconnection.success": "reconnection.success",
		"policy.reload_failed": "policy.reload_failed",
		"POLICY_RELOAD_FAILED": "policy.reload_failed",
	} {
		if got := EventName(in); got != want {
			t.Errorf("EventName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRouteTarget(t *testing.T) {
	for _, c := range []struct {
		dst   Destination
		event string
		want  string
	}{
		{Destination{URL: "https://x.example/hook"}, "connection.update", "https://x.example/hook"},
		{Destination{URL: "https://x.example/hook", ByEvents: true}, "connection.update", "https://x.example/hook/connection-update"},
		{Destination{URL: "https://x.example/hook/", ByEvents: true}, "qrcode.updated", "https://x.example/hook/qrcode-updated"},
		{Destination{URL: "https://x.example", ByEvents: true}, "status.instance", "https://x.example/status-instance"},
		{Destination{URL: "https://x.example/a%2Fb?t=1", ByEvents: true}, "logout.instance", "https://x.example/a%2Fb/logout-instance?t=1"},
		{Destination{URL: "https://x.example", Events: []string{"QRCODE_UPDATED"}}, "qrcode.updated", "https://x.example"},
		{Destination{URL: "https://x.example", Events: []string{"QRCODE_UPDATED"}}, "connection.update", ""},
	} {
		r, err := compile(c.dst)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.target(c.event); got != c.want {
			t.Errorf("%+v: target(%s) = %q, want %q", c.dst, c.event, got, c.want)
		}
	}
	for _, bad := range []Destination{
		{URL: "ftp://x.example"},
		{URL: "/relative"},
		{URL: "https://x.example", Events: []string{"connection update"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
	if err := (Destination{}).Validate(); err != nil {
		t.Errorf("an empty destination is valid (disabled): %v", err)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxErrorText)
	got := clip(long + "\x00")
	if len(got) > maxErrorText || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("clip: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if err := storage.ValidateText("last_error", clip("a\x00b\xff"), storage.MaxTextBytes); err != nil {
		t.Errorf("clip output rejected by the store: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	var store storage.Store = fakeStore{}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{}},
		{"timeout not below lease", Config{Store: store, Timeout: time.Minute, Lease: time.Minute}},
		{"bad global", Config{Store: store, Global: Destination{URL: "mailto:x@example.com"}}},
		{"worker id too long", Config{Store: store, WorkerID: strings.Repeat("w", 65)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	d, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.Workers != 4 || d.cfg.Timeout != 10*time.Second || d.cfg.MaxAttempts != 10 || d.cfg.Lease != time.Minute {
		t.Errorf("defaults: %+v", d.cfg)
	}
	if err := storage.ValidateOwner("worker", d.WorkerID()); err != nil {
		t.Errorf("default worker id %q: %v", d.WorkerID(), err)
	}
}

// fakeStore is a storage.Store that New accepts; calling it panics.
type fakeStore struct{ storage.Store }

func TestEncodeKeepsURLs(t *testing.T) {
	b, err := encode(Envelope{Destination: "https://x.example/?a=1&b=2", Data: []byte(`{"u":"<a&b>"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"destination":"https://x.example/?a=1&b=2"`) ||
		!strings.Contains(string(b), `{"u":"<a&b>"}`) || strings.HasSuffix(string(b), "\n") {
		t.Errorf("encode = %s", b)
	}
}
