package host

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/storage"
)

// Host-wide webhook events.
const (
	EventPolicyReloaded     = "policy.reloaded"
	EventPolicyReloadFailed = "policy.reload_failed"
)

type reloadRequest struct {
	trigger string
	reply   chan reloadReply
}

type reloadReply struct {
	r   policy.Reload
	err error
}

// Reload runs the reload loop once and returns what it did. Triggers are
// serialised: a reload never overlaps another.
func (h *Host) Reload(ctx context.Context, trigger string) (policy.Reload, error) {
	req := reloadRequest{trigger: trigger, reply: make(chan reloadReply, 1)}
	select {
	case h.reloads <- req:
	case <-ctx.Done():
		return policy.Reload{}, ctx.Err()
	}
	select {
	case rep := <-req.reply:
		return rep.r, rep.err
	case <-ctx.Done():
		return policy.Reload{}, ctx.Err()
	}
}

// reloadLoop is the one goroutine that changes the configuration in force:
// file changes, SIGHUP and the API all come through here, in order.
func (h *Host) reloadLoop(ctx context.Context) error {
	for {
		var req reloadRequest
		select {
		case <-ctx.Done():
			return nil
		case <-h.hup:
			req = reloadRequest{trigger: "sighup"}
		case req = <-h.reloads:
		}
		r, err := h.reload(ctx, req.trigger)
		if req.reply != nil {
			req.reply <- reloadReply{r, err}
		}
	}
}

// reload: load and validate the config, compile and self-test the policy,
// swap it in, apply the webhook and log settings. Any failure keeps what
// is in force and is logged, counted, announced and shown by the API.
func (h *Host) reload(ctx context.Context, trigger string) (policy.Reload, error) {
	cfg, err := config.Load(h.opts.ConfigPath, h.opts.Environ, h.opts.Flags)
	if err != nil {
		r := h.policy.Reject(ctx, trigger, err)
		h.announce(ctx, EventPolicyReloadFailed, r)
		return r, err
	}
	spec := specOf(cfg)
	if ro := rolloutSpecOf(cfg); ro != nil {
		// Checked before anything is swapped: a bad rollout module rejects
		// the whole reload and leaves the policy in force as it is.
		canary := policy.Canary{Module: ro.Module, SHA256: ro.SHA256, Settings: ro.Settings}
		if err := h.policy.CheckCanary(ctx, canary, spec.Settings); err != nil {
			err = fmt.Errorf("config key policy.rollout.module: %w", err)
			r := h.policy.Reject(ctx, trigger, err)
			h.announce(ctx, EventPolicyReloadFailed, r)
			return r, err
		}
	}
	r, err := h.policy.Apply(ctx, spec, trigger)
	if err != nil {
		h.announce(ctx, EventPolicyReloadFailed, r)
		return r, err
	}
	if err := h.rollout.Configure(ctx, rolloutSpecOf(cfg)); err != nil {
		r = h.policy.Reject(ctx, trigger, err)
		h.announce(ctx, EventPolicyReloadFailed, r)
		return r, err
	}
	h.hooks.SetGlobal(destinationOf(cfg))
	h.hooks.SetSecret(cfg.Webhook.Secret)
	h.level.Set(parseLevel(cfg.Log.Level))
	old := h.config()
	if keys := restartKeys(old, cfg); len(keys) > 0 {
		h.log.Warn("these settings take effect after a restart", "keys", keys)
	}
	if r.Changed {
		h.announce(ctx, EventPolicyReloaded, r)
	}
	h.cfgMu.Lock()
	h.cfg = cfg
	h.cfgMu.Unlock()
	if !slices.Equal(watchPaths(cfg), watchPaths(old)) || cfg.Policy.Watch != old.Policy.Watch {
		if err := h.watch(ctx, cfg); err != nil {
			h.log.Warn("config watching is off", "error", err)
		}
	}
	return r, nil
}

// announce queues a host-wide webhook.
func (h *Host) announce(ctx context.Context, event string, r any) {
	err := h.store.InTx(ctx, func(tx storage.Tx) error {
		return h.hooks.Enqueue(ctx, tx, storage.Instance{ID: HostInstance}, event, r)
	})
	if err != nil {
		h.log.Warn("queueing webhook", "event", event, "error", err)
		return
	}
	h.hooks.Nudge()
}

