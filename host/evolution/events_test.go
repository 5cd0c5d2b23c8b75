package evolution

import (
	"testing"

	"github.com/wahost/wahost/storage"
)

func TestEventNames(t *testing.T) {
	for _, c := range []struct{ upper, wire string }{
		{"CONNECTION_UPDATE", "connection.update"},
		{"QRCODE_UPDATED", "qrcode.updated"},
		{"MESSAGES_UPSERT", "messages.upsert"},
		{"SEND_MESSAGE", "send.message"},
		{"SEND_MESSAGE_UPDATE", "send.message.update"},
		{"GROUP_PARTICIPANTS_UPDATE", "group-participants.update"},
		{"GROUP_UPDATE", "groups.update"},
		{"TYPEBOT_CHANGE_STATUS", "typebot.change-status"},
		{"REMOVE_INSTANCE", "remove.instance"},
		{"INSTANCE_CREATE", "instance.create"},
	} {
		if got := WireName(c.upper); got != c.wire {
			t.Errorf("WireName(%s) = %s, want %s", c.upper, got, c.wire)
		}
		if got := UpperName(c.wire); got != c.upper {
			t.Errorf("UpperName(%s) = %s, want %s", c.wire, got, c.upper)
		}
	}
	for _, e := range Events {
		if UpperName(WireName(e)) != e {
			t.Errorf("%s does not survive the round trip (%s)", e, WireName(e))
		}
	}
}

func TestTokenMatches(t *testing.T) {
	set := storageSettingsWithToken("B5E8-TOKEN")
	if !tokenMatches(set, "B5E8-TOKEN") || tokenMatches(set, "b5e8-token") || tokenMatches(set, "") {
		t.Error("tokenMatches does not compare the token's SHA-256 exactly")
	}
}

func storageSettingsWithToken(token string) storage.InstanceSettings {
	return storage.InstanceSettings{TokenSHA256: tokenHash(token)}
}
