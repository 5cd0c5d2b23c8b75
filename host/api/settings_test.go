package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// TestSettingsUpdatesAreNeverLost: two hosts on one PostgreSQL database
// (each its own store and API, so no lock in memory is shared) update two
// different settings of one instance at the same time, round after round;
// after every round both updates are stored.
func TestSettingsUpdatesAreNeverLost(t *testing.T) {
	ctx := context.Background()
	url, schema := testenv.PostgresURL(t), testenv.Name("wahost_test_")
	var bases []string
	var st *postgres.Store
	for range 2 {
		s, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		st = s
		hooks, err := webhook.New(webhook.Config{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		h, err := api.New(api.Config{Store: s, APIKey: "k", Webhooks: hooks})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	})
	inst, err := st.CreateInstance(ctx, storage.Instance{Name: "contended"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(base string, body map[string]any) error {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("PUT", base+"/v1/instances/contended/settings", bytes.NewReader(raw))
		req.Header.Set("apikey", "k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT settings %v = %d", body, resp.StatusCode)
		}
		return nil
	}
	for round := 1; round <= 30; round++ {
		hook := fmt.Sprintf("http://receiver.example/%d", round)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Go(func() { errs <- put(bases[0], map[string]any{"qr_limit": round}) })
		wg.Go(func() { errs <- put(bases[1], map[string]any{"webhook": map[string]any{"url": hook}}) })
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		set, err := st.Settings(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if set.QRLimit != round || set.WebhookURL != hook {
			t.Fatalf("round %d: stored qr_limit %d, webhook %q; an update was lost", round, set.QRLimit, set.WebhookURL)
		}
	}
}
