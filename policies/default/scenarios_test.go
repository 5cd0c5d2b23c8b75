package defaultpolicy_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
	"github.com/wahost/wahost/policies/scenario"
)

type nativeDecider struct{ p defaultpolicy.Policy }

func (n *nativeDecider) Decide(ctx context.Context, input []byte) ([]byte, error) {
	return n.p.DecideJSON(ctx, input)
}

// The shipped scenarios hold for the native policy; the same files run
// against the WebAssembly build in policies/builtin and in `make test`.
func TestScenariosNative(t *testing.T) {
	files, err := filepath.Glob("scenarios/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	d := &nativeDecider{}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := scenario.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := scenario.Run(context.Background(), d, f, abi.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, fail := range res.Failures {
				t.Error(fail)
			}
			if res.Passed == 0 {
				t.Fatal("no case passed")
			}
		})
	}
}
