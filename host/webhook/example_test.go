package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// A receiver checks the signature over the raw body, drops deliveries it
// has already processed, and answers 2xx quickly.
func ExampleVerifySignature() {
	const secret = "s3cret"
	var (
		mu   sync.Mutex
		seen = map[string]bool{} // X-Wahost-Delivery values processed; keep them a day
	)
	receive := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := webhook.VerifySignature(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 4xx: wahost does not retry
			return
		}
		id := r.Header.Get(webhook.HeaderDelivery)
		mu.Lock()
		dup := seen[id]
		seen[id] = true
		mu.Unlock()
		if dup {
			fmt.Println("duplicate", id, "dropped")
			w.WriteHeader(http.StatusOK)
			return
		}
		var env webhook.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, "not an envelope", http.StatusBadRequest)
			return
		}
		fmt.Println(env.Event, env.Instance, string(env.Data))
		w.WriteHeader(http.StatusNoContent)
	}

	// What wahost sends, signed by hand to show the scheme.
	body := `{"event":"connection.update","instance":"sales-01","data":{"state":"open"}}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	for range 2 { // delivered twice: at least once
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set(webhook.HeaderDelivery, "0194b1f2-7c1e-7a00-8000-000000000001")
		req.Header.Set(webhook.HeaderTimestamp, ts)
		req.Header.Set(webhook.HeaderSignature, "v1="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		receive(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// connection.update sales-01 {"state":"open"}
	// 204
	// duplicate 0194b1f2-7c1e-7a00-8000-000000000001 dropped
	// 200
}

// The host writes a webhook in the unit of work that changes the state it
// announces, nudges the dispatcher after the commit, and the dispatcher
// delivers it.
func ExampleDispatcher() {
	got := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env webhook.Envelope
		_ = json.Unmarshal(body, &env)
		got <- env.Event + " " + env.Instance + " " + string(env.Data)
	}))
	defer receiver.Close()

	dir, _ := os.MkdirTemp("", "webhook-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "wahost.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	d, err := webhook.New(webhook.Config{Store: store, Global: webhook.Destination{URL: receiver.URL}, Secret: "s3cret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := d.Load(ctx); err != nil { // instances' own destinations
		fmt.Println(err)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()

	inst, _ := store.CreateInstance(ctx, storage.Instance{Name: "sales-01"})
	err = store.InTx(ctx, func(tx storage.Tx) error {
		inst.Status = storage.StatusOpen
		if _, err := tx.UpdateInstance(ctx, inst); err != nil {
			return err
		}
		return d.Enqueue(ctx, tx, inst, "connection.update", map[string]any{"instance": inst.Name, "state": "open"})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Nudge()
	fmt.Println(<-got)

	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// connection.update sales-01 {"instance":"sales-01","state":"open"}
	// stopped: <nil>
}
