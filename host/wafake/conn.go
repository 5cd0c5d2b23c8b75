package wafake

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"
)

// ErrConnClosed is returned by Conn methods that wait for the client after
// the connection has ended.
var ErrConnClosed = errors.New("wafake: connection closed")

// maxRecorded bounds the nodes a Conn keeps for Await and Received; the
// oldest half is dropped when it is reached.
const maxRecorded = 4096

// Conn is one client connection whose Noise handshake completed. The
// server reads it continuously: every node is recorded (see Await), and
// <iq> requests of type get or set are answered at once (see HandleIQ).
// Its methods are safe for concurrent use.
type Conn struct {
	mu         sync.Mutex // guards received, base, changed, iqHandlers, refs and end
	received   []*waBinary.Node
	base       int           // absolute index of received[0]
	changed    chan struct{} // closed and replaced whenever a node is recorded
	iqHandlers map[string]IQHandler
	refs       []string // QR refs sent by ShowQR
	end        connEnd  // set when the server ends the connection

	// relayMu orders what the relay writes to this connection: the
	// offline queue at login before anything relayed later.
	relayMu sync.Mutex
	// ending is set by Close and Drop: the connection is going away and
	// does not count as the device's live connection.
	ending atomic.Bool

	srv        *Server
	wire       *wire
	ws         *websocket.Conn
	ctx        context.Context // ends with the connection
	cancel     context.CancelFunc
	scriptDone chan struct{}
	ids        atomic.Uint64

	// Set once, before the Conn is shared.
	seq          int
	payload      *waWa6.ClientPayload
	clientStatic [32]byte
}

func newConn(ctx context.Context, cancel context.CancelFunc, s *Server, ws *websocket.Conn) *Conn {
	return &Conn{
		srv:        s,
		wire:       &wire{ws: ws},
		ws:         ws,
		ctx:        ctx,
		cancel:     cancel,
		scriptDone: make(chan struct{}),
		changed:    make(chan struct{}),
	}
}

// Seq is the 1-based position of the connection among the server's
// accepted connections.
func (c *Conn) Seq() int { return c.seq }

// Payload is the ClientPayload the client sent in its handshake: a login
// (Username and Device set) or a registration (DevicePairingData set).
func (c *Conn) Payload() *waWa6.ClientPayload { return c.payload }

// Registering reports whether the client is unpaired and asks to register
// (it will need QR refs) rather than log in.
func (c *Conn) Registering() bool { return c.payload.GetDevicePairingData() != nil }

// DeviceJID is the device a logging-in client claims to be, e.g.
// 15550001234:3@s.whatsapp.net; empty for a registering client.
func (c *Conn) DeviceJID() types.JID {
	if c.Registering() || c.payload.GetUsername() == 0 {
		return types.EmptyJID
	}
	return types.JID{
		User:   strconv.FormatUint(c.payload.GetUsername(), 10),
		Device: uint16(c.payload.GetDevice()),
		Server: types.DefaultUserServer,
	}
}

// ClientStaticKey is the client's Noise static public key (its
// store.Device NoiseKey), as proven in the handshake.
func (c *Conn) ClientStaticKey() [32]byte { return c.clientStatic }

// Done is closed when the connection has ended, whoever ended it.
func (c *Conn) Done() <-chan struct{} { return c.ctx.Done() }

// ScriptDone is closed when the connection's script has returned; the
// connection itself may still be open.
func (c *Conn) ScriptDone() <-chan struct{} { return c.scriptDone }

// NewID returns a request id unique within the server.
func (c *Conn) NewID() string {
	return fmt.Sprintf("wafake-%d.%d", c.seq, c.ids.Add(1))
}

// Send marshals node and sends it to the client as one encrypted frame.
func (c *Conn) Send(ctx context.Context, node waBinary.Node) error {
	data, err := waBinary.Marshal(node)
	if err != nil {
		return fmt.Errorf("marshalling <%s>: %w", node.Tag, err)
	}
	if err := c.wire.writeFrame(ctx, data); err != nil {
		return fmt.Errorf("sending <%s>: %w", node.Tag, err)
	}
	return nil
}

