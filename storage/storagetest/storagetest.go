// Package storagetest holds the conformance suites that every
// storage.Store and storage.Cache implementation passes. A driver's test
// calls RunStore or RunCache with a function that opens a fresh, isolated
// store (its own schema, file or key prefix) for each subtest; subtests run
// in parallel.
package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// Clock is a manual clock for stores under test. It starts at a fixed
// instant and moves only when advanced.
type Clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

// NewClock returns a clock reading 2026-01-02 03:04:05.123456 UTC.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}
}

// Now returns the current reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// OpenStore opens a fresh, empty store reading time from clock; the store
// and anything it created are removed when t ends.
type OpenStore func(t testing.TB, clock *Clock) storage.Store

// RunStore runs the store conformance suite.
func RunStore(t *testing.T, open OpenStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, c *Clock)
	}{
		{"Instances", testInstances},
		{"InstanceErrors", testInstanceErrors},
		{"Settings", testSettings},
		{"Disconnects", testDisconnects},
		{"DisconnectErrors", testDisconnectErrors},
		{"DecisionInput", testDecisionInput},
		{"Episodes", testEpisodes},
		{"UnitOfWork", testUnitOfWork},
		{"UnitOfWorkSerialises", testUnitOfWorkSerialises},
		{"GroupCommit", testGroupCommit},
		{"GroupsConcurrent", testGroupsConcurrent},
		{"GroupRows", testGroupRows},
		{"GroupOutbox", testGroupOutbox},
		{"Committer", testCommitter},
		{"NotifyOutbox", testNotifyOutbox},
		{"DeleteCascades", testDeleteCascades},
		{"Outbox", testOutbox},
		{"Backlog", testBacklog},
		{"OutboxLeaseExpiry", testOutboxLeaseExpiry},
		{"OutboxErrors", testOutboxErrors},
		{"OutboxDeliveredMany", testOutboxDeliveredMany},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"OutboxLanes", testOutboxLanes},
		{"EventStream", testEventStream},
		{"Leases", testLeases},
		{"LeaseFencing", testLeaseFencing},
		{"Fleet", testFleet},
		{"Purges", testPurges},
		{"Messages", testMessages},
		{"MessageErrors", testMessageErrors},
		{"MessageDuplicates", testMessageDuplicates},
		{"MessageStatus", testMessageStatus},
		{"MessageStatusRace", testMessageStatusRace},
		{"MessageQueue", testMessageQueue},
		{"MessageConcurrentInserts", testMessageConcurrentInserts},
		{"MessageList", testMessageList},
		{"MessagePrune", testMessagePrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewClock()
			tt.fn(t, open(t, c), c)
		})
	}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// result carries a value and an error so a test can write
// try(s.Instance(ctx, id)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func newInstance(t testing.TB, s storage.Store, name string) storage.Instance {
	t.Helper()
	return try(s.CreateInstance(ctxFor(t), storage.Instance{Name: name})).must(t)
}
