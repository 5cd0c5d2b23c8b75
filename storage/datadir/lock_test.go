package datadir_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wahost/wahost/storage/datadir"
)

// TestLockHelper holds the lock in a child process until its stdin closes.
func TestLockHelper(t *testing.T) {
	dir := os.Getenv("WAHOST_LOCK_HELPER")
	if dir == "" {
		t.Skip("helper process")
	}
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lock(); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	_, _ = os.Stdin.Read(make([]byte, 1))
}

func TestLockIsExclusive(t *testing.T) {
	dir := t.TempDir()
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), "WAHOST_LOCK_HELPER="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("helper said %q, %v", buf, err)
	}

	_, err = d.Lock()
	var locked *datadir.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, datadir.ErrLocked) || locked.PID != cmd.Process.Pid ||
		!strings.Contains(err.Error(), "serves one host") {
		t.Fatalf("Lock while another process holds it: %v, want a *LockedError naming pid %d", err, cmd.Process.Pid)
	}

	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	unlock, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after the holder exited: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}
