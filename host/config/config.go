// Package config loads wahost's configuration: built-in defaults, then a
// YAML file, then WAHOST_* environment variables, then command-line flags,
// each overriding the one before; then it validates the result with errors
// that name the key. It is the only package that imports koanf.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Config is the whole configuration. docs/config.md documents every key.
type Config struct {
	// DataDir holds the SQLite database, the compile cache and the
	// instances' files.
	DataDir   string    `koanf:"data_dir"`
	HTTP      HTTP      `koanf:"http"`
	Log       Log       `koanf:"log"`
	Database  Database  `koanf:"database"`
	Cache     Cache     `koanf:"cache"`
	Webhook   Webhook   `koanf:"webhook"`
	Session   Session   `koanf:"session"`
	Reconnect Reconnect `koanf:"reconnect"`
	Policy    Policy    `koanf:"policy"`
	Messages  Messages  `koanf:"messages"`
	Events    Events    `koanf:"events"`
	Traffic   Traffic   `koanf:"traffic"`
	Proxies   Proxies   `koanf:"proxies"`
	Cluster   Cluster   `koanf:"cluster"`
}

// Events configures the message brokers events are published to besides
// webhooks.
type Events struct {
	RabbitMQ Broker `koanf:"rabbitmq"`
	NATS     Broker `koanf:"nats"`
}

// Broker configures one broker sink; an empty URL turns it off.
type Broker struct {
	// URL is amqp://user:pass@host:5672/vhost or nats://host:4222.
	URL string `koanf:"url"`
	// Exchange is RabbitMQ's global exchange; Stream the JetStream stream.
	Exchange string `koanf:"exchange"`
	Stream   string `koanf:"stream"`
	// Prefix names the global queues or subjects "{prefix}.{event}".
	Prefix string `koanf:"prefix"`
	// Global publishes every instance's events to the global target;
	// Events filters them (empty means all).
	Global bool     `koanf:"global"`
	Events []string `koanf:"events"`
	// Declare declares the exchanges, queues and bindings (RabbitMQ) or
	// the stream (NATS) wahost publishes to.
	Declare bool `koanf:"declare"`
	// Mandatory (RabbitMQ) refuses a message no queue is bound for.
	Mandatory bool `koanf:"mandatory"`
}

