package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchDebounce is how long Watch waits after the last change before it
// reports: editors and deploy tools write a file in several steps.
const WatchDebounce = 250 * time.Millisecond

// Watch calls changed after any of paths is written, created, renamed or
// removed, until ctx ends. It watches the directories, not the files, so
// that a file replaced by rename (editors, `kubectl` updating a mounted
// ConfigMap through its ..data symlink) is still seen. Changes that come
// in a burst are reported once, WatchDebounce after the last.
func Watch(ctx context.Context, paths []string, changed func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching config: %w", err)
	}
	files := make(map[string]bool)
	dirs := make(map[string]bool)
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			_ = w.Close()
			return fmt.Errorf("watching %s: %w", p, err)
		}
		files[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			_ = w.Close()
			return fmt.Errorf("watching %s: %w", d, err)
		}
	}
	go func() {
		defer w.Close()
		var fire <-chan time.Time
		var timer *time.Timer
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				// A ConfigMap swaps its ..data symlink: any event in a
				// watched directory whose name starts with ".." counts.
				name := filepath.Base(ev.Name)
				if !files[ev.Name] && (len(name) < 2 || name[:2] != "..") {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(WatchDebounce)
				} else {
					timer.Reset(WatchDebounce)
				}
				fire = timer.C
			case <-fire:
				fire = nil
				changed()
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return nil
}
