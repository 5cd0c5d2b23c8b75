package defaultpolicy_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

// DecideJSON decodes the traffic object only for a degraded event, the one
// kind whose rules read it: a malformed one fails that event alone.
func TestTrafficDecodedForDegradedEventsOnly(t *testing.T) {
	var p defaultpolicy.Policy
	ctx := context.Background()
	in := abi.SelfTestInput(nil)
	in.Traffic.UndecryptableSenders = abi.Counts{5, 5}
	good := in.AppendJSON(nil)
	bad := bytes.Replace(good, []byte(`"undecryptable_senders":[5,5]`), []byte(`"undecryptable_senders":[5]`), 1)
	if bytes.Equal(good, bad) {
		t.Fatal("the traffic object was not found to break")
	}
	if _, err := p.DecideJSON(ctx, bad); err != nil {
		t.Fatalf("a disconnect with a malformed traffic object: %v", err)
	}
	in.Event = abi.Event{Kind: abi.KindDegraded, Signal: abi.SignalUndecryptable}
	good = in.AppendJSON(nil)
	bad = bytes.Replace(good, []byte(`"undecryptable_senders":[5,5]`), []byte(`"undecryptable_senders":[5]`), 1)
	if _, err := p.DecideJSON(ctx, bad); err == nil {
		t.Fatal("a degraded event with a malformed traffic object decided")
	}
	out, err := p.DecideJSON(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	d, err := abi.ParseDecision(out, abi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rule != "degraded_undecryptable" {
		t.Fatalf("rule %q for 5 senders, want degraded_undecryptable: %s", d.Rule, out)
	}
}
