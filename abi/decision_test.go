package abi_test

import (
	"slices"
	"testing"

	"github.com/wahost/wahost/abi"
)

func TestDecisionDifferences(t *testing.T) {
	base := abi.Decision{V: 1, Action: abi.ActionReconnect, DelayMS: 1000, Step: 1, Rule: "a", Reason: "x"}
	same := base
	same.Rule, same.Reason = "b", "y" // not carried out: no difference
	if d := base.Differences(&same); d != nil {
		t.Fatalf("Differences = %v, want none", d)
	}
	logout := abi.Decision{V: 1, Action: abi.ActionLogout, Cleanup: abi.ScopeAll, End: abi.EndClosed}
	want := []string{"action", "delay_ms", "step", "cleanup", "end"}
	if d := base.Differences(&logout); !slices.Equal(d, want) {
		t.Fatalf("Differences = %v, want %v", d, want)
	}
}
