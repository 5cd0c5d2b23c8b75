package runtime

import (
	"context"
	"errors"

	"github.com/tetratelabs/wazero"
)

// A module with no instance can hibernate: it closes its wazero runtime,
// and with it the compiled code (the default policy's is about 10 MB of
// executable memory), and compiles again from the on-disk compilation
// cache, in tens of milliseconds, when it next needs an instance. A module
// hibernates once loaded, and when a Slot keeps it as last-known-good, so
// an idle host holds no policy code. A module swapped in to replace a live
// one is woken with one instance before the swap (Slot.Swap), so a reload
// under load does not make the next decisions wait for the wake-up. It does so only with
// Config.CacheDir: without the disk cache a wake-up would compile from
// scratch, for a second or more with a Go guest.

// hibernate closes the runtime of a module that has no instance.
func (m *Module) hibernate() {
	if m.code == nil {
		return
	}
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	if m.rt == nil || m.instances > 0 {
		return
	}
	m.closeRuntimeLocked()
}

// wakeLocked compiles the module again (from the cache) and links its
// imports if it hibernates. The caller holds codeMu.
func (m *Module) wakeLocked(ctx context.Context) error {
	if m.rt != nil {
		return nil
	}
	if m.rtClosed.Load() {
		return errPoolClosed
	}
	m.rt = wazero.NewRuntimeWithConfig(ctx, m.rtConfig)
	var err error
	if m.compiled, err = m.rt.CompileModule(ctx, m.code); err == nil {
		err = m.linkImports(ctx)
	}
	if err != nil {
		m.closeRuntimeLocked()
		return errors.Join(errors.New("waking the hibernating module"), err)
	}
	return nil
}

// instanceClosed accounts for a closed instance.
func (m *Module) instanceClosed() {
	m.codeMu.Lock()
	m.instances--
	m.codeMu.Unlock()
}

// closeRuntime closes the runtime for good.
func (m *Module) closeRuntime() {
	m.codeMu.Lock()
	defer m.codeMu.Unlock()
	m.closeRuntimeLocked()
}

// closeRuntimeLocked closes the compiled module and the runtime. Closing
// the runtime alone leaves the compiled code in the engine that the
// compilation cache shares, referenced, for the life of the process.
func (m *Module) closeRuntimeLocked() {
	if m.compiled != nil {
		_ = m.compiled.Close(context.Background())
	}
	if m.rt != nil {
		_ = m.rt.Close(context.Background())
	}
	m.rt, m.compiled = nil, nil
}

// idle closes the module's idle instances and lets it hibernate.
func (m *Module) idle() {
	m.pool.trim()
	m.hibernate()
}
