package cli

import (
	"context"
	"fmt"
)

func runServe(ctx context.Context, args []string, stdio Stdio) int {
	fmt.Fprintln(stdio.Err, "wahost serve: the sidecar is not part of this build yet")
	return exitFail
}
