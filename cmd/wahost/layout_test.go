package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/wahost/wahost/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// Every package says what it owns in a doc comment.
func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}

// Each heavy dependency lives in the packages that own it, so a reader
// knows where to look and the rest of the code stays testable without it.
func TestHeavyDependenciesStayInTheirPackages(t *testing.T) {
	const mod = "github.com/wahost/wahost/"
	owners := map[string][]string{
		"github.com/tetratelabs/wazero":  {mod + "runtime"},
		"go.mau.fi/whatsmeow":            {mod + "host/session", mod + "host/wafake", mod + "storage/sessionstore"},
		"github.com/jackc/pgx/v5":        {mod + "storage/postgres", mod + "storage/sessionstore"},
		"github.com/redis/go-redis/v9":   {mod + "storage/rediscache"},
		"github.com/knadh/koanf":         {mod + "host/config"},
		"modernc.org/sqlite":             {mod + "storage/sqlite", mod + "storage/sessionstore", mod + "host/wafake"},
		"github.com/rabbitmq/amqp091-go": {mod + "host/sink/rabbitmq", mod + "host/sink/sinktest"},
		"github.com/nats-io/nats.go":     {mod + "host/sink/natsjs", mod + "host/sink/sinktest"},
	}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for dep, allowed := range owners {
				if !strings.HasPrefix(imp, dep) {
					continue
				}
				ok := false
				for _, a := range allowed {
					ok = ok || p.ImportPath == a || strings.HasPrefix(p.ImportPath, a+"/")
				}
				if !ok {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, allowed)
				}
			}
		}
	}
}
