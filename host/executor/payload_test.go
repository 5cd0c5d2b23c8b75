package executor

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wahost/wahost/abi"
)

// TestPayloadEncoding: the payloads that write their own JSON write what
// encoding/json writes (with HTML escaping off, as the webhook envelopes
// are written), so that receivers see the same bytes either way.
func TestPayloadEncoding(t *testing.T) {
	odd := []string{"", "plain", `quote " back \ slash`, "<a href='x?a=1&b=2'>", "ünïcödé 😀", "tab\tnew\nline\x01",
		"line\u2028para\u2029", "bad \xff utf8 \xc3"}
	doc := json.RawMessage(`{"v":1,"action":"reconnect","delay_ms":2000,"step":1,"rule":"transient","reason":"x <y>"}`)
	var payloads []interface{ AppendJSON([]byte) []byte }
	for i, s := range odd {
		payloads = append(payloads,
			connectionUpdate{Instance: s, State: "connecting", StatusReason: 428 + i, WUID: s, ProfileName: s, ProfilePictureURL: s},
			connectionUpdate{Instance: "x", State: s, StatusReason: -i},
			decided{Instance: s, Kind: "disconnected", Code: 515, Cause: "none", Message: s, Attempt: i, Decision: doc,
				PolicySHA256: s, Fallback: i%2 == 0, Proxy: s, ProxyTo: s},
			decided{Instance: "x", Kind: "qr_limit", Cause: abi.Cause("cause " + s)},
		)
	}
	for _, p := range payloads {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		if got := p.AppendJSON([]byte("prefix")); string(got) != "prefix"+string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("AppendJSON = %s\nencoding/json: %s", got[len("prefix"):], want.Bytes())
		}
	}
}
