package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file a process holds locked while it uses the data
// directory's database.
const LockFile = "wahost.lock"

// ErrLocked: another process uses the data directory.
var ErrLocked = errors.New("datadir: in use by another process")

// LockedError is ErrLocked with the holder's process id when it is known.
type LockedError struct {
	Path string
	PID  int // 0 when unknown
}

func (e *LockedError) Error() string {
	who := "another wahost process"
	if e.PID > 0 {
		who = fmt.Sprintf("another wahost process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is in use by %s: the SQLite store serves one host; give each host its own data_dir, or share a PostgreSQL database (database.url) with cluster.enabled", filepath.Dir(e.Path), who)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock takes the data directory for this process until the returned
// function is called or the process ends (the lock is the kernel's, so a
// killed process leaves none behind). A directory another process holds
// fails with a *LockedError.
func (d Dir) Lock() (unlock func() error, err error) {
	path := filepath.Join(d.root, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	if err := lockFile(f); err != nil {
		b, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("datadir: locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f.Close, nil
}
