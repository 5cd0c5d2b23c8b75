package msgconv

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// Default MIME types of media sent without one.
const (
	defaultImageMIME    = "image/jpeg"
	defaultVideoMIME    = "video/mp4"
	defaultAudioMIME    = "audio/mpeg"
	defaultVoiceMIME    = "audio/ogg; codecs=opus"
	defaultDocumentMIME = "application/octet-stream"
	stickerMIME         = "image/webp"
)

// mediaMessage is an image, video, audio, document or sticker message
// pointing at the uploaded file.
func mediaMessage(out message.Outgoing, up *whatsmeow.UploadResponse, ci *waE2E.ContextInfo) (*waE2E.Message, error) {
	if up == nil {
		return nil, invalid("%s message without an uploaded file", out.Kind)
	}
	var md message.Media
	if out.Media != nil {
		md = *out.Media
	}
	mime := func(def string) *string {
		if md.MIMEType != "" {
			return proto.String(md.MIMEType)
		}
		return proto.String(def)
	}
	caption := func() *string {
		if md.Caption == "" {
			return nil
		}
		return proto.String(md.Caption)
	}
	length := proto.Uint64(up.FileLength)
	switch out.Kind {
	case message.KindImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			Mimetype: mime(defaultImageMIME), Caption: caption(), ContextInfo: ci,
		}}, nil
	case message.KindVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			Mimetype: mime(defaultVideoMIME), Caption: caption(), ContextInfo: ci,
		}}, nil
	case message.KindAudio:
		def := defaultAudioMIME
		if md.VoiceNote {
			def = defaultVoiceMIME
		}
		am := &waE2E.AudioMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			Mimetype: mime(def), ContextInfo: ci,
		}
		if md.VoiceNote {
			am.PTT = proto.Bool(true)
		}
		return &waE2E.Message{AudioMessage: am}, nil
	case message.KindDocument:
		dm := &waE2E.DocumentMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			Mimetype: mime(defaultDocumentMIME), Caption: caption(), ContextInfo: ci,
		}
		if md.FileName != "" {
			dm.FileName = proto.String(md.FileName)
			dm.Title = proto.String(md.FileName)
		}
		return &waE2E.Message{DocumentMessage: dm}, nil
	case message.KindSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			Mimetype: proto.String(stickerMIME), ContextInfo: ci,
		}}, nil
	}
	return nil, invalid("%s is not a media kind", out.Kind)
}

// Downloadable is the file a message carries, with its MIME type.
type Downloadable interface {
	whatsmeow.DownloadableMessage
	GetMimetype() string
}

// Media returns the file of msg (unwrapped first); nil when it has none.
func Media(msg *waE2E.Message) Downloadable {
	return downloadable(Unwrap(msg))
}

func downloadable(msg *waE2E.Message) Downloadable {
	var d Downloadable
	switch {
	case msg.GetImageMessage() != nil:
		d = msg.GetImageMessage()
	case msg.GetVideoMessage() != nil:
		d = msg.GetVideoMessage()
	case msg.GetAudioMessage() != nil:
		d = msg.GetAudioMessage()
	case msg.GetDocumentMessage() != nil:
		d = msg.GetDocumentMessage()
	case msg.GetStickerMessage() != nil:
		d = msg.GetStickerMessage()
	case msg.GetPtvMessage() != nil: // a round video note
		d = msg.GetPtvMessage()
	default:
		return nil
	}
	if d.GetDirectPath() == "" || len(d.GetMediaKey()) == 0 {
		return nil
	}
	return d
}
