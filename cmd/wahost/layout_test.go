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
// knows where to look and the rest of the code stays testable without it:
// wazero in runtime, whatsmeow in host/session and the fake server, pgx in
// storage/postgres.
func TestHeavyDependenciesStayInTheirPackages(t *testing.T) {
	const mod = "github.com/wahost/wahost/"
	owners := map[string][]string{
		"github.com/tetratelabs/wazero":  {mod + "runtime"},
		"go.mau.fi/whatsmeow":            {mod + "host/session", mod + "host/wafake"},
		"go.mau.fi/libsignal":            {mod + "host/session", mod + "host/wafake"},
		"github.com/jackc/pgx/v5":        {mod + "storage/postgres"},
		"github.com/redis/go-redis/v9":   {mod + "storage/rediscache"},
		"github.com/knadh/koanf":         {mod + "host/config"},
		"modernc.org/sqlite":             {mod + "storage/sqlite", mod + "host/wafake"},
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

// abi is the contract policy authors build against (for wasip1 too): the
// standard library and abi's own packages only.
func TestABIIsStdlibOnly(t *testing.T) {
	const abi = "github.com/wahost/wahost/abi"
	for _, p := range listPackages(t) {
		if p.ImportPath != abi && !strings.HasPrefix(p.ImportPath, abi+"/") {
			continue
		}
		for _, imp := range p.Imports {
			first, _, _ := strings.Cut(imp, "/")
			if strings.Contains(first, ".") && imp != abi && !strings.HasPrefix(imp, abi+"/") {
				t.Errorf("%s imports %s; abi takes the standard library only", p.ImportPath, imp)
			}
		}
	}
}

// testSupport are the packages that exist for tests: the fake WhatsApp
// server and the helpers around it and the real services.
var testSupport = []string{
	"github.com/wahost/wahost/host/wafake",
	"github.com/wahost/wahost/host/wafake/wafaketest",
	"github.com/wahost/wahost/host/session/sessiontest",
	"github.com/wahost/wahost/storage/storagetest",
	"github.com/wahost/wahost/storage/testenv",
}

// deps lists the packages the wahost binary is built from, with tags.
func deps(t *testing.T, tags string) map[string]bool {
	t.Helper()
	args := []string{"list", "-deps"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	out, err := exec.Command("go", append(args, ".")...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	m := map[string]bool{}
	for _, line := range strings.Fields(string(out)) {
		m[line] = true
	}
	return m
}

// The normal binary carries no test support; the wahost_testserver build
// carries the fake server (and nothing else of it).
func TestBinaryHasNoTestSupport(t *testing.T) {
	normal := deps(t, "")
	testserver := deps(t, "wahost_testserver")
	if !normal["github.com/wahost/wahost/host"] {
		t.Fatal("go list -deps does not list the host: the check would prove nothing")
	}
	for _, p := range testSupport {
		if normal[p] {
			t.Errorf("the wahost binary depends on %s", p)
		}
		if testserver[p] && p != "github.com/wahost/wahost/host/wafake" {
			t.Errorf("the wahost_testserver binary depends on %s", p)
		}
	}
	if !testserver["github.com/wahost/wahost/host/wafake"] {
		t.Error("the wahost_testserver build lacks the fake server")
	}
}