// HTTP configures the admin API.
type HTTP struct {
	Addr string `koanf:"addr"`
	// APIKey guards every route but health and metrics. Empty: a key is
	// generated on first start and kept in the data directory.
	APIKey string `koanf:"api_key"`
	// MaxBody caps request bodies, in bytes.
	MaxBody int64 `koanf:"max_body"`
	// ShutdownTimeout bounds the whole stop: requests, sessions, work in
	// flight and the webhook drain.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Database selects where state and history live.
type Database struct {
	// URL is a postgres:// URL; empty means SQLite under data_dir.
	URL string `koanf:"url"`
	// Schema optionally holds the tables on PostgreSQL.
	Schema   string `koanf:"schema"`
	MaxConns int32  `koanf:"max_conns"`
	// HistoryRetention is how long disconnect history and delivered
	// webhooks are kept.
	HistoryRetention time.Duration `koanf:"history_retention"`
}

// Cache selects the cache that cleanups purge.
type Cache struct {
	// RedisAddr (host:port) selects Redis; empty means in memory.
	RedisAddr     string `koanf:"redis_addr"`
	RedisUsername string `koanf:"redis_username"`
	RedisPassword string `koanf:"redis_password"`
	RedisDB       int    `koanf:"redis_db"`
	Prefix        string `koanf:"prefix"`
}

// Webhook configures the global webhook and delivery.
type Webhook struct {
	// URL receives every instance's events; empty means none.
	URL string `koanf:"url"`
	// Events filters what URL receives; empty means all.
	Events []string `koanf:"events"`
	// ByEvents appends the event name to URL (/connection-update).
	ByEvents bool `koanf:"by_events"`
	// Secret signs every request (X-Wahost-Signature).
	Secret string `koanf:"secret"`
	// ServerURL is the envelope's server_url.
	ServerURL   string        `koanf:"server_url"`
	Workers     int           `koanf:"workers"`
	Timeout     time.Duration `koanf:"timeout"`
	MaxAttempts int           `koanf:"max_attempts"`
	// Lease is how long a claimed event is reserved for the host that
	// claimed it: after a crash, its undelivered events go out again once
	// the lease ends. Longer than Timeout.
	Lease time.Duration `koanf:"lease"`
	// RetryRule is which answers are retried: "wahost" (408, 429, 5xx)
	// or "evolution" (everything but 400, 401, 403, 404, 422).
	RetryRule string `koanf:"retry_rule"`
	// ExposeAPIKey sends an instance's own token as the envelope's apikey
	// (Evolution API's AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES); tokens
	// are then kept in clear beside their hash.
	ExposeAPIKey bool `koanf:"expose_apikey"`
	// FailedRetention is how long failed deliveries are kept (listed and
	// redeliverable) before the hourly maintenance prunes them.
	FailedRetention time.Duration `koanf:"failed_retention"`
}

// Session configures the WhatsApp sessions.
type Session struct {
	// QRLimit is how many QR codes an instance shows before it is
	// refused; an instance's own setting overrides it.
	QRLimit int `koanf:"qr_limit"`
	// InactivityTimeout closes a login nobody completes.
	InactivityTimeout time.Duration `koanf:"inactivity_timeout"`
	// ConnectTimeout bounds dialing WhatsApp.
	ConnectTimeout time.Duration `koanf:"connect_timeout"`
	// KeepAliveLimit drops a session whose keepalive pings went
	// unanswered this long; the policy decides what next.
	KeepAliveLimit time.Duration `koanf:"keepalive_limit"`
}

// Reconnect paces reconnects across all instances.
type Reconnect struct {
	// Rate is reconnects per second, Burst how many may start at once.
	Rate  float64 `koanf:"rate"`
	Burst int     `koanf:"burst"`
}

// Messages configures the messaging service: the outbound queue, media
// and retention.
type Messages struct {
	// Rate is the messages per second one instance sends at most.
	Rate float64 `koanf:"rate"`
	// Jitter is the most a random extra delay adds before each send.
	Jitter time.Duration `koanf:"jitter"`
	// TTL is how long a message waits for its session before it fails
	// "expired".
	TTL time.Duration `koanf:"ttl"`
	// MaxMedia bounds a message's media, given or fetched, in bytes.
	MaxMedia int64 `koanf:"max_media"`
	// MediaTimeout bounds fetching a media URL.
	MediaTimeout time.Duration `koanf:"media_timeout"`
	// SendTimeout bounds one send and its server acknowledgement.
	SendTimeout time.Duration `koanf:"send_timeout"`
	// RetryDelay is the wait after a send that failed for a passing
	// reason.
	RetryDelay time.Duration `koanf:"retry_delay"`
	// Retention is how long messages are kept.
	Retention time.Duration `koanf:"retention"`
	// HistoryLimit bounds the messages stored from one history batch.
	HistoryLimit int `koanf:"history_limit"`
	// HistorySync downloads the history WhatsApp offers after a pairing
	// (messages.set, chats.set, contacts.set).
	HistorySync bool `koanf:"history_sync"`
}

// Policy configures the disconnect policy.
type Policy struct {
	// Module is a .wasm path or a built-in name such as builtin:default.
	Module string `koanf:"module"`
	// SHA256, if set, pins the module: it must have this digest.
	SHA256 string `koanf:"sha256"`
	// Candidate, if set, is decided in shadow beside Module.
	Candidate       string `koanf:"candidate"`
	CandidateSHA256 string `koanf:"candidate_sha256"`
	// Settings are passed to the policy in every input.
	Settings map[string]any `koanf:"settings"`
	// Timeout bounds one decision.
	Timeout time.Duration `koanf:"timeout"`
	// MemoryPages caps an instance's memory, in 64 KiB pages.
	MemoryPages uint32 `koanf:"memory_pages"`
	// PoolSize bounds the instances of a module.
	PoolSize int `koanf:"pool_size"`
	// MaxDelay is the longest reconnect delay a decision may ask for.
	MaxDelay time.Duration `koanf:"max_delay"`
	// CacheDir holds compiled modules; default <data_dir>/compiled.
	CacheDir string `koanf:"cache_dir"`
	// BreakerFaults faults within BreakerWindow revert to the last module
	// that was healthy.
	BreakerFaults int           `koanf:"breaker_faults"`
	BreakerWindow time.Duration `koanf:"breaker_window"`
	// Watch reloads when the config file or the module file changes.
	Watch bool `koanf:"watch"`
	// Overrides are named policies an instance can choose instead of
	// Module (its settings' "policy").
	Overrides map[string]PolicyOverride `koanf:"overrides"`
	// Rollout moves a new module onto a growing share of the instances.
	Rollout Rollout `koanf:"rollout"`
}

// PolicyOverride is a named per-instance policy.
type PolicyOverride struct {
	Module   string         `koanf:"module"`
	SHA256   string         `koanf:"sha256"`
	Settings map[string]any `koanf:"settings"`
}

// Default returns the embedded defaults: SQLite under ./data, the in-memory
// cache, the built-in default policy, the API on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir:  "./data",
		HTTP:     HTTP{Addr: "127.0.0.1:8080", MaxBody: 1 << 20, ShutdownTimeout: 25 * time.Second},
		Log:      Log{Level: "info", Format: "text"},
		Database: Database{HistoryRetention: 30 * 24 * time.Hour},
		Webhook: Webhook{
			Events: []string{}, Workers: 4, Timeout: 10 * time.Second, MaxAttempts: 10, Lease: time.Minute,
			RetryRule: "wahost", FailedRetention: 30 * 24 * time.Hour,
		},
		Session: Session{
			QRLimit: 30, InactivityTimeout: 5 * time.Minute, ConnectTimeout: 20 * time.Second,
			KeepAliveLimit: 5 * time.Minute,
		},
		Reconnect: Reconnect{Rate: 50, Burst: 100},
		Cluster:   Cluster{LeaseTTL: 15 * time.Second, Forward: true},
		Messages: Messages{
			Rate: 1, Jitter: time.Second, TTL: 24 * time.Hour, MaxMedia: 16 << 20, MediaTimeout: 30 * time.Second,
			SendTimeout: time.Minute, RetryDelay: 30 * time.Second, Retention: 7 * 24 * time.Hour, HistoryLimit: 1000,
		},
		Events: Events{
			RabbitMQ: Broker{Exchange: "evolution_exchange", Events: []string{}, Declare: true},
			NATS:     Broker{Stream: "WAHOST_EVENTS", Events: []string{}, Declare: true},
		},
		Policy: Policy{
			Module:        "builtin:default",
			Settings:      map[string]any{},
			Timeout:       500 * time.Millisecond,
			MemoryPages:   512,
			PoolSize:      4,
			MaxDelay:      7 * 24 * time.Hour,
			BreakerFaults: 5,
			BreakerWindow: time.Minute,
			Watch:         true,
			Overrides:     map[string]PolicyOverride{},
			Rollout:       DefaultRollout(),
		},
		Traffic: defaultTraffic(),
		Proxies: defaultProxies(),
	}
}

