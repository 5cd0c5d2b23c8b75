package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/storage"
)

// Headers of a request one host of a fleet forwards to another.
const (
	// HopsHeader counts the hosts a request went through; a request that
	// arrives with maxHops already is answered, never forwarded again.
	HopsHeader = "X-Wahost-Hops"
	// ForwardedByHeader names the host that forwarded the request.
	ForwardedByHeader = "X-Wahost-Forwarded-By"
	// HostHeader names, on every answer of a host in a fleet, the host
	// that served the request.
	HostHeader = "X-Wahost-Host"
	maxHops    = 2
)

type forwardTarget struct{}

// forwarder sends a request for an instance another host of the fleet
// drives to that host: through a reverse proxy (the original request, key
// included), or as a 307 when cluster.forward is off.
type forwarder struct {
	h       *Host
	proxy   *httputil.ReverseProxy
	counter *prometheus.CounterVec // wahost_cluster_forwarded_total{mode}
}

// forwarding wraps next; outside a fleet it is next.
func (h *Host) forwarding(next http.Handler) http.Handler {
	if h.cluster == nil {
		return next
	}
	f := &forwarder{h: h, counter: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wahost_cluster_forwarded_total",
		Help: "API requests for an instance another host drives, by how they reached it: proxy, redirect, or failed (the owner did not answer).",
	}, []string{"mode"})}
	h.reg.MustRegister(f.counter)
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(forwardTarget{}).(*url.URL))
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			hops, _ := strconv.Atoi(pr.In.Header.Get(HopsHeader))
			pr.Out.Header.Set(HopsHeader, strconv.Itoa(hops+1))
			pr.Out.Header.Set(ForwardedByHeader, h.cluster.HostID())
		},
		FlushInterval: -1, // event streams pass through as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f.counter.WithLabelValues("failed").Inc()
			h.log.Warn("forwarding a request to the instance's host failed", "path", r.URL.Path, "error", err)
			writeJSONError(w, http.StatusBadGateway, "owner_unreachable",
				"the host that drives this instance did not answer; retry in a few seconds (the fleet takes its instances over when its leases expire)")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.route(w, r) {
			w.Header().Set(HostHeader, h.cluster.HostID())
			next.ServeHTTP(w, r)
		}
	})
}

// route forwards or redirects r when another host drives its instance
// and reports whether it did.
func (f *forwarder) route(w http.ResponseWriter, r *http.Request) bool {
	name := instanceInPath(r.URL.Path)
	if name == "" {
		return false
	}
	ctx := r.Context()
	inst, err := f.h.store.InstanceByName(ctx, name)
	if err != nil || f.h.cluster.Holds(inst.ID) {
		return false // unknown here (the handler answers) or ours
	}
	owner, err := f.owner(ctx, inst.ID)
	if err != nil || owner == nil {
		return false // nobody drives it: served here (after a claim when there is room)
	}
	hops, _ := strconv.Atoi(r.Header.Get(HopsHeader))
	if hops >= maxHops {
		writeJSONError(w, http.StatusServiceUnavailable, "owner_moving",
			fmt.Sprintf("instance %s is changing hosts; retry in a few seconds", name))
		return true
	}
	if !f.h.config().Cluster.Forward {
		f.counter.WithLabelValues("redirect").Inc()
		http.Redirect(w, r, owner.String()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}
	f.counter.WithLabelValues("proxy").Inc()
	f.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, forwardTarget{}, owner)))
	return true
}

// owner is the URL of the live host holding the instance's lease; nil
// when no host holds it, after this host claimed it if it had room.
func (f *forwarder) owner(ctx context.Context, instanceID string) (*url.URL, error) {
	l, err := f.h.store.Lease(ctx, instanceID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil || !l.ExpiresAt.After(f.h.clock.Now()) || l.Owner == f.h.cluster.HostID() {
		f.h.cluster.Claim(ctx, instanceID)
		return nil, nil
	}
	hi, ok := f.h.cluster.Host(l.Owner)
	if !ok || hi.URL == "" {
		return nil, fmt.Errorf("host %s is not in the fleet's heartbeats", l.Owner)
	}
	return url.Parse(hi.URL)
}

// instanceInPath returns the instance name a route addresses: the
// admin API's /v1/instances/{name}[/...] and Evolution API's
// /{group}/{action}/{instance}; empty for the others.
func instanceInPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 3 && parts[0] == "v1" && parts[1] == "instances" {
		return parts[2]
	}
	if len(parts) == 3 {
		switch parts[0] {
		case "instance", "chat", "message", "proxy", "webhook", "settings", "rabbitmq", "nats", "group":
			if parts[1] != "create" && parts[1] != "fetchInstances" {
				return parts[2]
			}
		}
	}
	return ""
}

// writeJSONError answers in the API's error shape.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`+"\n", code, msg)
}
