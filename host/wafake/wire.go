package wafake

import (
	"context"
	"crypto/cipher"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// wire carries frames over one websocket: plaintext during the handshake,
// AES-GCM with per-direction counters afterwards.
type wire struct {
	writeMu      sync.Mutex // guards writeKey, writeCounter, sentEncrypted and the order of websocket writes
	writeKey     cipher.AEAD
	writeCounter uint32
	// sentEncrypted is set once a transport frame has been written.
	sentEncrypted bool

	ws *websocket.Conn

	// Read side: used only by the goroutine that reads the connection.
	dec         frameDecoder
	pending     [][]byte
	readKey     cipher.AEAD
	readCounter uint32
}

// readFrame returns the next frame, decrypted once transport keys are set.
func (w *wire) readFrame(ctx context.Context) ([]byte, error) {
	for len(w.pending) == 0 {
		typ, msg, err := w.ws.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading websocket: %w", err)
		}
		if typ != websocket.MessageBinary {
			continue
		}
		frames, err := w.dec.feed(msg)
		if err != nil {
			return nil, err
		}
		w.pending = append(w.pending, frames...)
	}
	frame := w.pending[0]
	w.pending = w.pending[1:]
	if w.readKey == nil {
		return frame, nil
	}
	plain, err := w.readKey.Open(frame[:0], nonce(w.readCounter), frame, nil)
	w.readCounter++
	if err != nil {
		return nil, fmt.Errorf("decrypting frame: %w", err)
	}
	return plain, nil
}

// writeFrame sends data as one frame in one websocket message.
func (w *wire) writeFrame(ctx context.Context, data []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if w.writeKey != nil {
		data = w.writeKey.Seal(nil, nonce(w.writeCounter), data, nil)
		w.writeCounter++
		w.sentEncrypted = true
	}
	frame, err := encodeFrame(data)
	if err != nil {
		return err
	}
	if err := w.ws.Write(ctx, websocket.MessageBinary, frame); err != nil {
		return fmt.Errorf("writing websocket: %w", err)
	}
	return nil
}

// setKeys switches the wire to transport encryption. Call it before any
// concurrent use of the wire.
func (w *wire) setKeys(read, write cipher.AEAD) {
	w.readKey = read
	w.writeMu.Lock()
	w.writeKey = write
	w.writeMu.Unlock()
}

// hasSentEncrypted reports whether a transport frame has been written.
func (w *wire) hasSentEncrypted() bool {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return w.sentEncrypted
}
