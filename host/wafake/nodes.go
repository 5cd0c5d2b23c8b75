package wafake

import (
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// SuccessNode returns the <success> node that completes a login. lid, when
// not empty, is announced as the account's LID (whatsmeow stores it if the
// device has none yet).
func SuccessNode(lid types.JID, now time.Time) waBinary.Node {
	attrs := waBinary.Attrs{
		"t":        strconv.FormatInt(now.Unix(), 10),
		"props":    "1",
		"location": "wafake",
	}
	if !lid.IsEmpty() {
		attrs["lid"] = lid
	}
	return waBinary.Node{Tag: "success", Attrs: attrs}
}

// FailureNode returns <failure reason=…> with the extra attributes given,
// e.g. {"code": 101, "expire": 3600} for a temporary ban (reason 402).
func FailureNode(reason int, attrs waBinary.Attrs) waBinary.Node {
	all := waBinary.Attrs{"reason": strconv.Itoa(reason)}
	for k, v := range attrs {
		all[k] = v
	}
	return waBinary.Node{Tag: "failure", Attrs: all}
}

// StreamErrorNode returns <stream:error code=…> with the given children. An
// empty code leaves the attribute out.
func StreamErrorNode(code string, children ...waBinary.Node) waBinary.Node {
	n := waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{}}
	if code != "" {
		n.Attrs["code"] = code
	}
	if len(children) > 0 {
		n.Content = children
	}
	return n
}

// ConflictNode returns <conflict type=…/>, the child of a stream error that
// says why the stream ended: "replaced" or "device_removed".
func ConflictNode(typ string) waBinary.Node {
	return waBinary.Node{Tag: "conflict", Attrs: waBinary.Attrs{"type": typ}}
}

// PairDeviceNode returns the <iq type="set"><pair-device><ref>… request
// that gives an unpaired client its QR refs.
func PairDeviceNode(id string, refs ...string) waBinary.Node {
	children := make([]waBinary.Node, 0, len(refs))
	for _, ref := range refs {
		children = append(children, waBinary.Node{Tag: "ref", Content: []byte(ref)})
	}
	return waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": id, "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-device", Content: children}},
	}
}

// DowngradeWebclientNode returns <ib><downgrade_webclient/></ib>, sent when
// the phone scanned the QR code without multi-device support.
func DowngradeWebclientNode() waBinary.Node {
	return waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{"from": types.ServerJID},
		Content: []waBinary.Node{{Tag: "downgrade_webclient"}}}
}

// Matcher reports whether a node received from the client is the one a
// caller waits for.
type Matcher func(*waBinary.Node) bool

// IQ matches a request the client sent: an <iq> of the given xmlns and
// type ("get" or "set"); an empty argument matches any value.
func IQ(xmlns, typ string) Matcher {
	return func(n *waBinary.Node) bool {
		if n.Tag != "iq" {
			return false
		}
		ag := n.AttrGetter()
		return (xmlns == "" || ag.OptionalString("xmlns") == xmlns) &&
			(typ == "" || ag.OptionalString("type") == typ)
	}
}

// Response matches the client's answer (type "result" or "error") to the
// server's request with the given id.
func Response(id string) Matcher {
	return func(n *waBinary.Node) bool {
		if n.Tag != "iq" {
			return false
		}
		ag := n.AttrGetter()
		typ := ag.OptionalString("type")
		return ag.OptionalString("id") == id && (typ == "result" || typ == "error")
	}
}
