package wafake

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// Phone plays the primary device of a WhatsApp account: it owns the
// account identity key that signs every companion device it links. Link
// pairs a store.Device directly; Conn.Pair pairs a connected client by
// scanning its QR code.
type Phone struct {
	// JID is the account's phone-number JID, device 0.
	JID types.JID
	// LID is the account's hidden-user JID, device 0.
	LID types.JID
	// Platform is reported to linked devices, e.g. "android".
	Platform string
	// BusinessName is reported to linked devices; empty for personal accounts.
	BusinessName string
	// PushName is stored on devices linked with Link.
	PushName string
	// Now dates the identities Link signs; nil means time.Now. (Conn.Pair
	// uses the server's clock.)
	Now func() time.Time

	key     *keys.KeyPair
	devices atomic.Uint32
}

// NewPhone returns a phone for the account with the given phone number
// (digits only, e.g. "15550001234") and a random LID.
func NewPhone(number string) *Phone {
	lid, err := rand.Int(rand.Reader, big.NewInt(9e14))
	if err != nil {
		panic(fmt.Errorf("reading random lid: %w", err)) // crypto/rand does not fail
	}
	return &Phone{
		JID:      types.NewJID(number, types.DefaultUserServer),
		LID:      types.NewJID(fmt.Sprint(1e14+lid.Int64()), types.HiddenUserServer),
		Platform: "android",
		PushName: "wafake",
		key:      keys.NewKeyPair(),
	}
}

// AccountKey is the public account identity key that signs linked devices.
func (p *Phone) AccountKey() [32]byte { return *p.key.Pub }

// nextDevice allocates the JIDs of the next linked device.
func (p *Phone) nextDevice() (jid, lid types.JID) {
	return p.deviceJIDs(uint16(p.devices.Add(1)))
}

// deviceJIDs returns the JIDs of the account's device number n.
func (p *Phone) deviceJIDs(n uint16) (jid, lid types.JID) {
	jid = types.JID{User: p.JID.User, Device: n, Server: types.DefaultUserServer}
	lid = types.JID{User: p.LID.User, Device: n, Server: types.HiddenUserServer}
	return jid, lid
}

// skipDevices makes the phone's next device number greater than n.
func (p *Phone) skipDevices(n uint16) {
	for {
		cur := p.devices.Load()
		if cur >= uint32(n) || p.devices.CompareAndSwap(cur, uint32(n)) {
			return
		}
	}
}

// signDevice returns the ADV identity with which the account vouches for
// a companion whose identity key is identityPub.
func (p *Phone) signDevice(identityPub []byte, keyIndex uint32, now time.Time) (*waAdv.ADVSignedDeviceIdentity, error) {
	details, err := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID:       proto.Uint32(keyIndex),
		Timestamp:   proto.Uint64(uint64(now.Unix())),
		KeyIndex:    proto.Uint32(keyIndex),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
		DeviceType:  waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshalling device identity: %w", err)
	}
	msg := slices.Concat(whatsmeow.AdvAccountSignaturePrefix, details, identityPub)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*p.key.Priv), msg)
	return &waAdv.ADVSignedDeviceIdentity{
		Details:             details,
		AccountSignatureKey: p.key.Pub[:],
		AccountSignature:    sig[:],
	}, nil
}

// deviceSignatureMessage is what a companion signs to accept its identity.
func deviceSignatureMessage(ident *waAdv.ADVSignedDeviceIdentity, identityPub, accountKey []byte) []byte {
	return slices.Concat(whatsmeow.AdvDeviceSignaturePrefix, ident.Details, identityPub, accountKey)
}

// Link makes dev a device of this account as if it had completed QR
// pairing, without any connection: it fills in ID, LID, Account (signed by
// the phone and counter-signed by dev), Platform, BusinessName and
// PushName, saves dev, and stores the account's identity and LID mapping
// as whatsmeow does after pairing. dev must come from a store container
// (e.g. sqlstore.Container.NewDevice) and not be paired yet. The client
// then logs in with this device, and a Server answers with <success>.
func (p *Phone) Link(ctx context.Context, dev *store.Device) (types.JID, error) {
	if dev.ID != nil {
		return types.EmptyJID, fmt.Errorf("linking device: already paired as %s", dev.ID)
	}
	jid, lid := p.nextDevice()
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	ident, err := p.signDevice(dev.IdentityKey.Pub[:], uint32(jid.Device), now())
	if err != nil {
		return types.EmptyJID, fmt.Errorf("linking device: %w", err)
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*dev.IdentityKey.Priv),
		deviceSignatureMessage(ident, dev.IdentityKey.Pub[:], p.key.Pub[:]))
	ident.DeviceSignature = sig[:]

	dev.Account = ident
	dev.ID = &jid
	dev.LID = lid
	dev.Platform = p.Platform
	dev.BusinessName = p.BusinessName
	dev.PushName = p.PushName
	if err := dev.Save(ctx); err != nil {
		dev.ID = nil
		return types.EmptyJID, fmt.Errorf("saving linked device: %w", err)
	}
	if err := dev.LIDs.PutLIDMapping(ctx, lid, jid); err != nil {
		return types.EmptyJID, fmt.Errorf("storing lid mapping: %w", err)
	}
	if err := dev.Identities.PutIdentity(ctx, p.LID.SignalAddress().String(), *p.key.Pub); err != nil {
		return types.EmptyJID, fmt.Errorf("storing account identity: %w", err)
	}
	return jid, nil
}
