// Package proxy carries the instances' connections to WhatsApp through
// HTTP CONNECT (http://, https://) and SOCKS5 (socks5://) proxies, and
// keeps each proxy's health.
//
// An Endpoint is one proxy URL; its String masks the password
// ("http://user:***@host:port") and its ID drops the credentials
// altogether. Dial opens a tunnel through a proxy to a target; an
// HTTPClient built on it carries the websocket and the media of a
// whatsmeow client. A failure says at which stage it happened (reaching
// the proxy, its credentials, or the proxy reaching the target), so
// "proxy unreachable" and "WhatsApp unreachable" are told apart.
//
// Pools are the configured groups of proxies (proxies.pools); Health
// records, per proxy, the outcomes of the sessions that went through it
// and trips a breaker when it fails for several instances within a
// window: a proxy that is down is skipped while its pool has a healthy
// one, probed with a TCP connect, and returns when it answers.
package proxy
