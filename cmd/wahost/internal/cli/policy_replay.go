package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/policies/replay"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/backend"
	"github.com/wahost/wahost/storage/datadir"
)

func runPolicyReplay(ctx context.Context, args []string, stdio Stdio) int {
	var pf policyFlags
	var from, configPath, dataDir, dbURL, instance string
	var since time.Duration
	var asJSON bool
	var cases int
	fs := newFlags("wahost policy replay",
		"wahost policy replay --policy FILE [--from FILE | --config FILE | --data-dir DIR | --database URL] [--instance NAME] [--since 168h] [flags]", stdio)
	pf.register(fs, true)
	fs.StringVar(&from, "from", "", "recorded disconnects exported by the API (GET /v1/instances/NAME/disconnects), instead of the store")
	fs.StringVar(&configPath, "config", os.Getenv("WAHOST_CONFIG"), "read the store the host's config names")
	fs.StringVar(&dataDir, "data-dir", "", "read the SQLite store in this data directory (data_dir)")
	fs.StringVar(&dbURL, "database", "", "read this PostgreSQL store (database.url)")
	fs.StringVar(&instance, "instance", "", "only this instance's disconnects")
	fs.DurationVar(&since, "since", 7*24*time.Hour, "only disconnects this recent")
	fs.BoolVar(&asJSON, "json", false, "print the summary as JSON, with every case")
	fs.IntVar(&cases, "cases", 20, "how many differing cases to print")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if pf.policy == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stdio.Err, "wahost policy replay: %v\n", err)
		return code
	}
	var recs []replay.Record
	var err error
	if from != "" {
		recs, err = readExport(from)
	} else {
		recs, err = readStore(ctx, configPath, dataDir, dbURL, instance, time.Now().Add(-since))
	}
	if err != nil {
		return fail(exitFail, err)
	}
	settings, err := pf.loadSettings()
	if err != nil {
		return fail(exitUsage, err)
	}

	e, err := pf.engine(ctx, stdio, nil)
	if err != nil {
		return fail(exitFail, err)
	}
	m, src, err := pf.load(ctx, e, pf.policy, settings)
	defer closeAll(m, e)
	if err != nil {
		return fail(exitFail, err)
	}
	decide := func(ctx context.Context, input []byte) ([]byte, error) {
		if settings == nil {
			return m.Decide(ctx, input)
		}
		// --settings replaces the recorded settings: replay the new
		// module with the settings it will run with.
		var in map[string]json.RawMessage
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		in["settings"] = json.RawMessage(settings)
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		return m.Decide(ctx, b)
	}
	sum, err := replay.Run(ctx, recs, replay.ForMinor(m.Info().ABIMinor, decide), pf.limits())
	if err != nil {
		return fail(exitFail, err)
	}
	if asJSON {
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
	} else {
		fmt.Fprintf(stdio.Out, "replaying with %s (sha256 %s)\n", pf.policy, src.SHA256[:12])
		sum.WriteText(stdio.Out, cases)
	}
	return exitOK
}

// readExport reads what the API's history route returns, one page or
// several (a JSON object with "disconnects", an array of such rows, or
// one object per line).
func readExport(path string) ([]replay.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []replay.Record
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		switch raw = bytes.TrimSpace(raw); {
		case len(raw) > 0 && raw[0] == '[':
			var page []replay.Record
			if err := json.Unmarshal(raw, &page); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			recs = append(recs, page...)
		default:
			var page struct {
				Instance    string          `json:"instance"`
				Disconnects []replay.Record `json:"disconnects"`
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			for _, r := range page.Disconnects {
				if r.InstanceID == "" {
					r.InstanceID = page.Instance
				}
				recs = append(recs, r)
			}
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s holds no disconnects", path)
	}
	return recs, nil
}

// readStore reads the recorded disconnects from the host's store.
func readStore(ctx context.Context, configPath, dataDir, dbURL, instance string, since time.Time) ([]replay.Record, error) {
	flags := map[string]any{}
	if dataDir != "" {
		flags["data_dir"] = dataDir
	}
	if dbURL != "" {
		flags["database.url"] = dbURL
	}
	cfg, err := config.Load(configPath, os.Environ(), flags)
	if err != nil {
		return nil, err
	}
	driver := backend.DriverSQLite
	var dir datadir.Dir
	if cfg.Database.URL != "" {
		driver = backend.DriverPostgres
	} else {
		if _, err := os.Stat(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("no store to read: %w (name one with --data-dir, --database or --config, or use --from)", err)
		}
		if dir, err = datadir.Open(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	st, err := backend.OpenStore(ctx, backend.StoreConfig{Driver: driver, URL: cfg.Database.URL, Schema: cfg.Database.Schema}, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	insts, err := st.ListInstances(ctx)
	if err != nil {
		return nil, err
	}
	var recs []replay.Record
	found := false
	for _, inst := range insts {
		if instance != "" && inst.Name != instance {
			continue
		}
		found = true
		var before int64
		for {
			page, err := st.ListDisconnects(ctx, inst.ID, before, storage.MaxPage)
			if err != nil {
				return nil, err
			}
			old := false
			for _, d := range page {
				if d.At.Before(since) {
					old = true
					break
				}
				recs = append(recs, replay.Record{
					ID: d.ID, InstanceID: inst.Name, At: d.At, Kind: d.Kind, Code: d.Code, Decision: d.Decision, Input: d.Input,
				})
			}
			if old || len(page) < storage.MaxPage {
				break
			}
			before = page[len(page)-1].ID
		}
	}
	if instance != "" && !found {
		return nil, fmt.Errorf("no instance named %q", instance)
	}
	if len(recs) == 0 {
		return nil, errors.New("no recorded disconnects in that window")
	}
	return recs, nil
}
