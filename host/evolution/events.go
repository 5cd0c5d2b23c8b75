package evolution

import "strings"

// Events lists the event names Evolution API's webhook settings accept
// (EventController.events, v2.3.6), in its order. An enabled webhook set
// with no events subscribes to all of them, as Evolution does.
var Events = []string{
	"APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED",
	"MESSAGES_UPDATE", "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET",
	"CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE",
	"CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE",
	"LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START", "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE",
	"LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE", "STATUS_INSTANCE",
}

// wireNames are the names Evolution sends (its Events enum) where the
// plain conversion (lower case, "_" → ".") would miss them.
var wireNames = map[string]string{
	"GROUP_UPDATE":              "groups.update",
	"GROUP_PARTICIPANTS_UPDATE": "group-participants.update",
	"TYPEBOT_CHANGE_STATUS":     "typebot.change-status",
	"SEND_MESSAGE_UPDATE":       "send.message.update",
}

// WireName returns the webhook event an Evolution settings name stands
// for: CONNECTION_UPDATE gives connection.update, GROUP_PARTICIPANTS_UPDATE
// group-participants.update.
func WireName(upper string) string {
	if w, ok := wireNames[upper]; ok {
		return w
	}
	return strings.ToLower(strings.ReplaceAll(upper, "_", "."))
}

// UpperName returns the settings name of a webhook event, as Evolution
// derives it: dots and dashes become underscores, upper case.
func UpperName(wire string) string {
	if wire == "groups.update" {
		return "GROUP_UPDATE"
	}
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(wire))
}

func knownEvent(upper string) bool {
	for _, e := range Events {
		if e == upper {
			return true
		}
	}
	return false
}
