package wafake

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/logger"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// init installs libsignal's default logger, which libsignal otherwise
// installs lazily, without synchronisation, on first use: the first
// ecc.CalculateSignature calls from parallel goroutines (servers, devices,
// clients) would race on it. Its Debug level prints nothing.
func init() {
	logger.Debug("wafake: libsignal logger initialised")
}

// root is the process-wide certificate root. Every Server in the process
// signs its intermediate certificate with it, so one installation of its
// public half into whatsmeow.WACertPubKey serves them all.
var root struct {
	mu  sync.Mutex // guards key
	key *keys.KeyPair
}

var installRoot sync.Once

// ErrRootKeyInUse is returned by SetRootKey once the root has been used.
var ErrRootKeyInUse = errors.New("wafake: root key already in use")

// rootKey returns the root, generating a random one on first use.
func rootKey() *keys.KeyPair {
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.key == nil {
		root.key = keys.NewKeyPair()
	}
	return root.key
}

// SetRootKey makes priv, a Curve25519 private key (clamped here), the
// process-wide certificate root instead of a random one. Use it when the
// fake server and the whatsmeow client run in different processes: both
// set the same key, the client's process then calls InstallRootKey. It
// fails with ErrRootKeyInUse once a server was created or the root
// installed.
func SetRootKey(priv [32]byte) error {
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.key != nil {
		return ErrRootKeyInUse
	}
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	root.key = keys.NewKeyPairFromPrivateKey(priv)
	return nil
}

// InstallRootKey replaces whatsmeow.WACertPubKey, a process-global, with the
// public half of this package's certificate root, so that whatsmeow clients
// accept the certificate chain of every Server in the process. It does so at
// most once per process and is safe to call from many goroutines; NewServer
// calls it. Call it before any whatsmeow client starts a Noise handshake,
// because the variable is read without synchronisation by those clients.
//
// After the call the process can no longer verify the real WhatsApp servers;
// never call it in a binary that talks to them.
func InstallRootKey() {
	installRoot.Do(func() {
		whatsmeow.WACertPubKey = *rootKey().Pub
	})
}

// RootPublicKey returns the public key of the process-wide certificate root.
func RootPublicKey() [32]byte {
	return *rootKey().Pub
}

// Serials of the generated chain. The intermediate must be issued by
// whatsmeow.WACertIssuerSerial; the leaf names the intermediate as issuer.
const (
	intermediateSerial = 1
	leafSerial         = 2
	certLifetime       = 10 * 365 * 24 * time.Hour
)

// newCertChain returns the marshalled waCert.CertChain that proves the
// server static key staticPub: root → fresh intermediate → leaf(staticPub).
func newCertChain(staticPub [32]byte, now time.Time) ([]byte, error) {
	intermediate := keys.NewKeyPair()
	notBefore := uint64(now.Add(-time.Hour).Unix())
	notAfter := uint64(now.Add(certLifetime).Unix())

	interCert, err := signCert(rootKey(), &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(intermediateSerial),
		IssuerSerial: proto.Uint32(whatsmeow.WACertIssuerSerial),
		Key:          intermediate.Pub[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("signing intermediate certificate: %w", err)
	}
	leafCert, err := signCert(intermediate, &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(leafSerial),
		IssuerSerial: proto.Uint32(intermediateSerial),
		Key:          staticPub[:],
		NotBefore:    proto.Uint64(notBefore),
		NotAfter:     proto.Uint64(notAfter),
	})
	if err != nil {
		return nil, fmt.Errorf("signing leaf certificate: %w", err)
	}
	chain, err := proto.Marshal(&waCert.CertChain{Leaf: leafCert, Intermediate: interCert})
	if err != nil {
		return nil, fmt.Errorf("marshalling certificate chain: %w", err)
	}
	return chain, nil
}

func signCert(issuer *keys.KeyPair, details *waCert.CertChain_NoiseCertificate_Details) (*waCert.CertChain_NoiseCertificate, error) {
	raw, err := proto.Marshal(details)
	if err != nil {
		return nil, err
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*issuer.Priv), raw)
	return &waCert.CertChain_NoiseCertificate{Details: raw, Signature: sig[:]}, nil
}

// PublicKeyOf returns the root public key SetRootKey(priv) would install,
// so a process can check that the root in use is the one it was given.
func PublicKeyOf(priv [32]byte) [32]byte {
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	return *keys.NewKeyPairFromPrivateKey(priv).Pub
}