// EnvPrefix prefixes the environment variables that set keys:
// WAHOST_HTTP_ADDR sets http.addr, WAHOST_POLICY_MODULE policy.module.
const EnvPrefix = "WAHOST_"

// Load builds the configuration from the defaults, the YAML file at path
// (if not empty), the environment (environ, as os.Environ returns it) and
// flags, a map of dotted keys to values for the flags that were set.
func Load(path string, environ []string, flags map[string]any) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaultMap(), "."), nil); err != nil {
		return nil, fmt.Errorf("loading defaults: %w", err)
	}
	known := knownKeys(k)
	if path != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		if err := unknownKeys(fk.Keys(), known); err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		if err := k.Merge(fk); err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
	}
	envMap, err := envValues(environ, known)
	if err != nil {
		return nil, err
	}
	if err := k.Load(confmap.Provider(envMap, "."), nil); err != nil {
		return nil, fmt.Errorf("loading environment: %w", err)
	}
	if len(flags) > 0 {
		if err := k.Load(confmap.Provider(flags, "."), nil); err != nil {
			return nil, fmt.Errorf("loading flags: %w", err)
		}
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, decodeError(err)
	}
	if c.Policy.CacheDir == "" {
		c.Policy.CacheDir = filepath.Join(c.DataDir, "compiled")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// envValues picks the WAHOST_* variables out of environ as dotted keys.
// WAHOST_POLICY_SETTINGS holds a JSON object.
func envValues(environ []string, known map[string]bool) (map[string]any, error) {
	out := make(map[string]any)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key := envKey(name, known)
		if alias, ok := envAliases[name]; ok {
			key = alias
		}
		if key == "policy.settings" {
			var m map[string]any
			if err := json.Unmarshal([]byte(value), &m); err != nil {
				return nil, &KeyError{Key: key, Err: fmt.Errorf("%s must hold a JSON object: %v", name, err)}
			}
			out[key] = m
			continue
		}
		if listKeys[key] {
			var items []string
			for item := range strings.SplitSeq(value, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
			out[key] = items
			continue
		}
		out[key] = value
	}
	return out, nil
}

// envAliases are the variables whose names do not follow the key: the API
// key under the name Evolution API deployments already use.
var envAliases = map[string]string{
	"WAHOST_API_KEY": "http.api_key",
}

// listKeys hold lists: their variables are comma-separated.
var listKeys = map[string]bool{"webhook.events": true, "events.rabbitmq.events": true, "events.nats.events": true}

// envKey maps WAHOST_POLICY_MAX_DELAY to policy.max_delay and
// WAHOST_TRAFFIC_THRESHOLDS_UNACKED_SENDS to
// traffic.thresholds.unacked_sends: underscores split sections (one or
// two levels) only where the result is a known key.
func envKey(name string, known map[string]bool) string {
	s := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	parts := strings.Split(s, "_")
	for cut := 1; cut < len(parts); cut++ {
		head := strings.Join(parts[:cut], "_")
		if candidate := head + "." + strings.Join(parts[cut:], "_"); known[candidate] {
			return candidate
		}
		for cut2 := cut + 1; cut2 < len(parts); cut2++ {
			candidate := head + "." + strings.Join(parts[cut:cut2], "_") + "." + strings.Join(parts[cut2:], "_")
			if known[candidate] {
				return candidate
			}
		}
	}
	return s
}

// unknownKeys rejects keys wahost does not have (a typo would otherwise
// be ignored silently); policy.settings is the policy's own and free-form.
func unknownKeys(keys []string, known map[string]bool) error {
	var errs []error
	for _, key := range keys {
		if known[key] || key == "policy.settings" || strings.HasPrefix(key, "policy.settings.") ||
			strings.HasPrefix(key, "proxies.pools.") ||
			key == "policy.rollout.settings" || strings.HasPrefix(key, "policy.rollout.settings.") {
			continue
		}
		if rest, ok := strings.CutPrefix(key, "policy.overrides."); ok {
			if _, field, ok := strings.Cut(rest, "."); ok &&
				(field == "module" || field == "sha256" || field == "settings" || strings.HasPrefix(field, "settings.")) {
				continue
			}
		}
		errs = append(errs, &KeyError{Key: key, Err: errors.New("no such key (see docs/config.md)")})
	}
	return errors.Join(errs...)
}

func knownKeys(k *koanf.Koanf) map[string]bool {
	m := make(map[string]bool)
	for _, key := range k.Keys() {
		m[key] = true
	}
	return m
}

// Keys lists every configuration key, dotted, sorted; policy.settings is
// one key holding the policy's own object.
func Keys() []string {
	var keys []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && prefix+k != "policy.settings" && prefix+k != "policy.rollout.settings" {
				walk(prefix+k+".", sub)
				continue
			}
			keys = append(keys, prefix+k)
		}
	}
	walk("", defaultMap())
	slices.Sort(keys)
	return keys
}

