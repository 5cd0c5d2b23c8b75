package evolution

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/wahost/wahost/storage"
)

// clientName is the clientName of the rows fetchInstances lists
// (Evolution's DATABASE_CONNECTION_CLIENT_NAME).
const clientName = "wahost"

// instanceRow is Evolution's Instance row with its relations, as
// fetchInstances lists it (monitor.service.ts instanceInfo).
type instanceRow struct {
	ID                      string          `json:"id"`
	Name                    string          `json:"name"`
	ConnectionStatus        string          `json:"connectionStatus"`
	OwnerJID                *string         `json:"ownerJid"`
	ProfileName             *string         `json:"profileName"`
	ProfilePicURL           *string         `json:"profilePicUrl"`
	Integration             string          `json:"integration"`
	Number                  *string         `json:"number"`
	BusinessID              *string         `json:"businessId"`
	Token                   *string         `json:"token"`
	ClientName              string          `json:"clientName"`
	DisconnectionReasonCode *int            `json:"disconnectionReasonCode"`
	DisconnectionObject     json.RawMessage `json:"disconnectionObject"`
	DisconnectionAt         *string         `json:"disconnectionAt"`
	CreatedAt               string          `json:"createdAt"`
	UpdatedAt               string          `json:"updatedAt"`
	Chatwoot                *struct{}       `json:"Chatwoot"`
	Proxy                   *struct{}       `json:"Proxy"`
	Rabbitmq                *struct{}       `json:"Rabbitmq"`
	Nats                    *struct{}       `json:"Nats"`
	Sqs                     *struct{}       `json:"Sqs"`
	Websocket               *struct{}       `json:"Websocket"`
	Setting                 settingRow      `json:"Setting"`
	Count                   struct {
		Message int `json:"Message"`
		Contact int `json:"Contact"`
		Chat    int `json:"Chat"`
	} `json:"_count"`
}

// settingRow is Evolution's Setting row.
type settingRow struct {
	ID string `json:"id"`
	instanceSettings
	CreatedAt  string `json:"createdAt"`
	UpdatedAt  string `json:"updatedAt"`
	InstanceID string `json:"instanceId"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) row(inst storage.Instance, set storage.InstanceSettings) instanceRow {
	row := instanceRow{
		ID: inst.ID, Name: inst.Name, ConnectionStatus: string(inst.Status),
		OwnerJID: orNull(userJID(inst.OwnerJID)), ProfileName: orNull(inst.ProfileName),
		ProfilePicURL: orNull(inst.ProfilePictureURL), Integration: Integration, Token: orNull(set.Token),
		ClientName: clientName, DisconnectionObject: inst.DisconnectionObject,
		CreatedAt: jsTime(inst.CreatedAt), UpdatedAt: jsTime(inst.UpdatedAt),
		Setting: settingRow{ID: inst.ID, CreatedAt: jsTime(inst.CreatedAt), UpdatedAt: jsTime(inst.UpdatedAt), InstanceID: inst.ID},
	}
	if user, _, ok := strings.Cut(userJID(inst.OwnerJID), "@"); ok {
		row.Number = &user
	}
	if inst.DisconnectionAt != nil {
		at := jsTime(*inst.DisconnectionAt)
		row.DisconnectionAt, row.DisconnectionReasonCode = &at, &inst.DisconnectionReasonCode
	}
	if len(row.DisconnectionObject) == 0 {
		row.DisconnectionObject = json.RawMessage("null")
	}
	return row
}

// fetchInstances lists instances, filtered by the instanceName,
// instanceId and number query parameters. An instance's token lists only
// its own instance.
func (s *Server) fetchInstances(w http.ResponseWriter, r *http.Request, _ storage.Instance) error {
	ctx := r.Context()
	q := r.URL.Query()
	name, id, number := q.Get("instanceName"), q.Get("instanceId"), q.Get("number")
	all, err := s.cfg.Store.ListInstances(ctx)
	if err != nil {
		return err
	}
	global := s.isGlobal(r)
	rows := []instanceRow{}
	for _, inst := range all {
		if name != "" && inst.Name != name || id != "" && inst.ID != id {
			continue
		}
		set, err := s.cfg.Store.Settings(ctx, inst.ID)
		if err != nil {
			return err
		}
		if !global && !tokenMatches(set, r.Header.Get("apikey")) {
			continue
		}
		row := s.row(inst, set)
		if number != "" && (row.Number == nil || *row.Number != strings.TrimPrefix(number, "+")) {
			continue
		}
		rows = append(rows, row)
	}
	if !global && len(rows) == 0 {
		return unauthorized()
	}
	if len(rows) == 0 {
		switch {
		case id != "":
			return notFound(fmt.Sprintf("Instance %q not found", id))
		case number != "":
			return notFound(fmt.Sprintf("Instance %q not found", number))
		case name != "":
			return notFound(fmt.Sprintf("Instance %q not found", name))
		}
	}
	writeJSON(w, http.StatusOK, rows)
	return nil
}

// userJID drops a JID's device part ("5511...:12@s.whatsapp.net" →
// "5511...@s.whatsapp.net"), as Evolution stores ownerJid.
func userJID(jid string) string {
	user, server, ok := strings.Cut(jid, "@")
	if !ok {
		return jid
	}
	user, _, _ = strings.Cut(user, ":")
	return user + "@" + server
}
