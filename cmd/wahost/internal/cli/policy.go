package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/policies/builtin"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

var policyCommands = []command{
	{"eval", "decide one input and print the decision", runPolicyEval},
	{"test", "run scenario files against a policy", runPolicyTest},
	{"check", "check a module against the ABI and hostile inputs", runPolicyCheck},
	{"bench", "measure decisions per second, pooled and cold", runPolicyBench},
	{"replay", "decide recorded disconnects again and show what would change", runPolicyReplay},
	{"rollout", "show or steer a running host's policy rollout (through its API)", runPolicyRollout},
}

func runPolicy(ctx context.Context, args []string, stdio Stdio) int {
	if len(args) > 0 {
		for _, c := range policyCommands {
			if c.name == args[0] {
				return c.run(ctx, args[1:], stdio)
			}
		}
	}
	w := stdio.Err
	code := exitUsage
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		w, code = stdio.Out, exitOK
	} else if len(args) > 0 {
		fmt.Fprintf(w, "wahost policy: unknown command %q\n\n", args[0])
	}
	fmt.Fprintln(w, "Usage: wahost policy COMMAND [flags]\n\nCommands:")
	for _, c := range policyCommands {
		fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nA policy is a .wasm file or a built-in module (%s).\n", strings.Join(builtin.Names(), ", "))
	return code
}

// policyFlags are the flags every policy command shares.
type policyFlags struct {
	policy   string
	sha256   string
	settings string
	maxDelay time.Duration
	timeout  time.Duration
	pages    uint
	cacheDir string
	verbose  bool
}

func (p *policyFlags) register(fs *flag.FlagSet, withPolicy bool) {
	if withPolicy {
		fs.StringVar(&p.policy, "policy", "", "the policy: a .wasm file or "+builtin.DefaultName+" (required)")
	}
	fs.StringVar(&p.sha256, "sha256", "", "fail unless the module has this sha256 (hex)")
	fs.StringVar(&p.settings, "settings", "", "the policy's settings: a JSON object, or @FILE")
	fs.DurationVar(&p.maxDelay, "max-delay", abi.DefaultMaxDelay, "the longest reconnect delay a decision may ask for")
	fs.DurationVar(&p.timeout, "timeout", runtime.DefaultCallTimeout, "the deadline of one decision")
	fs.UintVar(&p.pages, "memory-pages", runtime.DefaultMemoryLimitPages, "the memory cap of one instance, in 64 KiB pages")
	fs.StringVar(&p.cacheDir, "cache-dir", defaultCacheDir(), "where compiled modules are cached (empty: no disk cache)")
	fs.BoolVar(&p.verbose, "v", false, "log the engine's and the policy's messages to stderr")
}

func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wahost", "compiled")
}

func (p *policyFlags) limits() abi.Limits { return abi.Limits{MaxDelay: p.maxDelay} }

// loadSettings returns the --settings object, or nil when none was given.
func (p *policyFlags) loadSettings() (abi.Settings, error) {
	raw := strings.TrimSpace(p.settings)
	if raw == "" {
		return nil, nil
	}
	b := []byte(raw)
	if path, ok := strings.CutPrefix(raw, "@"); ok {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading --settings: %w", err)
		}
	}
	return abi.ParseSettings(b)
}

func (p *policyFlags) engine(ctx context.Context, stdio Stdio, tune func(*runtime.Config)) (*runtime.Engine, error) {
	level := slog.LevelError + 4 // silent unless -v
	if p.verbose {
		level = slog.LevelDebug
	}
	cfg := runtime.Config{
		CacheDir:         p.cacheDir,
		CallTimeout:      p.timeout,
		MemoryLimitPages: uint32(p.pages),
		Logger:           slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: level})),
	}
	if tune != nil {
		tune(&cfg)
	}
	e, err := runtime.NewEngine(ctx, cfg)
	if err != nil && cfg.CacheDir != "" {
		// An unusable cache directory only costs compile time.
		cfg.CacheDir = ""
		e, err = runtime.NewEngine(ctx, cfg)
	}
	return e, err
}

// load reads and loads the module named by --policy (or ref), self-tested
// with settings.
func (p *policyFlags) load(ctx context.Context, e *runtime.Engine, ref string, settings abi.Settings) (*runtime.Module, *source.Module, error) {
	src, err := source.Read(ref, p.sha256)
	if err != nil {
		return nil, nil, err
	}
	m, err := e.Load(ctx, ref, src.Wasm, source.LoadOptions(settings, p.limits()))
	return m, src, err
}

// closeAll closes a module and its engine, bounded in time.
func closeAll(m *runtime.Module, e *runtime.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m != nil {
		_ = m.Close(ctx)
	}
	_ = e.Close(ctx)
}

func readInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "" || path == "-" {
		return io.ReadAll(io.LimitReader(stdin, 16<<20))
	}
	return os.ReadFile(path)
}

// isLoadError reports whether err is a module rejected at load.
func isLoadError(err error) bool {
	var le *runtime.LoadError
	return errors.As(err, &le)
}
