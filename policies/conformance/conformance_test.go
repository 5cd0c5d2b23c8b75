package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/conformance"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

type native struct{ p defaultpolicy.Policy }

func (n *native) Decide(ctx context.Context, in []byte) ([]byte, error) {
	return n.p.DecideJSON(ctx, in)
}

func TestDefaultPolicyConforms(t *testing.T) {
	rep := conformance.Run(context.Background(), &native{}, abi.Settings(`{}`), abi.Limits{})
	if rep.Cases < 100 {
		t.Fatalf("suite has only %d cases", rep.Cases)
	}
	for _, v := range rep.Violations {
		t.Error(v)
	}
}

// A policy that misbehaves on some inputs is caught, with the case named.
type flaky struct{ calls int }

func (f *flaky) Decide(_ context.Context, in []byte) ([]byte, error) {
	f.calls++
	switch {
	case strings.Contains(string(in), `"kind_from_a_future_minor"`):
		return []byte(`{"v":1,"action":"panic"}`), nil
	case strings.Contains(string(in), `"code":999`):
		if f.calls%2 == 0 {
			return []byte(`{"v":1,"action":"reconnect","delay_ms":1}`), nil
		}
	}
	return []byte(`{"v":1,"action":"reconnect","delay_ms":2}`), nil
}

func TestViolationsAreReported(t *testing.T) {
	rep := conformance.Run(context.Background(), &flaky{}, nil, abi.Limits{})
	var unknownAction, nondeterministic bool
	for _, v := range rep.Violations {
		unknownAction = unknownAction || strings.Contains(v.Reason, "unknown action")
		nondeterministic = nondeterministic || strings.Contains(v.Reason, "not deterministic")
	}
	if !unknownAction || !nondeterministic || rep.OK() {
		t.Fatalf("violations not reported: %v", rep.Violations)
	}
}
