package session

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wahost/wahost/host/proxy"
)

// ProxyPicker chooses the proxy each connection goes through and is told
// how the connection fared (host/proxy's Pools and Health).
type ProxyPicker interface {
	// Pick returns the proxy the instance's next connection goes
	// through; the zero Endpoint for a direct connection.
	Pick(ctx context.Context, instanceID string) (proxy.Endpoint, error)
	// Outcome records the end of a connect through p: err is nil when
	// the session logged in, the connect's error otherwise.
	Outcome(p proxy.Endpoint, instanceID string, err error)
	// Forget drops a removed instance from the picker's state.
	Forget(instanceID string)
}

// applyProxy picks the proxy of the connect about to start and routes the
// client's websocket and media through it. The proxy stays fixed for the
// whole connection: it is only changed here, before a dial.
func (s *session) applyProxy(ctx context.Context, cli *client) (proxy.Endpoint, error) {
	pk := s.m.cfg.Proxies
	if pk == nil {
		return proxy.Endpoint{}, nil
	}
	ep, err := pk.Pick(ctx, s.id)
	if err != nil {
		return proxy.Endpoint{}, fmt.Errorf("choosing the proxy: %w", err)
	}
	h, media := s.m.http, s.m.directMedia()
	if !ep.IsZero() {
		h = s.m.proxyClient(ep)
		media = h
	}
	cli.wa.SetWebsocketHTTPClient(h)
	cli.wa.SetPreLoginHTTPClient(h)
	cli.wa.SetMediaHTTPClient(media)
	return ep, nil
}

// proxyClient returns the HTTP client that carries connections through
// ep, built once per proxy.
func (m *Manager) proxyClient(ep proxy.Endpoint) *http.Client {
	m.proxyMu.Lock()
	defer m.proxyMu.Unlock()
	if h, ok := m.proxyClients[ep]; ok {
		return h
	}
	var h *http.Client
	if build := m.cfg.ProxyClient; build != nil {
		h = build(ep)
	} else {
		h = proxy.HTTPClient(ep, m.http.Timeout)
	}
	if m.proxyClients == nil {
		m.proxyClients = make(map[proxy.Endpoint]*http.Client)
	}
	m.proxyClients[ep] = h
	return h
}

// proxyOutcome tells the picker how a connect through ep ended.
func (s *session) proxyOutcome(ep proxy.Endpoint, err error) {
	if pk := s.m.cfg.Proxies; pk != nil {
		pk.Outcome(ep, s.id, err)
	}
}

// directMedia is the media client of a direct connection:
// Config.MediaHTTPClient, or one like whatsmeow's own default (a client
// that went through a proxy before must not keep its transport).
func (m *Manager) directMedia() *http.Client {
	if h := m.cfg.MediaHTTPClient; h != nil {
		return h
	}
	m.proxyMu.Lock()
	defer m.proxyMu.Unlock()
	if m.media == nil {
		m.media = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return m.media
}
