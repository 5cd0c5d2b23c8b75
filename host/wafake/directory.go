package wafake

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.mau.fi/whatsmeow/types"
)

// directory is the server's view of the WhatsApp world that the relay
// needs: registered users, each device's uploaded keys, groups, stored
// media, live connections, offline queues and fault settings.
type directory struct {
	mu         sync.Mutex                // guards every field below
	users      map[string]*user          // by phone number (JID.User)
	keys       map[types.JID]*deviceKeys // by device JID
	removed    map[types.JID]bool        // devices unlinked with RemoveDevice
	online     map[types.JID]*Conn       // the logged-in connection of each device
	pending    map[types.JID][]queued    // stanzas waiting for a device
	faults     map[types.JID]*faults
	groups     map[types.JID]*group
	media      map[string][]byte             // uploaded blobs by id
	conns      map[types.JID]int             // connections per device JID
	live       map[types.JID]*Conn           // the newest open connection of each device
	watchers   map[string]map[types.JID]bool // devices that fetched a user's device list, by phone number
	lastDevice map[string]uint16             // the highest device number paired through the server, by phone number
	ended      map[types.JID]connEnd         // how each device's latest connection ended
	rateLimit  RateLimit
	refusals   int
	conflicts  int
	ids        int
	relayed    relayLog
}

// user is a registered WhatsApp account.
type user struct {
	jid       types.JID
	pushName  string
	picture   []byte
	pictureID string
}

func newDirectory(limit RateLimit) directory {
	return directory{
		rateLimit:  limit,
		users:      make(map[string]*user),
		keys:       make(map[types.JID]*deviceKeys),
		removed:    make(map[types.JID]bool),
		online:     make(map[types.JID]*Conn),
		pending:    make(map[types.JID][]queued),
		faults:     make(map[types.JID]*faults),
		groups:     make(map[types.JID]*group),
		media:      make(map[string][]byte),
		conns:      make(map[types.JID]int),
		ended:      make(map[types.JID]connEnd),
		live:       make(map[types.JID]*Conn),
		watchers:   make(map[string]map[types.JID]bool),
		lastDevice: make(map[string]uint16),
		relayed:    relayLog{changed: make(chan struct{})},
	}
}

// nextIDLocked returns an id unique within the server, for the stanzas the
// relay makes up (notifications, group ids, media ids).
func (d *directory) nextIDLocked() int {
	d.ids++
	return d.ids
}

// userLocked returns the registered user with jid's phone number,
// registering it when add is set.
func (d *directory) userLocked(jid types.JID, add bool) *user {
	u := d.users[jid.User]
	if u == nil && add {
		u = &user{jid: types.NewJID(jid.User, types.DefaultUserServer)}
		d.users[jid.User] = u
	}
	return u
}

// devicesLocked returns the devices of the user that have uploaded keys,
// by device id.
func (d *directory) devicesLocked(userJID types.JID) []types.JID {
	var out []types.JID
	for jid := range d.keys {
		if jid.User == userJID.User && jid.Server == types.DefaultUserServer {
			out = append(out, jid)
		}
	}
	slices.SortFunc(out, func(a, b types.JID) int { return int(a.Device) - int(b.Device) })
	return out
}

// nextDevice allocates the JIDs of a device that phone links through
// this server. Like WhatsApp, the server numbers an account's devices: the
// number is past every device of that phone number the server has seen
// (paired, connected or with uploaded keys), whichever Phone value links
// it, so two pairings of one number never share a device JID.
func (s *Server) nextDevice(phone *Phone) (jid, lid types.JID) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	user := phone.JID.User
	last := s.dir.lastDevice[user]
	for dev := range s.dir.keys {
		if dev.User == user && dev.Server == types.DefaultUserServer {
			last = max(last, dev.Device)
		}
	}
	for dev := range s.dir.conns {
		if dev.User == user && dev.Server == types.DefaultUserServer {
			last = max(last, dev.Device)
		}
	}
	phone.skipDevices(last)
	jid, lid = phone.nextDevice()
	s.dir.lastDevice[user] = jid.Device
	return jid, lid
}

// RegisterUser makes phone (digits, an optional leading "+") a registered
// user of this server and returns its JID. Users are also registered when
// one of their devices logs in.
func (s *Server) RegisterUser(phone string) (types.JID, error) {
	number := normalizePhone(phone)
	if number == "" {
		return types.EmptyJID, fmt.Errorf("registering user: %q is not a phone number", phone)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.userLocked(types.NewJID(number, types.DefaultUserServer), true).jid, nil
}

// SetPushName sets the name relayed messages of user carry as notify
// (events.Message Info.PushName). A client's <presence name=…> sets it too.
func (s *Server) SetPushName(userJID types.JID, name string) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.userLocked(userJID, true).pushName = name
}

// Devices returns the devices of user that have uploaded keys: the ones
// usync lists and messages reach.
func (s *Server) Devices(userJID types.JID) []types.JID {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	return s.dir.devicesLocked(userJID)
}

// normalizePhone keeps the digits of a phone number ("+1 555-000" →
// "1555000"); it returns "" for anything with letters.
func normalizePhone(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	return b.String()
}
