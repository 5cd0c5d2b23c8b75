package abi

// SelfTestInput returns the canonical input the host decides with a module
// before activating it: a plain network drop of an open session, first
// attempt, with a short history and the given settings. A module must
// return a valid decision for it.
func SelfTestInput(settings Settings) *Input {
	if len(settings) == 0 {
		settings = Settings("{}")
	}
	const now = 1767225600000 // 2026-01-01T00:00:00Z
	return &Input{
		V:          DocVersion,
		NowMS:      now,
		JitterSeed: 42,
		Instance: Instance{
			ID:          "00000000-0000-0000-0000-000000000000",
			Name:        "self-test",
			Phase:       PhaseOpen,
			QRLimit:     30,
			ConnectedMS: 3_600_000,
		},
		Event: Event{
			Kind:    KindDisconnected,
			Code:    CodeConnectionClosed,
			Raw:     "events.Disconnected{}",
			Message: "connection closed",
			Cause:   CauseNone,
		},
		Attempt: 1,
		History: []HistoryEntry{
			{AtMS: now - 3_600_000, Kind: KindDisconnected, Code: CodeConnectionClosed, Action: ActionReconnect, Step: StepReconnect},
		},
		Settings: settings,
	}
}
