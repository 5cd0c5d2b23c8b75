package wafake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"go.mau.fi/whatsmeow/socket"
)

// noiseState is the responder side of WhatsApp's
// Noise_XX_25519_AESGCM_SHA256 handshake, the mirror image of
// whatsmeow's socket.NoiseHandshake (whose salt is not exported, so the
// final split cannot be reused from there).
type noiseState struct {
	hash    []byte
	salt    []byte
	key     cipher.AEAD
	counter uint32
}

// newNoiseState starts the handshake with the connection header the
// client sent as prologue.
func newNoiseState(header []byte) (*noiseState, error) {
	pattern := []byte(socket.NoiseStartPattern)
	h := pattern
	if len(pattern) != sha256.Size {
		sum := sha256.Sum256(pattern)
		h = sum[:]
	}
	key, err := newGCM(h)
	if err != nil {
		return nil, err
	}
	ns := &noiseState{hash: h, salt: h, key: key}
	ns.authenticate(header)
	return ns, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating gcm: %w", err)
	}
	return aead, nil
}

// nonce returns the 12-byte IV WhatsApp uses: the counter, big-endian, in
// the last four bytes.
func nonce(counter uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], counter)
	return iv
}

func (ns *noiseState) authenticate(data []byte) {
	sum := sha256.Sum256(append(ns.hash, data...))
	ns.hash = sum[:]
}

func (ns *noiseState) encrypt(plaintext []byte) []byte {
	ct := ns.key.Seal(nil, nonce(ns.counter), plaintext, ns.hash)
	ns.counter++
	ns.authenticate(ct)
	return ct
}

func (ns *noiseState) decrypt(ciphertext []byte) ([]byte, error) {
	pt, err := ns.key.Open(nil, nonce(ns.counter), ciphertext, ns.hash)
	ns.counter++
	if err != nil {
		return nil, err
	}
	ns.authenticate(ciphertext)
	return pt, nil
}

// mixSharedSecret mixes X25519(priv, pub) into the chaining key.
func (ns *noiseState) mixSharedSecret(priv, pub [32]byte) error {
	sk, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return fmt.Errorf("parsing private key: %w", err)
	}
	pk, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return fmt.Errorf("parsing public key: %w", err)
	}
	secret, err := sk.ECDH(pk)
	if err != nil {
		return fmt.Errorf("computing shared secret: %w", err)
	}
	return ns.mixIntoKey(secret)
}

func (ns *noiseState) mixIntoKey(data []byte) error {
	ns.counter = 0
	write, read, err := expand(ns.salt, data)
	if err != nil {
		return err
	}
	ns.salt = write
	ns.key, err = newGCM(read)
	return err
}

// split derives the transport keys. The client writes with the first key
// and reads with the second, so the server does the opposite.
func (ns *noiseState) split() (read, write cipher.AEAD, err error) {
	clientWrite, clientRead, err := expand(ns.salt, nil)
	if err != nil {
		return nil, nil, err
	}
	if read, err = newGCM(clientWrite); err != nil {
		return nil, nil, err
	}
	if write, err = newGCM(clientRead); err != nil {
		return nil, nil, err
	}
	return read, write, nil
}

func expand(salt, secret []byte) (first, second []byte, err error) {
	out, err := hkdf.Key(sha256.New, secret, salt, "", 64)
	if err != nil {
		return nil, nil, fmt.Errorf("deriving keys: %w", err)
	}
	return out[:32], out[32:], nil
}
