package host

import (
	"context"
	"net"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/storage"
)

// DefaultProbeAddr is the endpoint whatsmeow dials, probed by diagnostics.
const DefaultProbeAddr = "web.whatsapp.com:443"

// probeTimeout bounds each network probe of a diagnostics report.
const probeTimeout = 3 * time.Second

// Diagnostics is an instance's diagnostics report.
type Diagnostics struct {
	Instance struct {
		ID              string         `json:"id"`
		Name            string         `json:"name"`
		Status          storage.Status `json:"status"`
		LastCode        int            `json:"last_code,omitempty"`
		DisconnectionAt *time.Time     `json:"disconnection_at,omitempty"`
		QRCount         int            `json:"qr_count"`
		Attempt         int            `json:"attempt"`
		Step            int            `json:"step"`
	} `json:"instance"`
	Session     api.SessionState `json:"session"`
	Credentials struct {
		// Paired: the instance has an account; Keys: whatsmeow's device
		// row and keys exist for it.
		Paired bool   `json:"paired"`
		Keys   bool   `json:"keys"`
		JID    string `json:"jid,omitempty"`
		Error  string `json:"error,omitempty"`
	} `json:"credentials"`
	PendingReconnect *struct {
		Due  time.Time `json:"due"`
		Step int       `json:"step"`
	} `json:"pending_reconnect,omitempty"`
	// Proxy is the proxy the instance goes through; absent for a direct
	// connection. With one, Network probes WhatsApp through it.
	Proxy   *ProxyReport `json:"proxy,omitempty"`
	Network struct {
		DNS Probe `json:"dns"`
		TCP Probe `json:"tcp"`
	} `json:"network"`
	Recent []recentDisconnect `json:"recent_disconnects"`
	Policy struct {
		SHA256  string `json:"sha256,omitempty"`
		Healthy bool   `json:"healthy"`
	} `json:"policy"`
}

// Probe is one network check.
type Probe struct {
	Target    string   `json:"target"`
	OK        bool     `json:"ok"`
	Addresses []string `json:"addresses,omitempty"`
	Millis    int64    `json:"ms"`
	Error     string   `json:"error,omitempty"`
}

type recentDisconnect struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Code     int       `json:"code"`
	Cause    string    `json:"cause,omitempty"`
	Action   string    `json:"action"`
	Rule     string    `json:"rule,omitempty"`
	Fallback bool      `json:"fallback,omitempty"`
}

// diagnose builds the report; every part that fails says so in place.
func (h *Host) diagnose(ctx context.Context, inst storage.Instance) any {
	var d Diagnostics
	d.Instance.ID, d.Instance.Name, d.Instance.Status = inst.ID, inst.Name, inst.Status
	d.Instance.LastCode, d.Instance.DisconnectionAt = inst.DisconnectionReasonCode, inst.DisconnectionAt
	d.Instance.QRCount, d.Instance.Attempt, d.Instance.Step = inst.QRCount, inst.Attempt, inst.Step
	d.Session = h.sessionState(inst.ID)

	d.Credentials.Paired, d.Credentials.JID = inst.OwnerJID != "", inst.OwnerJID
	if inst.OwnerJID != "" {
		keys, err := h.devices.HasDevice(ctx, inst.OwnerJID)
		d.Credentials.Keys = keys
		if err != nil {
			d.Credentials.Error = err.Error()
		}
	}
	if job, ok := h.sched.Pending(inst.ID); ok {
		d.PendingReconnect = &struct {
			Due  time.Time `json:"due"`
			Step int       `json:"step"`
		}{job.Due.UTC(), job.Step}
	}
	if !h.diagnoseProxy(ctx, inst.ID, &d) {
		d.Network.DNS, d.Network.TCP = probe(ctx, h.probeAddr)
	}

	rows, err := h.store.ListDisconnects(ctx, inst.ID, 0, 10)
	if err == nil {
		for _, r := range rows {
			d.Recent = append(d.Recent, recentDisconnect{
				At: r.At, Kind: r.Kind, Code: r.Code, Cause: r.Cause, Action: r.Action, Rule: r.Rule, Fallback: r.Fallback,
			})
		}
	}
	st := h.policy.Status()
	d.Policy.SHA256, d.Policy.Healthy = st.Active.SHA256, st.Active.Healthy
	return d
}

// probe resolves addr's host and opens a TCP connection to it.
func probe(ctx context.Context, addr string) (dns, tcp Probe) {
	host, _, err := net.SplitHostPort(addr)
	dns.Target, tcp.Target = host, addr
	if err != nil {
		dns.Error, tcp.Error = err.Error(), err.Error()
		return dns, tcp
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	dns.Millis = time.Since(start).Milliseconds()
	if err != nil {
		dns.Error = err.Error()
	} else {
		dns.OK, dns.Addresses = true, addrs
	}
	start = time.Now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	tcp.Millis = time.Since(start).Milliseconds()
	if err != nil {
		tcp.Error = err.Error()
		return dns, tcp
	}
	_ = conn.Close()
	tcp.OK = true
	return dns, tcp
}
