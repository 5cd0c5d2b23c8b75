package evolution

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/storage"
)

// proxyDTO is Evolution's proxy object (ProxyDto). In answers the
// password is "***" when one is set: wahost never returns it.
type proxyDTO struct {
	Enabled  *bool  `json:"enabled,omitempty"`
	Host     string `json:"host"`
	Port     string `json:"port"`
	Protocol string `json:"protocol"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// proxyRow is Evolution's Proxy record, as set and find answer it.
type proxyRow struct {
	Enabled    bool   `json:"enabled"`
	Host       string `json:"host"`
	Port       string `json:"port"`
	Protocol   string `json:"protocol"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	InstanceID string `json:"instanceId"`
	UpdatedAt  string `json:"updatedAt,omitempty"`
}

// proxyView answers an instance's proxy setting: a URL as its parts, a
// pool of proxies.pools as protocol "pool" with the pool's name as host.
func proxyView(inst storage.Instance, s storage.InstanceSettings) proxyRow {
	row := proxyRow{InstanceID: inst.ID}
	if !s.UpdatedAt.IsZero() {
		row.UpdatedAt = jsTime(s.UpdatedAt)
	}
	v := strings.TrimSpace(s.Proxy)
	switch {
	case v == "":
	case !strings.Contains(v, "://"):
		row.Enabled, row.Host, row.Protocol = true, v, "pool"
	default:
		ep, err := proxy.Parse(v)
		if err != nil {
			return row
		}
		host, port, _ := net.SplitHostPort(ep.Addr())
		row.Enabled, row.Host, row.Port, row.Protocol, row.Username = true, host, port, ep.Scheme(), ep.User()
		if ep.HasPassword() {
			row.Password = "***"
		}
	}
	return row
}

// setting turns the DTO into wahost's proxy setting ("" when disabled).
// A password of "***" keeps the stored one.
func (d *proxyDTO) setting(stored string) (string, error) {
	if d.Enabled != nil && !*d.Enabled {
		return "", nil
	}
	proto := strings.ToLower(strings.TrimSpace(d.Protocol))
	if proto == "pool" {
		return strings.TrimSpace(d.Host), nil
	}
	if d.Host == "" || d.Port == "" {
		return "", invalid(`proxy requires "host" and "port"`)
	}
	switch proto {
	case "http", "https", "socks5":
	default:
		return "", badRequest(`proxy protocol must be http, https or socks5 (or "pool" with a pool name as host)`)
	}
	u := url.URL{Scheme: proto, Host: net.JoinHostPort(d.Host, d.Port)}
	switch {
	case d.Password == "***":
		if old, err := proxy.Parse(stored); err == nil && old.Addr() == u.Host && old.User() == d.Username {
			return old.URL(), nil
		}
		return "", badRequest("proxy password: send the password itself")
	case d.Password != "":
		u.User = url.UserPassword(d.Username, d.Password)
	case d.Username != "":
		u.User = url.User(d.Username)
	}
	return u.String(), nil
}

func (s *Server) setProxy(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body proxyDTO
	if err := decode(r, &body); err != nil {
		return err
	}
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	value, err := body.setting(set.Proxy)
	if err != nil {
		return err
	}
	if value != "" {
		if s.cfg.Proxies == nil {
			return badRequest("this host has no proxies configured")
		}
		if _, _, err := s.cfg.Proxies.Resolve(value); err != nil {
			return badRequest(err.Error())
		}
	}
	set.Proxy = value
	if err := s.cfg.Store.PutSettings(r.Context(), inst.ID, set); err != nil {
		return badRequest(err.Error())
	}
	if set, err = s.cfg.Store.Settings(r.Context(), inst.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, proxyView(inst, set))
	return nil
}

func (s *Server) findProxy(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, proxyView(inst, set))
	return nil
}
