package wafake

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// handshakeResult is what the responder learns from a completed handshake.
type handshakeResult struct {
	clientStatic [32]byte
	payload      *waWa6.ClientPayload
}

// serverHandshake runs the responder side of Noise_XX over w and leaves w
// in transport mode. static is the server's long-term key; certChain the
// marshalled chain that vouches for it.
func serverHandshake(ctx context.Context, w *wire, static *keys.KeyPair, certChain []byte) (*handshakeResult, error) {
	first, err := w.readFrame(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading client hello: %w", err)
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(first, &hello); err != nil {
		return nil, fmt.Errorf("decoding client hello: %w", err)
	}
	clientEph := hello.GetClientHello().GetEphemeral()
	if len(clientEph) != 32 {
		return nil, fmt.Errorf("client hello ephemeral key has %d bytes, want 32", len(clientEph))
	}
	clientEphArr := [32]byte(clientEph)

	ns, err := newNoiseState(w.dec.header)
	if err != nil {
		return nil, err
	}
	ns.authenticate(clientEph)
	eph := keys.NewKeyPair()
	ns.authenticate(eph.Pub[:])
	if err := ns.mixSharedSecret(*eph.Priv, clientEphArr); err != nil {
		return nil, fmt.Errorf("mixing ephemeral secret: %w", err)
	}
	staticCT := ns.encrypt(static.Pub[:])
	if err := ns.mixSharedSecret(*static.Priv, clientEphArr); err != nil {
		return nil, fmt.Errorf("mixing static secret: %w", err)
	}
	certCT := ns.encrypt(certChain)
	reply, err := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: eph.Pub[:],
		Static:    staticCT,
		Payload:   certCT,
	}})
	if err != nil {
		return nil, fmt.Errorf("encoding server hello: %w", err)
	}
	if err := w.writeFrame(ctx, reply); err != nil {
		return nil, fmt.Errorf("sending server hello: %w", err)
	}

	last, err := w.readFrame(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading client finish: %w", err)
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(last, &finish); err != nil {
		return nil, fmt.Errorf("decoding client finish: %w", err)
	}
	clientStatic, err := ns.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil {
		return nil, fmt.Errorf("decrypting client static key: %w", err)
	}
	if len(clientStatic) != 32 {
		return nil, fmt.Errorf("client static key has %d bytes, want 32", len(clientStatic))
	}
	if err := ns.mixSharedSecret(*eph.Priv, [32]byte(clientStatic)); err != nil {
		return nil, fmt.Errorf("mixing client static secret: %w", err)
	}
	rawPayload, err := ns.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("decrypting client payload: %w", err)
	}
	var payload waWa6.ClientPayload
	if err := proto.Unmarshal(rawPayload, &payload); err != nil {
		return nil, fmt.Errorf("decoding client payload: %w", err)
	}
	read, write, err := ns.split()
	if err != nil {
		return nil, err
	}
	w.setKeys(read, write)
	return &handshakeResult{clientStatic: [32]byte(clientStatic), payload: &payload}, nil
}
