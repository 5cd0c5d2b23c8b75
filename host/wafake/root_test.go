package wafake_test

import (
	"errors"
	"testing"

	"go.mau.fi/whatsmeow"

	"github.com/wahost/wahost/host/wafake"
)

// TestRootKey checks the process-wide root: installed into whatsmeow, and
// fixed once used.
func TestRootKey(t *testing.T) {
	t.Parallel()
	wafake.InstallRootKey()
	if whatsmeow.WACertPubKey != wafake.RootPublicKey() {
		t.Error("whatsmeow.WACertPubKey is not the package root after InstallRootKey")
	}
	if err := wafake.SetRootKey([32]byte{1}); !errors.Is(err, wafake.ErrRootKeyInUse) {
		t.Errorf("SetRootKey after use: err = %v, want ErrRootKeyInUse", err)
	}
}
