package wafake

import (
	"bytes"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow/socket"
)

// ErrBadHeader reports a connection whose first bytes are not WhatsApp's
// connection header ("WA", magic, dictionary version).
var ErrBadHeader = errors.New("wafake: bad connection header")

// frameDecoder splits the client's websocket messages into frames: an
// optional one-time connection header, then frames of a 3-byte big-endian
// length followed by that many bytes. Messages and frames need not align.
type frameDecoder struct {
	header []byte // the connection header once it has been read
	buf    []byte
}

// feed appends one websocket message and returns every frame it completes.
func (d *frameDecoder) feed(msg []byte) ([][]byte, error) {
	d.buf = append(d.buf, msg...)
	if d.header == nil {
		n := len(socket.WAConnHeader)
		if len(d.buf) < n {
			if !bytes.HasPrefix(socket.WAConnHeader, d.buf) {
				return nil, ErrBadHeader
			}
			return nil, nil
		}
		if !bytes.Equal(d.buf[:n], socket.WAConnHeader) {
			return nil, fmt.Errorf("%w: % x", ErrBadHeader, d.buf[:n])
		}
		d.header = bytes.Clone(d.buf[:n])
		d.buf = d.buf[n:]
	}
	var frames [][]byte
	for len(d.buf) >= socket.FrameLengthSize {
		size := int(d.buf[0])<<16 | int(d.buf[1])<<8 | int(d.buf[2])
		end := socket.FrameLengthSize + size
		if len(d.buf) < end {
			break
		}
		frames = append(frames, bytes.Clone(d.buf[socket.FrameLengthSize:end]))
		d.buf = d.buf[end:]
	}
	if len(d.buf) == 0 {
		d.buf = nil
	}
	return frames, nil
}

// encodeFrame prefixes data with its 3-byte length. The server never sends
// the connection header.
func encodeFrame(data []byte) ([]byte, error) {
	if len(data) >= socket.FrameMaxSize {
		return nil, fmt.Errorf("%w (%d bytes)", socket.ErrFrameTooLarge, len(data))
	}
	out := make([]byte, socket.FrameLengthSize+len(data))
	out[0], out[1], out[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(out[socket.FrameLengthSize:], data)
	return out, nil
}