func defaultMap() map[string]any {
	return toMap(reflect.ValueOf(Default()))
}

// toMap turns a config struct into koanf's nested map, durations as text,
// so every key exists (and so can be set from the environment).
func toMap(v reflect.Value) map[string]any {
	m := make(map[string]any)
	t := v.Type()
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("koanf")
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			m[key] = f.Interface().(time.Duration).String()
		case f.Kind() == reflect.Struct:
			m[key] = toMap(f)
		default:
			m[key] = f.Interface()
		}
	}
	return m
}

// A KeyError names the configuration key that is wrong and says why.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("config key %s: %v", e.Key, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

// FileError is a config file that cannot be read or parsed, or that
// holds a key wahost does not have.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("config file %s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// decodeQuoted finds the key in a decoder message such as
// "'webhook.workers' cannot parse value as 'int': …".
var decodeQuoted = regexp.MustCompile(`'([a-z0-9_.]+)' (.+)`)

// decodeError turns a failure to decode a value into a KeyError naming
// the key, when the decoder's message names one.
func decodeError(err error) error {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if m := decodeQuoted.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			return &KeyError{Key: m[1], Err: errors.New(m[2])}
		}
	}
	return fmt.Errorf("reading config: %w", err)
}

// IsConfigError reports whether err is a configuration mistake: a file
// that cannot be read or parsed, an unknown key, a value of the wrong
// type or out of range.
func IsConfigError(err error) bool {
	return errors.As(err, new(*KeyError)) || errors.As(err, new(*FileError))
}

