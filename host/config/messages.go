package config

// validate checks the messages.* keys, reporting each bad one.
func (m *Messages) validate(bad func(key, format string, args ...any)) {
	if m.Rate <= 0 {
		bad("messages.rate", "%v, want messages per second above 0", m.Rate)
	}
	if m.Jitter < 0 {
		bad("messages.jitter", "%s, want 0 or more", m.Jitter)
	}
	if m.TTL <= 0 {
		bad("messages.ttl", "%s, want a duration above 0", m.TTL)
	}
	if m.MaxMedia < 1<<10 || m.MaxMedia > 100<<20 {
		bad("messages.max_media", "%d, want 1 KiB to 100 MiB in bytes", m.MaxMedia)
	}
	if m.MediaTimeout <= 0 {
		bad("messages.media_timeout", "%s, want a duration above 0", m.MediaTimeout)
	}
	if m.SendTimeout <= 0 {
		bad("messages.send_timeout", "%s, want a duration above 0", m.SendTimeout)
	}
	if m.RetryDelay <= 0 {
		bad("messages.retry_delay", "%s, want a duration above 0", m.RetryDelay)
	}
	if m.Retention <= 0 {
		bad("messages.retention", "%s, want a duration above 0", m.Retention)
	}
	if m.HistoryLimit < 1 || m.HistoryLimit > 100000 {
		bad("messages.history_limit", "%d, want 1 to 100000", m.HistoryLimit)
	}
}
