// Package keepalivetest holds the test of the session's keepalive drop.
// It needs whatsmeow's keepalive timing shrunk, and that timing is a set of
// process-wide variables every client reads, so it runs in a test binary
// of its own rather than beside the other session tests. It has no API.
package keepalivetest
