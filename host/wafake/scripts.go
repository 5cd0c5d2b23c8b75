package wafake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Script is the server's side of one connection. It runs once the
// handshake has completed, next to the loop that reads the client and
// answers its IQs. When it returns nil the connection stays open until the
// client or Server.Close ends it; when it returns another error the error
// is logged and the connection dropped. ctx ends with the connection.
type Script func(ctx context.Context, c *Conn) error

// DefaultQRRefs is how many refs ShowQR sends when given none; WhatsApp
// sends six (the first code lasts 60 s in whatsmeow, the others 20 s).
const DefaultQRRefs = 6

// Steps runs scripts one after another and stops at the first error.
func Steps(scripts ...Script) Script {
	return func(ctx context.Context, c *Conn) error {
		for _, s := range scripts {
			if err := s(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
}

// Auto is the default script: a registering client is shown QR refs
// (ShowQR), a logging-in client is logged in (Success).
func Auto() Script {
	return func(ctx context.Context, c *Conn) error {
		if c.Registering() {
			return ShowQR()(ctx, c)
		}
		return Success()(ctx, c)
	}
}

// Hold does nothing: the connection stays open, answering IQs, until the
// client leaves or the test acts on it through Server.Accept.
func Hold() Script {
	return func(context.Context, *Conn) error { return nil }
}

// Success logs the client in: it sends <success>, makes the connection
// its device's live one for the relay (writing what was queued for the
// device, then <ib><offline count=N/></ib>), waits for the client's
// post-login "passive" IQ (the last request whatsmeow makes before it
// emits events.Connected) and flushes the answer, so that whatever the
// next step does, the client's login requests are complete. A device
// unlinked with Server.RemoveDevice gets Failure(401) instead, and a
// login the rate limit refuses (Config.RateLimit) gets Failure with the
// limit's code.
func Success() Script {
	return func(ctx context.Context, c *Conn) error {
		if c.srv.Removed(c.DeviceJID()) {
			return Failure(401, nil)(ctx, c)
		}
		if code := c.srv.refusal(c.DeviceJID()); code != 0 {
			return Failure(code, nil)(ctx, c)
		}
		if err := c.Send(ctx, SuccessNode(types.EmptyJID, c.srv.cfg.Now())); err != nil {
			return err
		}
		if err := c.srv.login(ctx, c); err != nil {
			return fmt.Errorf("logging in the relay: %w", err)
		}
		if _, err := c.Await(ctx, IQ("passive", "set")); err != nil {
			return fmt.Errorf("waiting for the passive iq after success: %w", err)
		}
		return c.Flush(ctx)
	}
}

// Failure sends <failure reason=…> with attrs, waits until the client has
// handled it and closes the stream, as WhatsApp does when it refuses a
// login. In whatsmeow, 401/403/406 give events.LoggedOut, 402
// events.TemporaryBan, 405 events.ClientOutdated, 500/503 only
// events.Disconnected, other reasons events.ConnectFailure.
func Failure(reason int, attrs waBinary.Attrs) Script {
	return endStream(func(*Conn) waBinary.Node { return FailureNode(reason, attrs) })
}

// TemporaryBan is Failure 402 with the ban code (events.TempBanReason) and
// its remaining duration, in whole seconds on the wire.
func TemporaryBan(code int, expire time.Duration) Script {
	return Failure(402, waBinary.Attrs{"code": code, "expire": int64(expire / time.Second)})
}

// StreamError sends <stream:error code=…> with children, waits until the
// client has handled it and closes the stream. In whatsmeow, 515 gives
// events.ManualLoginReconnect (with DisableLoginAutoReconnect) and 503 only
// events.Disconnected; other codes give events.StreamError and then
// events.Disconnected.
func StreamError(code string, children ...waBinary.Node) Script {
	return endStream(func(*Conn) waBinary.Node { return StreamErrorNode(code, children...) })
}

// StreamReplaced ends the stream because another client connected with
// the same keys: events.StreamReplaced, and no events.Disconnected.
func StreamReplaced() Script { return StreamError("", ConflictNode("replaced")) }

// DeviceRemoved ends the stream because the device was unlinked:
// events.LoggedOut{OnConnect: false, Reason: 401}, and whatsmeow deletes
// the device from its store.
func DeviceRemoved() Script { return StreamError("401", ConflictNode("device_removed")) }

func endStream(build func(*Conn) waBinary.Node) Script {
	return func(ctx context.Context, c *Conn) error {
		n := build(c)
		c.markEnd(endCode(n))
		if err := c.Send(ctx, n); err != nil {
			return err
		}
		if err := c.Flush(ctx); err != nil && !errors.Is(err, ErrConnClosed) {
			return err
		}
		c.Close()
		return nil
	}
}

// Drop ends the connection abruptly, like a network failure:
// events.Disconnected.
func Drop() Script {
	return func(_ context.Context, c *Conn) error {
		c.Drop()
		return nil
	}
}

// Close ends the connection with a normal websocket close and no
// explanation: events.Disconnected.
func Close() Script {
	return func(_ context.Context, c *Conn) error {
		c.Close()
		return nil
	}
}

// IgnorePings stops answering keepalive pings on the connection (see
// Conn.IgnorePings): events.KeepAliveTimeout.
func IgnorePings() Script {
	return func(_ context.Context, c *Conn) error {
		c.IgnorePings()
		return nil
	}
}

// ShowQR sends an unpaired client the pair-device request with refs
// (DefaultQRRefs random ones if none are given) and waits for the client's
// acknowledgement: events.QR, and the codes on whatsmeow's QR channel.
func ShowQR(refs ...string) Script {
	return func(ctx context.Context, c *Conn) error {
		sent := refs
		if len(sent) == 0 {
			sent = make([]string, DefaultQRRefs)
			for i := range sent {
				sent[i] = newRef()
			}
		}
		c.mu.Lock()
		c.refs = append(c.refs, sent...)
		c.mu.Unlock()
		resp, err := c.Request(ctx, PairDeviceNode(c.NewID(), sent...))
		if err != nil {
			return fmt.Errorf("sending pair-device: %w", err)
		}
		if typ := resp.AttrGetter().OptionalString("type"); typ != "result" {
			return fmt.Errorf("client answered pair-device with type %q", typ)
		}
		return nil
	}
}

// DowngradeWebclient tells the client that the phone scanned its QR code
// without multi-device support: events.QRScannedWithoutMultidevice. The
// connection stays open and the QR codes stay valid.
func DowngradeWebclient() Script {
	return func(ctx context.Context, c *Conn) error {
		return c.Send(ctx, DowngradeWebclientNode())
	}
}

// newRef returns a QR ref shaped like WhatsApp's ("2@" and base64).
func newRef() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return "2@" + base64.StdEncoding.EncodeToString(b[:])
}
