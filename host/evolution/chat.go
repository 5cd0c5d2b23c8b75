package evolution

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	msgevo "github.com/wahost/wahost/host/messaging/evolution"
	"github.com/wahost/wahost/storage"
)

// setPresence shows the number's presence: available or unavailable.
func (s *Server) setPresence(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Presence *string `json:"presence"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Presence == nil {
		return invalid(`instance requires property "presence"`)
	}
	switch *body.Presence {
	case "unavailable", "available", "composing", "recording", "paused":
	default:
		return invalid("presence is not one of enum values: unavailable,available,composing,recording,paused")
	}
	if err := s.cfg.Messaging.SendPresence(r.Context(), inst.ID, "", message.Presence(*body.Presence)); err != nil {
		// Evolution answers a refused presence with
		// BadRequestException(error.toString()).
		if e := asError(messagingError(err)); e.Status != http.StatusInternalServerError {
			return e
		}
		return badRequest(err.Error())
	}
	writeJSON(w, http.StatusCreated, map[string]string{"presence": *body.Presence})
	return nil
}

// numberCheck is one answer of whatsappNumbers.
type numberCheck struct {
	Exists bool   `json:"exists"`
	JID    string `json:"jid"`
	Number string `json:"number"`
}

func (s *Server) whatsappNumbers(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Numbers []string `json:"numbers"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Numbers == nil {
		return invalid(`instance requires property "numbers"`)
	}
	checks, err := s.cfg.Messaging.CheckNumbers(r.Context(), inst.ID, body.Numbers)
	if err != nil {
		return messagingError(err)
	}
	out := make([]numberCheck, 0, len(checks))
	for _, c := range checks {
		jid := c.JID
		if jid == "" {
			jid, _ = messaging.NormalizeJID("number", c.Query)
		}
		out = append(out, numberCheck{Exists: c.Exists, JID: jid, Number: c.Query})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		ReadMessages []struct {
			ID        string `json:"id"`
			RemoteJID string `json:"remoteJid"`
			FromMe    bool   `json:"fromMe"`
		} `json:"readMessages"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ReadMessages == nil {
		return invalid(`instance requires property "readMessages"`)
	}
	byChat := map[string][]string{}
	var chats []string
	for _, m := range body.ReadMessages {
		if m.ID == "" || m.RemoteJID == "" {
			return invalid(`readMessages requires property "id" and "remoteJid"`)
		}
		if _, ok := byChat[m.RemoteJID]; !ok {
			chats = append(chats, m.RemoteJID)
		}
		byChat[m.RemoteJID] = append(byChat[m.RemoteJID], m.ID)
	}
	for _, chat := range chats {
		if _, err := s.cfg.Messaging.MarkRead(r.Context(), inst.ID, chat, byChat[chat]); err != nil {
			return messagingError(err)
		}
	}
	writeJSON(w, http.StatusCreated, map[string]string{"message": "Read messages", "read": "success"})
	return nil
}

func (s *Server) profilePicture(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Number *string `json:"number"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Number == nil {
		return invalid(`instance requires property "number"`)
	}
	jid, err := messaging.NormalizeJID("number", *body.Number)
	if err != nil {
		return messagingError(err)
	}
	url, err := s.cfg.Messaging.ProfilePictureURL(r.Context(), inst.ID, jid)
	if err != nil {
		return messagingError(err)
	}
	var pic *string
	if url != "" {
		pic = &url
	}
	writeJSON(w, http.StatusOK, map[string]any{"wuid": jid, "profilePictureUrl": pic})
	return nil
}

// mediaAnswer is getBase64FromMediaMessage's answer.
type mediaAnswer struct {
	MediaType string `json:"mediaType"`
	FileName  string `json:"fileName"`
	Caption   string `json:"caption,omitempty"`
	Size      struct {
		FileLength int `json:"fileLength"`
		Height     int `json:"height,omitempty"`
		Width      int `json:"width,omitempty"`
	} `json:"size"`
	MIMEType string  `json:"mimetype"`
	Base64   string  `json:"base64"`
	Buffer   *string `json:"buffer"`
}

func (s *Server) mediaBase64(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Message *struct {
			Key struct {
				ID string `json:"id"`
			} `json:"key"`
		} `json:"message"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Message == nil || body.Message.Key.ID == "" {
		return invalid(`instance requires property "message"`)
	}
	id := body.Message.Key.ID
	m, err := s.cfg.Messaging.Message(r.Context(), inst.ID, id)
	if err != nil {
		return messagingError(err)
	}
	data, mime, err := s.cfg.Messaging.Media(r.Context(), inst.ID, id)
	if err != nil {
		return messagingError(err)
	}
	out := mediaAnswer{MediaType: m.Type, MIMEType: mime, Base64: base64.StdEncoding.EncodeToString(data)}
	out.Size.FileLength = len(data)
	var content map[string]struct {
		Caption  string `json:"caption"`
		FileName string `json:"fileName"`
		Height   int    `json:"height"`
		Width    int    `json:"width"`
	}
	if json.Unmarshal(messaging.Content(m), &content) == nil {
		c := content[m.Type]
		out.Caption, out.FileName, out.Size.Height, out.Size.Width = c.Caption, c.FileName, c.Height, c.Width
	}
	if out.FileName == "" {
		out.FileName = id + extension(mime)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func extension(mime string) string {
	_, sub, ok := strings.Cut(strings.SplitN(mime, ";", 2)[0], "/")
	if !ok {
		return ""
	}
	return "." + sub
}

// record is one message as findMessages lists it (Evolution's Message
// row).
type record struct {
	ID               string          `json:"id"`
	Key              msgevo.Key      `json:"key"`
	PushName         string          `json:"pushName"`
	MessageType      string          `json:"messageType"`
	Message          json.RawMessage `json:"message"`
	MessageTimestamp int64           `json:"messageTimestamp"`
	InstanceID       string          `json:"instanceId"`
	Source           string          `json:"source"`
	Status           string          `json:"status"`
	ContextInfo      any             `json:"contextInfo"`
	MessageUpdate    []any           `json:"MessageUpdate"`
}

// findMessages pages through the stored messages, newest first, filtered
// by where.key (remoteJid, fromMe, id).
func (s *Server) findMessages(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Where struct {
			Key struct {
				ID        string `json:"id"`
				FromMe    *bool  `json:"fromMe"`
				RemoteJID string `json:"remoteJid"`
			} `json:"key"`
		} `json:"where"`
		Page   int `json:"page"`
		Offset int `json:"offset"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	page, size := max(body.Page, 1), body.Offset
	if size <= 0 {
		size = 50
	}
	var list []storage.Message
	if id := body.Where.Key.ID; id != "" {
		m, err := s.cfg.Messaging.Message(r.Context(), inst.ID, id)
		if err == nil {
			list = append(list, m)
		} else if err := messagingError(err); asError(err).Status != http.StatusNotFound {
			return err
		}
	} else {
		chat := body.Where.Key.RemoteJID
		if chat != "" {
			jid, err := messaging.NormalizeJID("where.key.remoteJid", chat)
			if err != nil {
				return messagingError(err)
			}
			chat = jid
		}
		var err error
		list, err = s.cfg.Messaging.List(r.Context(), storage.MessageQuery{InstanceID: inst.ID, Chat: chat,
			FromMe: body.Where.Key.FromMe, Limit: min(page*size, storage.MaxPage)})
		if err != nil {
			return messagingError(err)
		}
	}
	total := len(list)
	from := min((page-1)*size, total)
	records := make([]record, 0, min(size, total-from))
	for _, m := range list[from:min(from+size, total)] {
		doc := recordOf(m)
		records = append(records, doc)
	}
	pages := (total + size - 1) / size
	writeJSON(w, http.StatusOK, map[string]any{"messages": map[string]any{
		"total": total, "pages": pages, "currentPage": page, "records": records,
	}})
	return nil
}

func recordOf(m storage.Message) record {
	ts := m.Timestamp
	if ts.IsZero() {
		ts = m.CreatedAt
	}
	var pushName string
	if !m.FromMe {
		var doc struct {
			PushName string `json:"pushName"`
		}
		_ = json.Unmarshal(m.Payload, &doc)
		pushName = doc.PushName
	}
	return record{
		ID: m.ID, Key: msgevo.Key{RemoteJID: m.Chat, FromMe: m.FromMe, ID: m.ID, Participant: m.Sender},
		PushName: pushName, MessageType: m.Type, Message: messaging.Content(m), MessageTimestamp: ts.Unix(),
		InstanceID: m.InstanceID, Source: msgevo.Source(m.ID), Status: msgevo.StatusOf(m.Status),
		MessageUpdate: []any{},
	}
}
