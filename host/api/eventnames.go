package api

import (
	"slices"
	"strings"
)

// knownEvents are the webhook events a filter may name: those the host
// sends, and the messaging events.
var knownEvents = []string{
	"connection.update", "qrcode.updated", "status.instance", "logout.instance", "multidevice.conflict",
	"reconnection.success", "disconnect.decided", "instance.cleanup", "remove.instance",
	"policy.reloaded", "policy.reload_failed",
	"messages.upsert", "messages.update", "messages.edited", "messages.delete", "send.message",
	"messages.set", "chats.set", "contacts.set",
}

// knownEvent reports whether name (in wire form) is a known event.
func knownEvent(name string) bool { return slices.Contains(knownEvents, name) }

// knownEventList is the known names, for error messages.
func knownEventList() string { return strings.Join(knownEvents, ", ") }
