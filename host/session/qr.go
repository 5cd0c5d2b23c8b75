package session

import (
	"encoding/base64"
	"fmt"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// How long each QR code of a pair-device request is shown, as whatsmeow's
// QR channel times them: the first of the usual six refs a minute, every
// other one 20 seconds, 160 seconds in all. When the last one runs out the
// session drops the connection and reports abi.KindQRTimeout.
const (
	QRFirstCodeTimeout = 60 * time.Second
	QRCodeTimeout      = 20 * time.Second
)

// qrRefsUsual is how many refs WhatsApp sends in one pair-device request.
const qrRefsUsual = 6

// qrImageSize is the side, in pixels, of the PNG sent with every code.
const qrImageSize = 256

// QR is the QR code an instance shows.
type QR struct {
	// Code is the text to encode: "ref,noise key,identity key,adv secret".
	Code string
	// Count is how many codes this login has shown, this one included. It
	// starts again at the next login that is not a refresh of this one.
	Count int
	// At is when the code was shown.
	At time.Time
}

// PNG renders the code as a PNG image size pixels wide, with medium error
// correction.
func (q QR) PNG(size int) ([]byte, error) {
	if q.Code == "" {
		return nil, fmt.Errorf("rendering qr code: no code")
	}
	png, err := qrcode.Encode(q.Code, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("rendering qr code: %w", err)
	}
	return png, nil
}

// dataURL renders code as a base64 PNG data URL, the form Evolution API's
// qrcode.base64 has; empty when it cannot be rendered (the code alone is
// still usable).
func dataURL(code string) string {
	png, err := QR{Code: code}.PNG(qrImageSize)
	if err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// qrTimeout is how long the code at index i of n is shown.
func qrTimeout(i, n int) time.Duration {
	if i == 0 && n == qrRefsUsual {
		return QRFirstCodeTimeout
	}
	return QRCodeTimeout
}
