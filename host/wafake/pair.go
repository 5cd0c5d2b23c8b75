package wafake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// ErrQRMismatch reports a QR code that was not shown by the connection
// asked to pair with it.
var ErrQRMismatch = errors.New("wafake: qr code does not belong to this connection")

// PairRejectedError is the client's refusal of a pair-success, e.g. code
// 401 "hmac-mismatch" or 500 "internal-error" (a PrePairCallback veto).
type PairRejectedError struct {
	Code int
	Text string
}

var _ error = (*PairRejectedError)(nil)

// Error implements error.
func (e *PairRejectedError) Error() string {
	return fmt.Sprintf("wafake: client rejected pairing: %d %s", e.Code, e.Text)
}

// QRCode is the content of a whatsmeow QR code: the server's ref and the
// client's noise key, identity key and ADV secret.
type QRCode struct {
	Ref         string
	NoiseKey    [32]byte
	IdentityKey [32]byte
	AdvSecret   []byte
}

// ParseQRCode decodes "ref,base64(noise),base64(identity),base64(adv)".
func ParseQRCode(code string) (QRCode, error) {
	parts := strings.Split(code, ",")
	if len(parts) != 4 {
		return QRCode{}, fmt.Errorf("parsing qr code: %d comma-separated parts, want 4", len(parts))
	}
	var raw [3][]byte
	for i, part := range parts[1:] {
		b, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			return QRCode{}, fmt.Errorf("parsing qr code part %d: %w", i+2, err)
		}
		raw[i] = b
	}
	if len(raw[0]) != 32 || len(raw[1]) != 32 || len(raw[2]) == 0 {
		return QRCode{}, errors.New("parsing qr code: wrong key lengths")
	}
	return QRCode{Ref: parts[0], NoiseKey: [32]byte(raw[0]), IdentityKey: [32]byte(raw[1]), AdvSecret: raw[2]}, nil
}

// Pair plays the phone scanning qrCode, a code the client on this
// connection showed (events.QR / the QR channel): it sends pair-success
// with a device identity signed by phone and authenticated with the
// client's ADV secret, and checks the client's counter-signature. The
// client saves the device and emits events.PairSuccess. Pair returns the
// new device JID, or *PairRejectedError when the client refuses.
//
// WhatsApp follows a successful pairing with <stream:error code="515"/>
// (restart required) and a close; Pair leaves that to the caller: run
// StreamError("515"), or send StreamErrorNode("515") and let a client
// without DisableLoginAutoReconnect close the stream and log in again by
// itself.
func (c *Conn) Pair(ctx context.Context, phone *Phone, qrCode string) (types.JID, error) {
	qr, err := ParseQRCode(qrCode)
	if err != nil {
		return types.EmptyJID, err
	}
	c.mu.Lock()
	knownRef := slices.Contains(c.refs, qr.Ref)
	c.mu.Unlock()
	if qr.NoiseKey != c.clientStatic || !knownRef {
		return types.EmptyJID, ErrQRMismatch
	}

	jid, lid := c.srv.nextDevice(phone)
	ident, err := phone.signDevice(qr.IdentityKey[:], uint32(jid.Device), c.srv.cfg.Now())
	if err != nil {
		return types.EmptyJID, err
	}
	details, err := proto.Marshal(ident)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("marshalling signed identity: %w", err)
	}
	mac := hmac.New(sha256.New, qr.AdvSecret)
	mac.Write(details)
	container, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{
		Details:     details,
		HMAC:        mac.Sum(nil),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("marshalling identity container: %w", err)
	}

	resp, err := c.Request(ctx, pairSuccessNode(c.NewID(), container, jid, lid, phone))
	if err != nil {
		return types.EmptyJID, fmt.Errorf("sending pair-success: %w", err)
	}
	if err := checkPairReply(resp, qr.IdentityKey[:], phone.key.Pub[:]); err != nil {
		return types.EmptyJID, err
	}
	return jid, nil
}

func pairSuccessNode(id string, container []byte, jid, lid types.JID, phone *Phone) waBinary.Node {
	children := []waBinary.Node{
		{Tag: "device-identity", Content: container},
		{Tag: "device", Attrs: waBinary.Attrs{"jid": jid, "lid": lid}},
		{Tag: "platform", Attrs: waBinary.Attrs{"name": phone.Platform}},
	}
	if phone.BusinessName != "" {
		children = append(children, waBinary.Node{Tag: "biz", Attrs: waBinary.Attrs{"name": phone.BusinessName}})
	}
	return waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": id, "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: children}},
	}
}

// checkPairReply verifies the client's pair-device-sign: its identity
// must carry a valid device signature by the companion's identity key.
func checkPairReply(resp *waBinary.Node, identityPub, accountKey []byte) error {
	if resp.AttrGetter().OptionalString("type") == "error" {
		errNode := resp.GetChildByTag("error")
		e := errNode.AttrGetter()
		return &PairRejectedError{Code: e.OptionalInt("code"), Text: e.OptionalString("text")}
	}
	raw, _ := resp.GetChildByTag("pair-device-sign", "device-identity").Content.([]byte)
	var signed waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(raw, &signed); err != nil {
		return fmt.Errorf("decoding pair-device-sign: %w", err)
	}
	if len(signed.DeviceSignature) != 64 {
		return errors.New("pair-device-sign: missing device signature")
	}
	msg := deviceSignatureMessage(&signed, identityPub, accountKey)
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(identityPub)), msg, [64]byte(signed.DeviceSignature)) {
		return errors.New("pair-device-sign: invalid device signature")
	}
	return nil
}
