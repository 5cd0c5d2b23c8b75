// Package webhook delivers wahost's webhooks through the durable outbox of
// package storage: the host writes each webhook in the same transaction as
// the state change it announces (Dispatcher.Enqueue, inside
// storage.Store.InTx), and the Dispatcher's workers claim the rows, POST
// them, retry with backoff and record the outcome. A rolled-back change
// never emits a webhook; a committed one is delivered at least once, even
// across crashes and restarts.
//
// Enqueue also writes each event's entry in the event stream
// (storage.OutboxEvent.Stream): the same envelope without destination or
// apikey, written whether or not a webhook wants the event, stored
// delivered so no worker claims it, and numbered in commit order. The API
// serves them as server-sent events (GET /v1/events); Committed wakes its
// readers at every Nudge.
//
// # For receiver authors
//
// Every webhook is an HTTP POST of a JSON body, Evolution API's envelope:
//
//	{
//	  "event": "connection.update",
//	  "instance": "sales-01",
//	  "data": {"instance": "sales-01", "state": "close", "statusReason": 428, ...},
//	  "destination": "https://example.com/hooks/connection-update",
//	  "date_time": "2025-01-31T12:00:00.000Z",
//	  "sender": "5511999999999@s.whatsapp.net",
//	  "server_url": "https://wahost.example.com"
//	}
//
// Evolution API's apikey field is sent only with Config.ExposeAPIKey, and
// then carries the instance's own token; otherwise wahost signs the
// request instead. sender is the instance's JID without its device part.
// An instance's own destination may carry custom headers
// (storage.InstanceSettings.WebhookHeaders); a "jwt_key" entry is sent as
// "Authorization: Bearer <HS256 JWT>", as Evolution API does. With "webhook by events", the event name with dashes is
// appended to the URL's path, as Evolution API does (connection.update →
// /connection-update).
//
// The request carries these headers:
//
//	Content-Type: application/json
//	User-Agent: wahost
//	X-Wahost-Event: connection.update
//	X-Wahost-Delivery: 0194b1f2-...   the event ID: the same on every retry
//	X-Wahost-Timestamp: 1738324800    unix seconds when this attempt was sent
//	X-Wahost-Signature: v1=5d41...    only when a secret is configured
//
// Delivery is at least once: a receiver may get an event again after a
// timeout, or after a wahost host crashed between your answer and its
// record of it. Keep the X-Wahost-Delivery values you processed (a day's
// worth is plenty) and answer 2xx to a repeat without processing it again.
//
// The signature is "v1=" followed by the lower-case hex HMAC-SHA256, keyed
// by the shared secret, of the timestamp header, a dot, and the raw body:
//
//	hex(hmac_sha256(secret, X-Wahost-Timestamp + "." + body))
//
// Compute it over the body bytes exactly as received, before any JSON
// parsing, compare in constant time, and reject timestamps more than a few
// minutes from your clock to stop replays. Go receivers call
// VerifySignature, which does all of this. More than one comma-separated
// v1= value may appear; accept the request when any matches.
//
// Within one instance and destination, events arrive in the order they
// happened: while an event is being retried, later events of that
// instance to that URL wait for it. Events of different instances are
// delivered in parallel. An event that failed for good is skipped, and
// goes out of order if an operator redelivers it.
//
// # Retries
//
// Answer quickly (the request times out after 10 seconds by default) and
// queue slow work on your side. What wahost does with your answer:
//
//	answer                                  wahost
//	2xx                                     delivered; not sent again
//	408, 429, 5xx, network error, timeout   retried (below)
//	any other status, 3xx included          failed at once; not retried
//	retryable, on the last attempt          failed
//
// With Config.RetryRule set to RetryEvolution, every status but 400, 401,
// 403, 404 and 422 (and 3xx) is retried instead, as Evolution API does.
//
// Redirects are not followed: configure the final URL. Attempt n (1 for
// the first) that fails retryably is followed by a wait drawn uniformly
// from zero to min(10 minutes, 1 second × 2^(n-1)) ("full jitter"), or
// longer when the response carries Retry-After (seconds or an HTTP date,
// honoured up to one hour):
//
//	after attempt   1    2    3    4    5     6     7     8      9      10     11+
//	waits up to     1s   2s   4s   8s   16s   32s   64s   128s   256s   512s   10m
//
// With the default 10 attempts an event fails about 4 minutes (at most 8.5
// minutes) after its first attempt when the receiver stays down; operators
// raise MaxAttempts to ride out longer outages. Failed events stay in the outbox with their last error and can
// be redelivered through the admin API (Dispatcher.Redeliver).
//
// # Inside the host
//
// Enqueue resolves destinations from memory (the global Destination and
// each instance's settings, kept current by SetInstance, Load and
// ForgetInstance), never from the store, so it is safe inside a unit of
// work. Each row carries its destination URL, so a later change of the
// settings affects only events enqueued afterwards.
//
// Run claims due rows in batches with a lease, queues them per instance
// and destination ("lanes"), and hands each lane's head to a free worker.
// It claims when a Nudge, the next retry it knows of, or a slow poll (for
// events whose leases ended: a crashed host's) says events may be due, and
// fewer than a thousand events wait in memory. One claim runs at a time,
// beside the deliveries: under load the nudges of the commits made while
// it ran are served by the next one, which starts as soon as it answers. Events held back behind a retry are returned to the
// outbox due just after it, and the claims they spent waiting are not
// counted as attempts. Leases of events waiting in memory are renewed, so
// Lease bounds how long a crashed host's events stay stuck, not how long
// an event may wait. Deliveries are recorded behind the workers, many in
// one statement (storage.Outbox.MarkDeliveredMany); a host that crashes
// before recording one sends it again.
//
// The order of a lane is kept in memory, by the dispatcher that claims
// its events. Held-back events keep their place across a restart (they are
// due just after the event they wait for), but an event enqueued after a
// restart may overtake one still waiting for its retry. Several hosts
// sharing one PostgreSQL outbox each claim what is due, so an event may go
// out from one host while an earlier one of its lane waits for its retry
// on another: run one dispatcher per outbox when order matters more than
// spreading the load. A claim that skipped events behind a pending one of
// the same lane, in the store, would close both gaps.
package webhook
