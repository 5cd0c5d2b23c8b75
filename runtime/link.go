package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/wahost/wahost/abi"
)

var i32, i64 = api.ValueTypeI32, api.ValueTypeI64

// signature is an export or import the host requires or offers.
type signature struct {
	name            string
	params, results []api.ValueType
}

// requiredExports are the functions every policy module exports.
var requiredExports = []signature{
	{abi.ExportABIVersion, nil, []api.ValueType{i32}},
	{abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
	{abi.ExportDecide, []api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// initializeExport is the optional reactor initializer.
var initializeExport = signature{abi.ExportInitialize, nil, nil}

// logImport is the optional wahost.log host function.
var logImport = signature{abi.ImportLog, []api.ValueType{i32, i32, i32}, nil}

// matches reports whether def has s's parameter and result types.
func (s signature) matches(def api.FunctionDefinition) bool {
	return slices.Equal(def.ParamTypes(), s.params) && slices.Equal(def.ResultTypes(), s.results)
}

func (s signature) String() string {
	return fmt.Sprintf("%s(%s) -> (%s)", s.name, typeNames(s.params), typeNames(s.results))
}

func typeNames(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

// checkExports verifies the required exports and their signatures, and that
// the memory's initial size fits limitPages. It reports whether the module
// exports _initialize.
func checkExports(c wazero.CompiledModule, limitPages uint32) (hasInit bool, err error) {
	mem, ok := c.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return false, fmt.Errorf("missing export %q (memory)", abi.ExportMemory)
	}
	if mem.Min() > limitPages {
		return false, fmt.Errorf("memory starts at %d pages, over the limit of %d pages", mem.Min(), limitPages)
	}
	fns := c.ExportedFunctions()
	var problems []string
	for _, want := range requiredExports {
		def, ok := fns[want.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing export %q", want.name))
		case !want.matches(def):
			problems = append(problems, fmt.Sprintf("export %q has the wrong signature, want %s", want.name, want))
		}
	}
	if def, ok := fns[initializeExport.name]; ok {
		hasInit = true
		if !initializeExport.matches(def) {
			problems = append(problems, fmt.Sprintf("export %q has the wrong signature, want %s", initializeExport.name, initializeExport))
		}
	}
	if len(problems) > 0 {
		return false, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return hasInit, nil
}

// linkImports checks the module's imports against what the host offers and
// instantiates the host modules it needs (WASI, wahost) in m's runtime.
func (m *Module) linkImports(ctx context.Context) error {
	if mems := m.compiled.ImportedMemories(); len(mems) > 0 {
		return fmt.Errorf("imports a memory; a policy must define and export its own")
	}
	var wasi, host []api.FunctionDefinition
	for _, def := range m.compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
			wasi = append(wasi, def)
		case abi.ImportModule:
			host = append(host, def)
		default:
			return fmt.Errorf("imports %s.%s; only %s.%s and %s functions are offered",
				mod, name, abi.ImportModule, abi.ImportLog, wasi_snapshot_preview1.ModuleName)
		}
	}
	if len(wasi) > 0 {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.rt); err != nil {
			return fmt.Errorf("instantiating WASI: %w", err)
		}
		offered := m.rt.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
		if err := checkImports(wasi, offered); err != nil {
			return err
		}
	}
	if len(host) > 0 {
		if err := checkImports(host, map[string]api.FunctionDefinition{}, logImport); err != nil {
			return err
		}
		_, err := m.rt.NewHostModuleBuilder(abi.ImportModule).
			NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(m.log.hostLog), logImport.params, logImport.results).
			Export(abi.ImportLog).
			Instantiate(ctx)
		if err != nil {
			return fmt.Errorf("instantiating %s: %w", abi.ImportModule, err)
		}
	}
	return nil
}

// checkImports verifies that each import is offered, by a definition in
// offered or by one of sigs, with the same signature.
func checkImports(imports []api.FunctionDefinition, offered map[string]api.FunctionDefinition, sigs ...signature) error {
	for _, def := range imports {
		mod, name, _ := def.Import()
		want := signature{name: name}
		found := false
		if o, ok := offered[name]; ok {
			want.params, want.results, found = o.ParamTypes(), o.ResultTypes(), true
		}
		for _, s := range sigs {
			if s.name == name {
				want, found = s, true
			}
		}
		if !found {
			return fmt.Errorf("imports %s.%s, which the host does not offer", mod, name)
		}
		if !want.matches(def) {
			return fmt.Errorf("imports %s.%s with the wrong signature, want %s", mod, name, want)
		}
	}
	return nil
}
