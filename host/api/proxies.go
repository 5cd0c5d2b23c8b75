package api

import (
	"net/http"
	"strings"

	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/storage"
)

// Proxies is what the API needs of the host's proxies (host/proxy.Pools).
type Proxies interface {
	// Resolve checks a proxy setting: a pool name, a URL or empty.
	Resolve(value string) (pool string, members []proxy.Endpoint, err error)
	// Statuses is every proxy's health, credentials masked.
	Statuses() []proxy.Status
}

// applyProxy sets the instance's proxy from a request. A URL whose
// password is *** and otherwise equals the stored one keeps the stored
// password: a setting read back from the API can be sent back as is.
func applyProxy(s *storage.InstanceSettings, value string, px Proxies) error {
	value = strings.TrimSpace(value)
	if value != "" && value == proxy.Mask(s.Proxy) {
		return nil
	}
	if value != "" {
		if px == nil {
			return badRequest("proxy: this host has no proxies configured")
		}
		if _, _, err := px.Resolve(value); err != nil {
			return badRequest("proxy: %v", err)
		}
		if strings.Contains(value, "://") {
			value = proxy.MustParse(value).URL()
		}
	}
	s.Proxy = value
	return nil
}

// proxiesView is GET /v1/proxies.
type proxiesView struct {
	Proxies []proxy.Status `json:"proxies"`
}

func (s *Server) listProxies(w http.ResponseWriter, _ *http.Request) error {
	v := proxiesView{Proxies: []proxy.Status{}}
	if s.cfg.Proxies != nil {
		v.Proxies = append(v.Proxies, s.cfg.Proxies.Statuses()...)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
