package policy

import (
	"context"
	"fmt"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

// Canary is a module a rollout gives to a share of the instances.
type Canary struct {
	Module, SHA256 string
	// Settings are the canary's settings; empty means the active ones.
	Settings abi.Settings
}

// Promotion is a canary promoted to active for every instance while the
// config still names another module.
type Promotion struct {
	Module   string       `json:"module"`
	SHA256   string       `json:"sha256"`
	Settings abi.Settings `json:"settings,omitempty"`
	// Over is the digest of the module the config names; once the config
	// names another module, that one wins, and once it names the
	// promoted one the promotion is over.
	Over string `json:"config_sha256"`
}

// LoadCanary compiles c, self-tests it and swaps it into the canary slot,
// and returns its digest and the settings it runs with. A failure leaves
// the slot as it was.
func (m *Manager) LoadCanary(ctx context.Context, c Canary) (sha string, settings abi.Settings, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	settings = c.Settings
	if len(settings) == 0 {
		settings = m.Settings()
	}
	if _, err := abi.ParseSettings(settings); err != nil {
		return "", nil, fmt.Errorf("rollout settings: %w", err)
	}
	src, err := source.Read(c.Module, c.SHA256)
	if err != nil {
		return "", nil, fmt.Errorf("rollout module: %w", err)
	}
	if cur := m.canary.Stats().Current; cur != nil && cur.SHA256 == src.SHA256 && m.canarySettings == string(settings) {
		return src.SHA256, settings, nil
	}
	mod, err := m.engine.Load(ctx, "rollout:"+c.Module, src.Wasm, source.LoadOptions(settings, m.applied.limits()))
	if err != nil {
		return "", nil, fmt.Errorf("rollout module: %w", err)
	}
	if _, err := m.canary.Swap(mod); err != nil {
		_ = mod.Close(ctx)
		return "", nil, fmt.Errorf("rollout module: %w", err)
	}
	m.canarySettings = string(settings)
	return src.SHA256, settings, nil
}

// CheckCanary compiles c and self-tests it without swapping anything,
// so that a reload can reject a bad rollout module before it changes the
// policy in force. Empty settings are checked as settings, the settings
// the reload is about to apply. A canary the slot already runs passes.
func (m *Manager) CheckCanary(ctx context.Context, c Canary, settings abi.Settings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Settings) > 0 {
		settings = c.Settings
	}
	if len(settings) == 0 {
		settings = abi.Settings("{}")
	}
	if _, err := abi.ParseSettings(settings); err != nil {
		return fmt.Errorf("rollout settings: %w", err)
	}
	src, err := source.Read(c.Module, c.SHA256)
	if err != nil {
		return fmt.Errorf("rollout module: %w", err)
	}
	if cur := m.canary.Stats().Current; cur != nil && cur.SHA256 == src.SHA256 && m.canarySettings == string(settings) {
		return nil
	}
	mod, err := m.engine.Load(ctx, "rollout:"+c.Module, src.Wasm, source.LoadOptions(settings, m.applied.limits()))
	if err != nil {
		return fmt.Errorf("rollout module: %w", err)
	}
	return mod.Close(ctx)
}

// CanaryPolicy returns the canary slot as a policy.
func (m *Manager) CanaryPolicy() disconnect.Policy { return slotPolicy{m.canary} }

// CanaryStatus returns the canary slot's state.
func (m *Manager) CanaryStatus() SlotStatus { return slotStatus(m.canary.Stats()) }

// Promote makes c the active policy of every instance, with its settings,
// until the config names another module than it names now.
func (m *Manager) Promote(ctx context.Context, c Canary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	over := ""
	if cur := m.active.Stats().Current; cur != nil {
		over = cur.SHA256
	}
	if m.promoted != nil {
		over = m.promoted.Over
	}
	settings := c.Settings
	if len(settings) == 0 {
		settings = m.applied.Settings
	}
	p := &Promotion{Module: c.Module, SHA256: c.SHA256, Settings: settings, Over: over}
	if err := m.swapActive(ctx, p.Module, p.SHA256, settings); err != nil {
		return fmt.Errorf("promoting %s: %w", c.Module, err)
	}
	m.promoted = p
	return nil
}

// Promoted returns the promotion in force, or nil.
func (m *Manager) Promoted() *Promotion {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.promoted == nil {
		return nil
	}
	p := *m.promoted
	return &p
}

// swapActive loads a module into the active slot with settings.
func (m *Manager) swapActive(ctx context.Context, module, sha string, settings abi.Settings) error {
	src, err := source.Read(module, sha)
	if err != nil {
		return err
	}
	if cur := m.active.Stats().Current; cur != nil && cur.SHA256 == src.SHA256 && string(settings) == string(*m.settings.Load()) {
		return nil
	}
	mod, err := m.engine.Load(ctx, module, src.Wasm, source.LoadOptions(settings, m.applied.limits()))
	if err != nil {
		return err
	}
	if _, err := m.active.Swap(mod); err != nil {
		_ = mod.Close(ctx)
		return err
	}
	s := settings
	m.settings.Store(&s)
	return nil
}

// promotedSpec returns spec with the promotion in force applied: while
// the config names the module the promotion replaced, the promoted module
// stays active; a config naming the promoted module, or a third one, ends
// the promotion.
func (m *Manager) promotedSpec(spec Spec, configSHA string) Spec {
	p := m.promoted
	if p == nil {
		return spec
	}
	if configSHA != p.Over {
		m.promoted = nil
		return spec
	}
	spec.Module, spec.SHA256 = p.Module, p.SHA256
	if len(p.Settings) > 0 {
		spec.Settings = p.Settings
	}
	return spec
}

var _ disconnect.Policy = slotPolicy{(*runtime.Slot)(nil)}
