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
	"path/filepath"
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
	DataDir string `koanf:"data_dir"`
	HTTP    HTTP   `koanf:"http"`
	Log     Log    `koanf:"log"`
	Policy  Policy `koanf:"policy"`
}

// HTTP configures the admin API.
type HTTP struct {
	Addr   string `koanf:"addr"`
	APIKey string `koanf:"api_key"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Policy configures the disconnect policy.
type Policy struct {
	// Module is a .wasm path or a built-in name such as builtin:default.
	Module string `koanf:"module"`
	// SHA256, if set, pins the module: it must have this digest.
	SHA256 string `koanf:"sha256"`
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
}

// Default returns the embedded defaults: SQLite under ./data, the built-in
// default policy, the API on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir: "./data",
		HTTP:    HTTP{Addr: "127.0.0.1:8080"},
		Log:     Log{Level: "info", Format: "text"},
		Policy: Policy{
			Module:        "builtin:default",
			Settings:      map[string]any{},
			Timeout:       500 * time.Millisecond,
			MemoryPages:   512,
			PoolSize:      4,
			MaxDelay:      7 * 24 * time.Hour,
			BreakerFaults: 5,
			BreakerWindow: time.Minute,
		},
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
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("loading config file %s: %w", path, err)
		}
	}
	envMap, err := envValues(environ, knownKeys(k))
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
		return nil, fmt.Errorf("reading config: %w", err)
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
		if key == "policy.settings" {
			var m map[string]any
			if err := json.Unmarshal([]byte(value), &m); err != nil {
				return nil, &KeyError{Key: key, Err: fmt.Errorf("%s must hold a JSON object: %v", name, err)}
			}
			out[key] = m
			continue
		}
		out[key] = value
	}
	return out, nil
}

// envKey maps WAHOST_POLICY_MAX_DELAY to policy.max_delay: underscores
// split sections only where the result is a known key.
func envKey(name string, known map[string]bool) string {
	s := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	parts := strings.Split(s, "_")
	for cut := 1; cut < len(parts); cut++ {
		candidate := strings.Join(parts[:cut], "_") + "." + strings.Join(parts[cut:], "_")
		if known[candidate] {
			return candidate
		}
	}
	return s
}

func knownKeys(k *koanf.Koanf) map[string]bool {
	m := make(map[string]bool)
	for _, key := range k.Keys() {
		m[key] = true
	}
	return m
}

func defaultMap() map[string]any {
	d := Default()
	b, _ := json.Marshal(map[string]any{
		"data_dir": d.DataDir,
		"http":     map[string]any{"addr": d.HTTP.Addr, "api_key": d.HTTP.APIKey},
		"log":      map[string]any{"level": d.Log.Level, "format": d.Log.Format},
		"policy": map[string]any{
			"module": d.Policy.Module, "sha256": d.Policy.SHA256, "settings": map[string]any{},
			"timeout": d.Policy.Timeout.String(), "memory_pages": d.Policy.MemoryPages,
			"pool_size": d.Policy.PoolSize, "max_delay": d.Policy.MaxDelay.String(),
			"cache_dir": "", "breaker_faults": d.Policy.BreakerFaults,
			"breaker_window": d.Policy.BreakerWindow.String(),
		},
	})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// A KeyError names the configuration key that is wrong and says why.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("config key %s: %v", e.Key, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

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
	p := &c.Policy
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
	return errors.Join(errs...)
}

// PolicySettings returns policy.settings as the JSON object a policy gets.
func (c *Config) PolicySettings() []byte {
	if len(c.Policy.Settings) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(c.Policy.Settings)
	return b
}