// restartKeys names the changed settings a reload cannot apply: every key
// but the live ones (docs/config.md; TestConfigDocMatchesReload keeps the
// two in step).
func restartKeys(old, cur *config.Config) []string {
	var keys []string
	add := func(changed bool, key string) {
		if changed {
			keys = append(keys, key)
		}
	}
	add(old.DataDir != cur.DataDir, "data_dir")
	oldHTTP, curHTTP := old.HTTP, cur.HTTP
	oldHTTP.ShutdownTimeout = curHTTP.ShutdownTimeout // read at stop time: live
	add(oldHTTP != curHTTP, "http")
	add(old.Log.Format != cur.Log.Format, "log.format")
	oldDB, curDB := old.Database, cur.Database
	oldDB.HistoryRetention = curDB.HistoryRetention // read by each pruning run: live
	add(oldDB != curDB, "database")
	add(old.Cache != cur.Cache, "cache")
	add(old.Session != cur.Session, "session")
	add(old.Reconnect != cur.Reconnect, "reconnect")
	add(old.Cluster != cur.Cluster, "cluster")
	add(!reflect.DeepEqual(old.Traffic, cur.Traffic), "traffic")
	add(!reflect.DeepEqual(old.Proxies, cur.Proxies), "proxies")
	add(!reflect.DeepEqual(old.Events, cur.Events), "events")
	oldMsg, curMsg := old.Messages, cur.Messages
	oldMsg.Retention = curMsg.Retention // read by each pruning run: live
	add(oldMsg != curMsg, "messages")
	add(old.Policy.Timeout != cur.Policy.Timeout || old.Policy.MemoryPages != cur.Policy.MemoryPages ||
		old.Policy.PoolSize != cur.Policy.PoolSize || old.Policy.CacheDir != cur.Policy.CacheDir ||
		old.Policy.BreakerFaults != cur.Policy.BreakerFaults || old.Policy.BreakerWindow != cur.Policy.BreakerWindow,
		"policy engine (timeout, memory_pages, pool_size, cache_dir, breaker_*)")
	add(old.Webhook.Workers != cur.Webhook.Workers || old.Webhook.Timeout != cur.Webhook.Timeout ||
		old.Webhook.MaxAttempts != cur.Webhook.MaxAttempts || old.Webhook.Lease != cur.Webhook.Lease ||
		old.Webhook.ServerURL != cur.Webhook.ServerURL || old.Webhook.RetryRule != cur.Webhook.RetryRule ||
		old.Webhook.ExposeAPIKey != cur.Webhook.ExposeAPIKey,
		"webhook delivery (workers, timeout, max_attempts, lease, server_url, retry_rule, expose_apikey)")
	return keys
}

// watchPaths are the files whose change triggers a reload.
func watchPaths(cfg *config.Config) []string {
	if !cfg.Policy.Watch {
		return nil
	}
	var paths []string
	mods := []string{cfg.Policy.Module, cfg.Policy.Candidate, cfg.Policy.Rollout.Module}
	for _, o := range cfg.Policy.Overrides {
		mods = append(mods, o.Module)
	}
	for _, m := range mods {
		if m != "" && !builtin.IsBuiltin(m) {
			paths = append(paths, m)
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// watch (re)starts watching the config file and the policy files.
func (h *Host) watch(ctx context.Context, cfg *config.Config) error {
	h.cfgMu.Lock()
	defer h.cfgMu.Unlock()
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	paths := watchPaths(cfg)
	if h.opts.ConfigPath != "" && cfg.Policy.Watch {
		paths = append(paths, h.opts.ConfigPath)
	}
	if len(paths) == 0 {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	err := config.Watch(wctx, paths, func() {
		go func() {
			if _, err := h.Reload(wctx, "file"); err != nil {
				h.log.Debug("file reload rejected", "error", err)
			}
		}()
	})
	if err != nil {
		cancel()
		return fmt.Errorf("watching %v: %w", paths, err)
	}
	h.stopWatch = cancel
	return nil
}
