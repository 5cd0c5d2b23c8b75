package wafake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestMediaRoundTrip uploads an image with whatsmeow's Upload, sends it,
// and downloads it on the other side by URL and by direct path.
func TestMediaRoundTrip(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000081"))
	bob := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000082"))
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()

	image := make([]byte, 70_000)
	_, _ = rand.Read(image)
	up, err := alice.Client.Upload(ctx, image, whatsmeow.MediaImage)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	resp := send(t, alice, bob.Phone.JID, &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL:           proto.String(up.URL),
		DirectPath:    proto.String(up.DirectPath),
		MediaKey:      up.MediaKey,
		FileEncSHA256: up.FileEncSHA256,
		FileSHA256:    up.FileSHA256,
		FileLength:    proto.Uint64(up.FileLength),
		Mimetype:      proto.String("image/jpeg"),
		Caption:       proto.String("look"),
	}})
	img := bob.WaitMessage(t, resp.ID).Message.GetImageMessage()
	got, err := bob.Client.Download(ctx, img)
	if err != nil {
		t.Fatalf("Download by URL: %v", err)
	}
	if !bytes.Equal(got, image) {
		t.Errorf("downloaded %d bytes, not the %d uploaded", len(got), len(image))
	}
	byPath := proto.CloneOf(img)
	byPath.URL = nil
	got, err = bob.Client.Download(ctx, byPath)
	if err != nil || !bytes.Equal(got, image) {
		t.Errorf("Download by direct path: %d bytes, err %v", len(got), err)
	}
}

// TestProfilePicture checks the w:profile:picture answer and that its URL
// serves the picture.
func TestProfilePicture(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000091"))
	bob := wafaketest.User(t, srv, "15550000092")
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()

	if _, err := alice.Client.GetProfilePictureInfo(ctx, bob.JID, nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Errorf("no picture: err = %v, want ErrProfilePictureNotSet", err)
	}
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	srv.SetProfilePicture(bob.JID, jpeg)
	info, err := alice.Client.GetProfilePictureInfo(ctx, bob.JID, nil)
	if err != nil || info == nil {
		t.Fatalf("GetProfilePictureInfo: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, info.URL, nil)
	res, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("fetching %s: %v", info.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !bytes.Equal(body, jpeg) {
		t.Errorf("picture body %q", body)
	}
	same, err := alice.Client.GetProfilePictureInfo(ctx, bob.JID, &whatsmeow.GetProfilePictureParams{ExistingID: info.ID})
	if err != nil || same != nil {
		t.Errorf("unchanged picture: %v, %v; want nil, nil", same, err)
	}
}
