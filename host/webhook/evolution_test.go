package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

func TestUserJID(t *testing.T) {
	for in, want := range map[string]string{
		"5511999999999:12@s.whatsapp.net": "5511999999999@s.whatsapp.net",
		"5511999999999@s.whatsapp.net":    "5511999999999@s.whatsapp.net",
		"120363000000000000@g.us":         "120363000000000000@g.us",
		"":                                "",
	} {
		if got := webhook.UserJID(in); got != want {
			t.Errorf("UserJID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEvolutionDelivery checks what a receiver written for Evolution API
// relies on: the instance's custom headers, jwt_key as a Bearer HS256
// token, the exposed apikey, sender without the device, and nothing of
// it on the global destination or while the instance's webhook is
// disabled.
func TestEvolutionDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		clk := clock.NewFake(t0)
		rs := newRecStore(open(t, clk.Now))
		rc := newReceiver(t, nil)
		d, err := webhook.New(webhook.Config{Store: rs, Clock: clk, Logger: testLogger(t), ExposeAPIKey: true,
			Global: webhook.Destination{URL: rc.URL + "/global"}})
		if err != nil {
			t.Fatal(err)
		}
		set := storage.InstanceSettings{WebhookURL: rc.URL + "/own", WebhookByEvents: true, Token: "TOKEN-1",
			WebhookHeaders: map[string]string{"X-Receiver-Key": "k1", webhook.JWTHeader: "jwt-secret"}}
		inst := newInstance(t, rs, "evo", set)
		inst.OwnerJID = "5511900000000:7@s.whatsapp.net"
		if err := d.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		start(t, d)
		enqueue(t, rs, d, inst, "CONNECTION_UPDATE", connUpdate{Instance: inst.Name, State: "open", StatusReason: 200})
		hits := rc.waitHits(t, "both deliveries", func(h []hit) bool { return len(h) == 2 })
		var own, global hit
		for _, h := range hits {
			if h.Path == "/own/connection-update" {
				own = h
			} else {
				global = h
			}
		}
		if own.Path == "" || global.Path != "/global" {
			t.Fatalf("paths %q and %q, want /own/connection-update and /global", own.Path, global.Path)
		}
		if got := own.Header.Get("X-Receiver-Key"); got != "k1" {
			t.Errorf("X-Receiver-Key = %q, want k1", got)
		}
		if own.Header.Get(webhook.JWTHeader) != "" {
			t.Errorf("jwt_key sent as a header")
		}
		checkJWT(t, own.Header.Get("Authorization"), "jwt-secret", t0)
		if global.Header.Get("X-Receiver-Key") != "" || global.Header.Get("Authorization") != "" {
			t.Errorf("the global destination got the instance's headers: %v", global.Header)
		}
		for _, h := range hits {
			if h.Env.Sender != "5511900000000@s.whatsapp.net" {
				t.Errorf("sender = %q, want the JID without its device", h.Env.Sender)
			}
			var raw map[string]any
			_ = json.Unmarshal(h.Body, &raw)
			if raw["apikey"] != "TOKEN-1" {
				t.Errorf("apikey = %v, want the instance's token", raw["apikey"])
			}
		}

		set.WebhookDisabled = true
		d.SetInstance(inst.ID, set)
		enqueue(t, rs, d, inst, "QRCODE_UPDATED", map[string]any{})
		hits = rc.waitHits(t, "the global delivery", func(h []hit) bool { return len(h) == 3 })
		if hits[2].Path != "/global" {
			t.Errorf("with the instance's webhook disabled, an event went to %s", hits[2].Path)
		}
	})
}

func checkJWT(t *testing.T, auth, key string, now time.Time) {
	t.Helper()
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		t.Fatalf("Authorization = %q, want Bearer <JWT>", auth)
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if got, _ := base64.RawURLEncoding.DecodeString(parts[2]); !hmac.Equal(got, mac.Sum(nil)) {
		t.Errorf("JWT signature does not verify with the jwt_key")
	}
	var head struct{ Alg, Typ string }
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(b, &head); err != nil || head.Alg != "HS256" {
		t.Errorf("JWT header %s, want alg HS256", b)
	}
	var claims struct {
		IAT, EXP    int64
		App, Action string
	}
	b, _ = base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.IAT != now.Unix() || claims.EXP != now.Unix()+600 || claims.App != "evolution" || claims.Action != "webhook" {
		t.Errorf("JWT claims %s, want iat now, exp +600s, app evolution, action webhook", b)
	}
}

// TestEvolutionRetryRule: under the evolution rule a 409 is retried and a
// 422 is not; under wahost's a 409 fails at once.
func TestEvolutionRetryRule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*testing.T, func() time.Time) storage.Store) {
		for _, c := range []struct {
			rule    string
			status  int
			retried bool
		}{
			{webhook.RetryEvolution, http.StatusConflict, true},
			{webhook.RetryEvolution, http.StatusUnprocessableEntity, false},
			{webhook.RetryWahost, http.StatusConflict, false},
		} {
			clk := clock.NewFake(t0)
			rs := newRecStore(open(t, clk.Now))
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, h hit) int { return c.status })
			d, err := webhook.New(webhook.Config{Store: rs, Clock: clk, Logger: testLogger(t), RetryRule: c.rule,
				Jitter: noJitter})
			if err != nil {
				t.Fatal(err)
			}
			inst := newInstance(t, rs, "retry-"+c.rule+"-"+http.StatusText(c.status)[:3], storage.InstanceSettings{WebhookURL: rc.URL})
			if err := d.Load(t.Context()); err != nil {
				t.Fatal(err)
			}
			start(t, d)
			enqueue(t, rs, d, inst, "CONNECTION_UPDATE", connUpdate{Instance: inst.Name})
			op := "failed"
			if c.retried {
				op = "retry"
			}
			rs.waitCall(t, op, func(cl call) bool { return cl.Op == op && strings.Contains(cl.LastError, strconv.Itoa(c.status)) })
		}
	})
	if err := webhook.CheckRetryRule("sometimes"); err == nil {
		t.Error("CheckRetryRule accepted an unknown rule")
	}
}
