package scenario

import (
	"encoding/json"
	"fmt"

	"github.com/wahost/wahost/abi"
)

// BaseNowMS is the "now" of scenario inputs unless a case sets now_ms:
// 2026-01-01T00:00:00Z.
const BaseNowMS = 1767225600000

// Base is the input every case starts from: an open session that dropped
// once with 428, no history, jitter seed 1.
func Base() map[string]any {
	return map[string]any{
		"v":           abi.DocVersion,
		"now_ms":      BaseNowMS,
		"jitter_seed": 1,
		"instance": map[string]any{
			"id": "11111111-1111-1111-1111-111111111111", "name": "scenario",
			"phase": "open", "qr_count": 0, "qr_limit": 30, "connected_ms": 600000,
		},
		"event": map[string]any{
			"kind": "disconnected", "code": 428, "raw": "", "message": "", "cause": "none",
		},
		"attempt":  1,
		"step":     0,
		"history":  []any{},
		"settings": map[string]any{},
	}
}

// BuildInput assembles a case's input document from the file's settings,
// the file's base overlay and the case's overlay, and checks that it
// decodes as an ABI input.
func BuildInput(settings, base, overlay json.RawMessage) ([]byte, error) {
	doc := Base()
	if len(settings) > 0 {
		var s any
		if err := json.Unmarshal(settings, &s); err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
		doc["settings"] = s
	}
	for _, raw := range []json.RawMessage{base, overlay} {
		if len(raw) == 0 {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("input overlay: %w", err)
		}
		doc = merge(doc, o)
	}
	now, _ := doc["now_ms"].(float64)
	if n, ok := doc["now_ms"].(int); ok {
		now = float64(n)
	}
	if hist, ok := doc["history"].([]any); ok {
		for _, h := range hist {
			if m, ok := h.(map[string]any); ok {
				if ago, ok := m["ago_ms"].(float64); ok {
					m["at_ms"] = int64(now - ago)
					delete(m, "ago_ms")
				}
			}
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var in abi.Input
	if err := abi.DecodeInput(b, &in); err != nil {
		return nil, err
	}
	return in.AppendJSON(nil), nil
}

// merge overlays o onto dst: objects merge key by key, other values
// replace.
func merge(dst, o map[string]any) map[string]any {
	for k, v := range o {
		if vm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, vm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}
