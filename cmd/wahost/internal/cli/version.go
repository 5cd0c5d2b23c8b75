package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/wahost/wahost/abi"
)

// Version describes the build: the module version, or the VCS revision of
// a development build, and the policy ABI it implements.
func Version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("%s (policy ABI %d.%d)", v, abi.Major, abi.Minor)
}
