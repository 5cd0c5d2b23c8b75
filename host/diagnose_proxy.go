package host

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/wahost/wahost/host/proxy"
)

// ProxyReport is the proxy part of a diagnostics report: which proxy the
// instance goes through (credentials masked), its pool's health, and
// whether the proxy itself and WhatsApp behind it answer.
type ProxyReport struct {
	ID           string `json:"id"`
	Proxy        string `json:"proxy"` // the URL, password masked
	Pool         string `json:"pool,omitempty"`
	PoolSize     int    `json:"pool_size"`
	Healthy      int    `json:"healthy"`
	Down         bool   `json:"down"`
	Failures     int    `json:"failures"`
	PoolFailures int    `json:"pool_failures"`
	// Reach is a TCP connect to the proxy itself.
	Reach Probe `json:"reach"`
	// Verdict: ok, proxy_unreachable (the proxy does not answer),
	// proxy_auth (it refuses the credentials) or whatsapp_unreachable
	// (the proxy answers but cannot reach WhatsApp).
	Verdict string `json:"verdict"`
}

// diagnoseProxy fills the proxy part of d and, for an instance behind a
// proxy, probes WhatsApp through it: the DNS probe then resolves the
// proxy's host (WhatsApp's name is resolved by the proxy) and the TCP
// probe is a tunnel to WhatsApp. It reports whether it did.
func (h *Host) diagnoseProxy(ctx context.Context, instanceID string, d *Diagnostics) bool {
	if h.proxies == nil {
		return false
	}
	v, err := h.proxies.View(ctx, instanceID)
	if err != nil || v.ID == "" {
		return false
	}
	r := &ProxyReport{
		ID: v.ID, Proxy: v.Endpoint.String(), Pool: v.Pool, PoolSize: v.Size, Healthy: v.Healthy,
		Down: v.Down, Failures: v.Failures, PoolFailures: v.PoolFailures,
	}
	d.Proxy = r
	proxyHost, _, _ := net.SplitHostPort(v.Endpoint.Addr())
	d.Network.DNS, r.Reach = probe(ctx, v.Endpoint.Addr())
	d.Network.DNS.Target = proxyHost
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	tcp := Probe{Target: h.probeAddr + " via " + v.ID}
	start := time.Now()
	c, err := proxy.Dial(ctx, v.Endpoint, nil, h.probeAddr)
	tcp.Millis = time.Since(start).Milliseconds()
	switch {
	case err == nil:
		_ = c.Close()
		tcp.OK, r.Verdict = true, "ok"
	case errors.Is(err, proxy.ErrAuth):
		tcp.Error, r.Verdict = err.Error(), "proxy_auth"
	case proxy.StageOf(err) == proxy.StageTarget:
		tcp.Error, r.Verdict = err.Error(), "whatsapp_unreachable"
	default:
		tcp.Error, r.Verdict = err.Error(), "proxy_unreachable"
	}
	d.Network.TCP = tcp
	return true
}
