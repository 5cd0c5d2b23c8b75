package host

import (
	"context"
	"encoding/base64"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// qrHub keeps the QR code each instance shows now, for the API, and wakes
// requests waiting for the next one.
type qrHub struct {
	mu      sync.Mutex // guards latest, pairing, changed
	latest  map[string]api.QR
	pairing map[string]string        // the pairing code of a login by phone, until it ends
	changed map[string]chan struct{} // closed when the instance's entry changes
	now     func() time.Time
}

func newQRHub(now func() time.Time) *qrHub {
	return &qrHub{latest: make(map[string]api.QR), pairing: make(map[string]string),
		changed: make(map[string]chan struct{}), now: now}
}

func (h *qrHub) notifyLocked(id string) {
	if ch, ok := h.changed[id]; ok {
		close(ch)
		delete(h.changed, id)
	}
}

func (h *qrHub) set(id string, q api.QR) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest[id] = q
	h.notifyLocked(id)
}

func (h *qrHub) clear(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.latest, id)
	delete(h.pairing, id)
	h.notifyLocked(id)
}

// setPairing records the pairing code a login by phone showed: the QR
// codes that follow carry it (qrcode.updated's pairingCode).
func (h *qrHub) setPairing(id, code string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pairing[id] = code
}

// Pairing returns the instance's current pairing code, if any.
func (h *qrHub) Pairing(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pairing[id]
}

// Latest implements api.QRSource.
func (h *qrHub) Latest(id string) (api.QR, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, ok := h.latest[id]
	return q, ok
}

// Wait implements api.QRSource.
func (h *qrHub) Wait(ctx context.Context, id string, after int) (api.QR, error) {
	for {
		h.mu.Lock()
		q, ok := h.latest[id]
		if ok && q.Count > after {
			h.mu.Unlock()
			return q, nil
		}
		ch, ok := h.changed[id]
		if !ok {
			ch = make(chan struct{})
			h.changed[id] = ch
		}
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return api.QR{}, ctx.Err()
		}
	}
}

// pngDataURL renders code as a PNG data URL, as Evolution API returns it.
func pngDataURL(code string) string {
	png, err := qrcode.Encode(code, qrcode.Medium, 264)
	if err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// tap sits between the sessions and the executor: it passes every report
// on and keeps the QR hub current.
type tap struct {
	exec *executor.Executor
	qr   *qrHub
}

func (t tap) HandleDisconnect(ctx context.Context, id string, rep executor.Report) (executor.Result, error) {
	t.qr.clear(id)
	return t.exec.HandleDisconnect(ctx, id, rep)
}

func (t tap) HandleConnected(ctx context.Context, id string, o executor.Opened) (storage.Instance, error) {
	t.qr.clear(id)
	return t.exec.HandleConnected(ctx, id, o)
}

func (t tap) HandleQR(ctx context.Context, id string, qr executor.QRCode) (bool, error) {
	if qr.PNG == "" {
		qr.PNG = pngDataURL(qr.Code)
	}
	qr.PairingCode = t.qr.Pairing(id)
	ok, err := t.exec.HandleQR(ctx, id, qr)
	if err != nil || !ok {
		t.qr.clear(id)
		return ok, err
	}
	count := 1
	if prev, had := t.qr.Latest(id); had {
		count = prev.Count + 1
	}
	t.qr.set(id, api.QR{Code: qr.Code, PNG: qr.PNG, Count: count, At: t.qr.now().UTC()})
	return true, nil
}

func (t tap) HandlePaired(ctx context.Context, id, jid string) error {
	t.qr.clear(id)
	return t.exec.HandlePaired(ctx, id, jid)
}
