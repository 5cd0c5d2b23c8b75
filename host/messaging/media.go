package messaging

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// fetch downloads a media URL, at most MaxMedia bytes within
// MediaTimeout; it returns the bytes and the served content type.
func (s *Service) fetch(ctx context.Context, url string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MediaTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("media url: %w", err)
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetching media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, "", fmt.Errorf("fetching media: %s", resp.Status)
	}
	if resp.ContentLength > s.cfg.MaxMedia {
		return nil, "", fmt.Errorf("media of %d bytes: %w", resp.ContentLength, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxMedia+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading media: %w", err)
	}
	if int64(len(data)) > s.cfg.MaxMedia {
		return nil, "", fmt.Errorf("media over %d bytes: %w", s.cfg.MaxMedia, ErrTooLarge)
	}
	return data, resp.Header.Get("Content-Type"), nil
}