// Validate checks every key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Err: fmt.Errorf(format, args...)})
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "%q is not host:port (%v)", c.HTTP.Addr, err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if c.HTTP.ShutdownTimeout < time.Second || c.HTTP.ShutdownTimeout > 10*time.Minute {
		bad("http.shutdown_timeout", "%s is out of range (1s to 10m)", c.HTTP.ShutdownTimeout)
	}
	if c.HTTP.MaxBody < 1024 {
		bad("http.max_body", "%d bytes is too small (at least 1024)", c.HTTP.MaxBody)
	}
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("database.url", "%q is not a postgres:// URL (leave it empty for SQLite under data_dir)", redact(u))
	}
	if c.Database.MaxConns < 0 {
		bad("database.max_conns", "%d is negative", c.Database.MaxConns)
	}
	if c.Database.HistoryRetention < time.Hour {
		bad("database.history_retention", "%s is shorter than an hour", c.Database.HistoryRetention)
	}
	if c.Webhook.FailedRetention < time.Hour {
		bad("webhook.failed_retention", "%s is shorter than an hour", c.Webhook.FailedRetention)
	}
	if a := c.Cache.RedisAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("cache.redis_addr", "%q is not host:port (%v)", a, err)
		}
	}
	if c.Cache.RedisDB < 0 {
		bad("cache.redis_db", "%d is negative", c.Cache.RedisDB)
	}
	if u := c.Webhook.URL; u != "" {
		if err := CheckWebhookURL(u); err != nil {
			bad("webhook.url", "%v", err)
		}
	}
	if c.Webhook.Workers < 1 || c.Webhook.Workers > 256 {
		bad("webhook.workers", "%d is outside [1, 256]", c.Webhook.Workers)
	}
	if c.Webhook.Timeout < 100*time.Millisecond || c.Webhook.Timeout > 5*time.Minute {
		bad("webhook.timeout", "%s is outside [100ms, 5m]", c.Webhook.Timeout)
	}
	if c.Webhook.Lease <= c.Webhook.Timeout {
		bad("webhook.lease", "%s must be longer than webhook.timeout (%s)", c.Webhook.Lease, c.Webhook.Timeout)
	}
	if c.Webhook.MaxAttempts < 1 {
		bad("webhook.max_attempts", "%d, want at least 1", c.Webhook.MaxAttempts)
	}
	if r := c.Webhook.RetryRule; r != "wahost" && r != "evolution" {
		bad("webhook.retry_rule", "%q is not wahost or evolution", r)
	}
	if c.Session.QRLimit < 0 {
		bad("session.qr_limit", "%d is negative (0 means no limit)", c.Session.QRLimit)
	}
	if c.Session.InactivityTimeout < 0 {
		bad("session.inactivity_timeout", "%s is negative (0 turns it off)", c.Session.InactivityTimeout)
	}
	if c.Session.KeepAliveLimit < 30*time.Second {
		bad("session.keepalive_limit", "%s is shorter than 30s (whatsmeow pings every 20-30s)", c.Session.KeepAliveLimit)
	}
	if c.Session.ConnectTimeout < time.Second {
		bad("session.connect_timeout", "%s is shorter than a second", c.Session.ConnectTimeout)
	}
	if c.Reconnect.Rate <= 0 {
		bad("reconnect.rate", "%v, want reconnects per second above 0", c.Reconnect.Rate)
	}
	if c.Reconnect.Burst < 1 {
		bad("reconnect.burst", "%d, want at least 1", c.Reconnect.Burst)
	}
	c.Messages.validate(bad)
	c.Cluster.validate(c.Database.URL, bad)
	c.Traffic.validate(bad)
	c.Proxies.validate(bad)
	if u := c.Events.RabbitMQ.URL; u != "" && !strings.HasPrefix(u, "amqp://") && !strings.HasPrefix(u, "amqps://") {
		bad("events.rabbitmq.url", "%q is not an amqp:// or amqps:// URL", redact(u))
	}
	if u := c.Events.NATS.URL; u != "" && !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
		bad("events.nats.url", "%q is not a nats:// or tls:// URL", redact(u))
	}
	p := &c.Policy
	if s := p.CandidateSHA256; s != "" && (len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "") {
		bad("policy.candidate_sha256", "%q is not 64 hex digits", s)
	}
	if p.Module == "" {
		bad("policy.module", "must name a .wasm file or builtin:default")
	}
	if s := p.SHA256; s != "" && (len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "") {
		bad("policy.sha256", "%q is not 64 hex digits", s)
	}
	if p.Timeout < time.Millisecond || p.Timeout > time.Minute {
		bad("policy.timeout", "%s is outside [1ms, 1m]", p.Timeout)
	}
	if p.MemoryPages < 16 || p.MemoryPages > 65536 {
		bad("policy.memory_pages", "%d is outside [16, 65536]", p.MemoryPages)
	}
	if p.PoolSize < 1 || p.PoolSize > 256 {
		bad("policy.pool_size", "%d is outside [1, 256]", p.PoolSize)
	}
	if p.MaxDelay < time.Second {
		bad("policy.max_delay", "%s is shorter than a second", p.MaxDelay)
	}
	if p.BreakerFaults < 1 {
		bad("policy.breaker_faults", "%d, want at least 1", p.BreakerFaults)
	}
	if p.BreakerWindow <= 0 {
		bad("policy.breaker_window", "must be positive")
	}
	if _, err := json.Marshal(p.Settings); err != nil {
		bad("policy.settings", "cannot be sent to the policy as JSON: %v", err)
	}
	p.Rollout.validate(bad)
	for name, o := range p.Overrides {
		key := "policy.overrides." + name
		if name == "" || len(name) > 64 || strings.Trim(strings.ToLower(name), "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			bad(key, "the name may have only letters, digits, - and _ (at most 64)")
		}
		if o.Module == "" {
			bad(key+".module", "must name a .wasm file or builtin:default")
		}
		if s := o.SHA256; s != "" && (len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "") {
			bad(key+".sha256", "%q is not 64 hex digits", s)
		}
		if _, err := json.Marshal(o.Settings); err != nil {
			bad(key+".settings", "cannot be sent to the policy as JSON: %v", err)
		}
	}
	return errors.Join(errs...)
}

// CheckWebhookURL checks a webhook URL: absolute, http or https, with a
// host.
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials; sign requests with webhook.secret instead", redact(raw))
	}
	return nil
}

// redact hides a URL's password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// OverrideSettings returns an override's settings as the JSON object its
// policy gets.
func (o PolicyOverride) OverrideSettings() []byte {
	if len(o.Settings) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(o.Settings)
	return b
}

// PolicySettings returns policy.settings as the JSON object a policy gets.
func (c *Config) PolicySettings() []byte {
	if len(c.Policy.Settings) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(c.Policy.Settings)
	return b
}