// Request sends an <iq> to the client and waits for its result or error
// reply. A missing id attribute is filled in with NewID.
func (c *Conn) Request(ctx context.Context, iq waBinary.Node) (*waBinary.Node, error) {
	if iq.Attrs == nil {
		iq.Attrs = waBinary.Attrs{}
	}
	id, _ := iq.Attrs["id"].(string)
	if id == "" {
		id = c.NewID()
		iq.Attrs["id"] = id
	}
	if err := c.Send(ctx, iq); err != nil {
		return nil, err
	}
	return c.Await(ctx, Response(id))
}

// Flush returns once the client has handled every node sent before it.
// whatsmeow handles nodes one at a time in arrival order, so Flush sends a
// harmless <notification> and waits for its <ack>, which the client sends
// when it starts handling that notification. Use it before closing the
// stream, so that the client has acted on a <failure> or <stream:error>
// (and marked the disconnect as expected) before the socket goes away.
func (c *Conn) Flush(ctx context.Context) error {
	id := c.NewID()
	err := c.Send(ctx, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"from": types.ServerJID,
		"type": "wafake_flush",
		"id":   id,
		"t":    strconv.FormatInt(c.srv.cfg.Now().Unix(), 10),
	}})
	if err != nil {
		return err
	}
	_, err = c.Await(ctx, func(n *waBinary.Node) bool {
		return n.Tag == "ack" && n.AttrGetter().OptionalString("id") == id
	})
	return err
}

// Close ends the connection with a websocket close handshake (normal
// closure), as the server does after a <failure> or <stream:error>. The
// client sees a remote close. It is best effort and safe to repeat.
func (c *Conn) Close() {
	c.markEnd("")
	c.ending.Store(true)
	c.settle()
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
}

// Drop ends the connection abruptly, without a close handshake, as a
// network failure would. It is safe to repeat.
func (c *Conn) Drop() {
	c.markEnd("")
	c.ending.Store(true)
	c.settle()
	_ = c.ws.CloseNow()
	c.cancel()
}

// settle sends an empty <ib/> (which whatsmeow ignores) if nothing has
// been sent since the handshake. whatsmeow publishes its disconnect
// callback after sending its last handshake message, without a lock, so a
// close arriving right after the handshake makes its read loop race with
// that write. A frame sent first orders them: the read loop hands the
// frame to the consumer goroutine started after the write, over an
// unbuffered channel, before it reads the close.
func (c *Conn) settle() {
	if c.ctx.Err() == nil && !c.wire.hasSentEncrypted() {
		_ = c.Send(c.ctx, waBinary.Node{Tag: "ib"})
	}
}

// serve runs script next to the read loop and returns when the connection
// has ended and the script has returned.
func (c *Conn) serve(script Script) {
	go func() {
		defer close(c.scriptDone)
		err := script(c.ctx, c)
		if err != nil && c.ctx.Err() == nil && !errors.Is(err, ErrConnClosed) {
			c.srv.cfg.Logger.Error("script failed; dropping connection", "conn", c.seq, "err", err)
			c.Drop()
		}
	}()
	c.readLoop()
	c.cancel()
	<-c.scriptDone
}

func (c *Conn) readLoop() {
	for {
		frame, err := c.wire.readFrame(c.ctx)
		if err != nil {
			c.srv.cfg.Logger.Debug("connection ended", "conn", c.seq, "err", err)
			return
		}
		node, err := decodeNode(frame)
		if err != nil {
			c.srv.cfg.Logger.Warn("undecodable frame from client", "conn", c.seq, "err", err)
			continue
		}
		c.record(node)
		if err := c.answer(node); err != nil {
			c.srv.cfg.Logger.Debug("answering iq failed", "conn", c.seq, "err", err)
		}
		c.srv.route(c, node)
	}
}

// decodeNode turns a decrypted frame into a node.
func decodeNode(frame []byte) (*waBinary.Node, error) {
	if len(frame) == 0 {
		return nil, errors.New("empty frame")
	}
	data, err := waBinary.Unpack(frame)
	if err != nil {
		return nil, fmt.Errorf("unpacking frame: %w", err)
	}
	node, err := waBinary.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("decoding node: %w", err)
	}
	return node, nil
}
