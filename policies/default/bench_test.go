package defaultpolicy_test

import (
	"context"
	"testing"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

func BenchmarkNativeDecideJSON(b *testing.B) {
	var p defaultpolicy.Policy
	input := abi.SelfTestInput(nil).AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.DecideJSON(context.Background(), input); err != nil {
			b.Fatal(err)
		}
	}
}
