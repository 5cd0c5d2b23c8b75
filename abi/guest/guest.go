// Package guest is the Go SDK for wahost policy authors. A policy is one
// function from input to decision; the package supplies the ABI exports
// (wahost_abi_version, wahost_alloc, wahost_decide) around it and the lean
// codec of package abi.
//
// A policy's main package registers its function in init and has an empty
// main:
//
//	func init() { guest.Handle(decide) }
//	func main() {}
//
// and is built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o policy.wasm .
//
// The same function runs natively in the author's unit tests, through Call.
//
// Every input carries a traffic object (ABI 1.2) that most decisions never
// read. A policy that reads it only for some events registers with the
// LazyTraffic option and reads it through in.LoadTraffic, which decodes it
// on first use:
//
//	func init() { guest.Handle(decide, guest.LazyTraffic()) }
//
//	func decide(in *abi.Input) (abi.Decision, error) {
//		if in.Event.Kind == abi.KindDegraded {
//			t, err := in.LoadTraffic()
//			if err != nil {
//				return abi.Decision{}, err
//			}
//			…
//		}
//		…
//	}
//
// A module built with this package reports the package's ABI version (see
// abi.Version): under 1.3 the input of an instance behind a proxy has
// in.HasProxy set and in.Proxy filled in, and a reconnect may move the
// instance to another proxy of its pool:
//
//	if in.HasProxy && in.Proxy.Failures >= 2 && in.Proxy.Healthy > 1 {
//		d.SwitchProxy = abi.SwitchNext
//	}
package guest

import (
	"errors"

	"github.com/wahost/wahost/abi"
)

// Func decides one disconnect. It returns a decision, or an error that the
// host reports as the policy's error (and answers with its fallback).
// The input and the strings in it are valid only during the call; Settings
// aliases the host's buffer, so copy it to keep it.
type Func func(in *abi.Input) (abi.Decision, error)

var (
	handler Func
	opts    options
)

// An Option changes how the SDK hands the input to the policy function.
type Option func(*options)

type options struct{ lazyTraffic bool }

// LazyTraffic leaves the input's traffic object undecoded until the policy
// function calls in.LoadTraffic (see abi.DecodeInputLazy); in.Traffic
// stays zero until then. A decision that does not read the traffic then
// does not pay for decoding it.
func LazyTraffic() Option { return func(o *options) { o.lazyTraffic = true } }

// Handle registers the policy function with its options. Call it once,
// from init.
func Handle(f Func, opt ...Option) {
	handler, opts = f, options{}
	for _, o := range opt {
		o(&opts)
	}
}

// state is the per-instance scratch space reused across calls: a module
// instance is single-threaded, and reuse keeps a decision allocation-free.
type state struct {
	in  abi.Input
	out []byte
}

var st state

// ErrNoHandler is returned when a module calls no Handle.
var ErrNoHandler = errors.New("guest: no policy function registered (call guest.Handle in init)")

// Call decodes input, runs the registered function and encodes its
// decision, exactly as wahost_decide does inside the module. It returns the
// output bytes and whether they are an error message; the bytes are valid
// until the next Call. Authors use it to test the policy natively.
func Call(input []byte) (out []byte, isErr bool) {
	d, err := run(input)
	if err != nil {
		st.out = append(st.out[:0], err.Error()...)
		return st.out, true
	}
	st.out = d.AppendJSON(st.out[:0])
	return st.out, false
}

func run(input []byte) (d abi.Decision, err error) {
	if handler == nil {
		return d, ErrNoHandler
	}
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("policy panicked: " + sprint(r))
		}
	}()
	decode := abi.DecodeInputNoCopy
	if opts.lazyTraffic {
		decode = abi.DecodeInputLazy
	}
	if err := decode(input, &st.in); err != nil {
		return d, err
	}
	d, err = handler(&st.in)
	if err != nil {
		return d, err
	}
	if d.V == 0 {
		d.V = abi.DocVersion
	}
	return d, nil
}

// Level is the severity of a log line sent to the host.
type Level int32

// The log levels of the wahost.log import.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// Log sends a line to the host's log, tagged with the module. The host
// rate-limits guest logging. Outside WebAssembly it does nothing.
func Log(level Level, msg string) { hostLog(level, msg) }

// Logf is Log with formatting. It knows fmt's most common verbs, %s, %v,
// %d, %q and %%, and formats strings, errors, Stringers, integers and
// booleans; the SDK does without package fmt, which would make every
// policy module a megabyte larger. Format anything else with fmt.Sprintf
// and call Log.
func Logf(level Level, format string, args ...any) { hostLog(level, sprintf(format, args...)) }
