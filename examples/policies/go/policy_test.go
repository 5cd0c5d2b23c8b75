package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/abi/guest"
	"github.com/wahost/wahost/policies/conformance"
	"github.com/wahost/wahost/policies/scenario"
)

// native runs the policy in the test's process through guest.Call, which
// decodes and encodes exactly as the module's wahost_decide does. This is
// how a Go policy author tests without building a module.
type native struct{}

func (native) Decide(_ context.Context, input []byte) ([]byte, error) {
	out, isErr := guest.Call(input)
	if isErr {
		return nil, errors.New(string(out))
	}
	return bytes.Clone(out), nil
}

func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "scenarios", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenario files in ../scenarios (%v)", err)
	}
	for _, p := range paths {
		f, err := scenario.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			res, err := scenario.Run(context.Background(), native{}, f, abi.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, fail := range res.Failures {
				t.Error(fail)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	rep := conformance.Run(context.Background(), native{}, abi.Settings("{}"), abi.Limits{})
	for _, v := range rep.Violations {
		t.Error(v)
	}
}

// localAt does with integers what package time does with a fixed zone.
func TestLocalAtMatchesPackageTime(t *testing.T) {
	for _, offset := range []int64{-840, -330, 0, 60, 345, 840} {
		zone := time.FixedZone("office", int(offset)*60)
		for ms := int64(-3 * dayMS); ms < 10*dayMS; ms += 37*minuteMS + 1234 {
			for _, now := range []int64{ms, scenario.BaseNowMS + ms} {
				got := localAt(now, offset)
				want := time.UnixMilli(now).In(zone)
				if got.String() != want.Format("Mon 15:04")+" local" || got.weekday != int64(want.Weekday()) {
					t.Fatalf("localAt(%d, %d) = %s (weekday %d), want %s", now, offset, got, got.weekday, want)
				}
			}
		}
	}
}

func TestUntilOpen(t *testing.T) {
	c := defaults()
	tests := []struct {
		name string
		now  int64
		want time.Duration
	}{
		{"Thursday midnight waits for 09:00", scenario.BaseNowMS, 9 * time.Hour},
		{"Thursday 09:00 waits for Friday", scenario.BaseNowMS + 9*hourMS, 24 * time.Hour},
		{"Friday 18:00 waits for Monday", scenario.BaseNowMS + dayMS + 18*hourMS, 63 * time.Hour},
		{"Sunday 08:59 waits for Monday", scenario.BaseNowMS + 3*dayMS + 8*hourMS + 59*minuteMS, 24*time.Hour + time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.untilOpen(localAt(tt.now, 0)); got != tt.want.Milliseconds() {
				t.Errorf("untilOpen = %s, want %s", time.Duration(got)*time.Millisecond, tt.want)
			}
		})
	}
}
