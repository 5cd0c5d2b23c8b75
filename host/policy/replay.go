package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/wahost/wahost/policies/replay"
	"github.com/wahost/wahost/policies/source"
)

// ReplayResult is what a module would have decided on recorded
// disconnects, beside what was decided.
type ReplayResult struct {
	Module string `json:"module"`
	SHA256 string `json:"sha256"`
	*replay.Summary
}

// Replay loads a module on the manager's engine, apart from the slots (it
// never decides a live disconnect), decides recs again with the settings
// and limits in force, and closes it. wasm, when given, is the module's
// bytes (an upload) and name only labels it; otherwise name is read as the
// config reads policy.module (a .wasm path or a built-in).
func (m *Manager) Replay(ctx context.Context, name string, wasm []byte, recs []replay.Record) (ReplayResult, error) {
	if wasm == nil {
		src, err := source.Read(name, "")
		if err != nil {
			return ReplayResult{}, err
		}
		wasm = src.Wasm
	}
	sum := sha256.Sum256(wasm)
	res := ReplayResult{Module: name, SHA256: hex.EncodeToString(sum[:])}
	m.mu.Lock()
	limits := m.applied.limits()
	m.mu.Unlock()
	settings := *m.settings.Load()
	mod, err := m.engine.Load(ctx, "replay:"+name, wasm, source.LoadOptions(settings, limits))
	if err != nil {
		return res, fmt.Errorf("loading %s for a replay: %w", name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = mod.Close(cctx)
	}()
	res.Summary, err = replay.Run(ctx, recs, replay.ForMinor(mod.Info().ABIMinor, mod.Decide), limits)
	if err != nil {
		return res, fmt.Errorf("replaying with %s: %w", name, err)
	}
	return res, nil
}
