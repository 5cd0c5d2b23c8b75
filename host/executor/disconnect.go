package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/reconnect"
	"github.com/wahost/wahost/storage"
)

// Report is a classified disconnect from the session layer.
type Report struct {
	Event abi.Event
	// Phase is where the session was when it dropped.
	Phase abi.Phase
	// ConnectedFor is how long the session had been open.
	ConnectedFor time.Duration
	// Proxy is the ID (host/proxy: no credentials) of the proxy the
	// connection went through; empty for a direct one.
	Proxy string
}

// Result is what HandleDisconnect did.
type Result struct {
	Outcome    disconnect.Outcome
	Disconnect storage.Disconnect
	Instance   storage.Instance
	// Cleanup reports a logout's cleanup; nil for a reconnect.
	Cleanup *CleanupReport
	// Deferred is true when the store was unreachable: the decision is
	// carried out and will be recorded (Disconnect then has no ID) when
	// the store is back.
	Deferred bool
}

// ErrEnding is returned for an instance whose session is being ended.
var ErrEnding = errors.New("instance is already ending its session")

// HistoryWindow is how far back the history a policy receives goes.
const HistoryWindow = 24 * time.Hour

// HandleDisconnect decides one disconnect and carries the decision out.
// A degraded event (abi.KindDegraded) comes here too, for a session that
// is still open: keep leaves it as it is, with the decision in the
// history; a reconnect or a logout first closes its connection.
func (e *Executor) HandleDisconnect(ctx context.Context, instanceID string, rep Report) (Result, error) {
	if e.isEnding(instanceID) {
		return Result{}, fmt.Errorf("disconnect of %s: %w", instanceID, ErrEnding)
	}
	if rep.Event.Cause == "" {
		rep.Event.Cause = abi.CauseNone
	}
	// The decision's state lives on the heap rather than in this frame. A
	// storm hands every drop over on a goroutine of its own, and each
	// goroutine's stack grows, by copying, to the deepest frame it runs:
	// kept in one frame, this state and the policy call beneath it took
	// ten thousand stacks from 8 to 16 KiB.
	w := &decision{id: instanceID, rep: rep}
	if err := e.decide(ctx, w); err != nil {
		return Result{}, err
	}
	return e.carryOut(ctx, w)
}

// decision is one disconnect on its way through HandleDisconnect.
type decision struct {
	id       string
	rep      Report
	inst     storage.Instance
	in       *abi.Input
	override disconnect.Policy // nil: the host's policy
	out      disconnect.Outcome
	arm      string // the rollout arm that decided; "" without a rollout
}

// decide reads the input of w's disconnect and has the policy decide it.
func (e *Executor) decide(ctx context.Context, w *decision) error {
	inst, read, stale, err := e.readInput(ctx, w.id)
	if err != nil {
		return fmt.Errorf("disconnect of %s: %w", w.id, err)
	}
	in, override, err := e.input(ctx, inst, w.rep, read, stale)
	if err != nil {
		return err
	}
	w.inst, w.in, w.override = inst, in, override
	switch {
	case override != nil:
		w.out = e.cfg.Decider.DecideWith(ctx, override, in)
	case e.cfg.Rollout != nil:
		var canary disconnect.Policy
		var settings abi.Settings
		if canary, settings, w.arm = e.cfg.Rollout.Canary(w.id); canary != nil {
			in.Settings = settings
			w.out = e.cfg.Decider.DecideWith(ctx, canary, in)
			if w.out.Fallback {
				e.cfg.Rollout.Fault(ctx, w.out.Fault)
			}
			break
		}
		w.out = e.cfg.Decider.Decide(ctx, in)
	default:
		w.out = e.cfg.Decider.Decide(ctx, in)
	}
	return nil
}

// carryOut records w's decision, with its webhooks, and carries it out.
func (e *Executor) carryOut(ctx context.Context, w *decision) (Result, error) {
	instanceID, rep, inst, in, override, arm := w.id, &w.rep, w.inst, w.in, w.override, w.arm
	out := &w.out
	d := &out.Decision
	var shadowDoc []byte
	var shadowSHA string
	var shadow Shadow
	if e.cfg.Candidate != nil && override == nil { // the candidate would replace the host's policy
		if p := e.cfg.Candidate(); p != nil {
			shadowDoc, shadowSHA, shadow = e.shadow(ctx, p, in, out)
		}
	}
	proxyTo := e.switchProxy(ctx, inst, in, d)
	now := e.cfg.Clock.Now()
	var due time.Time
	if d.Action == abi.ActionReconnect {
		due = now.Add(time.Duration(d.DelayMS) * time.Millisecond)
	}

	// change applies the decision to the instance's stored state; keep
	// (a degraded session the policy leaves open) changes nothing but the
	// QR count.
	change := func(cur *storage.Instance) (state string) {
		if d.Action != abi.ActionKeep {
			obj := disconnectionObject(&rep.Event, out)
			at := storage.Timestamp(now)
			cur.DisconnectionAt, cur.DisconnectionReasonCode, cur.DisconnectionObject = &at, rep.Event.Code, obj
			cur.Attempt = in.Attempt
		}
		if d.QRCount != nil {
			cur.QRCount = *d.QRCount
		}
		state = "close"
		switch d.Action {
		case abi.ActionKeep:
		case abi.ActionReconnect:
			cur.Status = storage.StatusConnecting
			cur.Step = max(cur.Step, d.Step)
			cur.Reconnect = &storage.PendingReconnect{Due: storage.Timestamp(due), Step: d.Step}
		default:
			cur.Status, cur.Attempt, cur.Step, cur.Reconnect = storage.StatusClose, 0, 0, nil
			if d.End == abi.EndQRLimit {
				cur.Status, cur.QRCount, state = storage.StatusRefused, 0, "refused"
			}
		}
		return state
	}
	row := storage.Disconnect{
		InstanceID: instanceID, At: now, Kind: string(rep.Event.Kind), Code: rep.Event.Code,
		Raw: rep.Event.Raw, Message: rep.Event.Message, Cause: string(rep.Event.Cause),
		Decision: out.Doc, Action: string(d.Action), Rule: d.Rule, PolicySHA256: out.SHA256,
		Fallback: out.Fallback, Latency: out.Latency, Attempt: in.Attempt, Step: max(d.Step, 0),
		JitterSeed: in.JitterSeed, Shadow: shadowDoc, ShadowSHA256: shadowSHA, Input: recordedInput(in),
		Proxy: rep.Proxy, ProxyTo: proxyTo, Encoded: true,
	}

	var res Result
	res.Outcome = *out
	res.Instance = inst
	change(&res.Instance)
	var recorded storage.Disconnect
	var ended *storage.Episode
	deferred, err := e.commit(ctx, instanceID, "disconnect", func(ctx context.Context, tx storage.Tx) error {
		cur, err := tx.Instance(ctx, instanceID)
		if err != nil {
			return err
		}
		wasOpen := cur.Status == storage.StatusOpen
		state := change(&cur)
		if cur, err = tx.UpdateInstance(ctx, cur); err != nil {
			return err
		}
		e.remember(cur)
		if recorded, err = tx.RecordDisconnect(ctx, row); err != nil {
			return err
		}
		if ended, err = e.trackDrop(ctx, tx, instanceID, drop{
			wasOpen: wasOpen, event: &rep.Event, outcome: out, settings: in.Settings, arm: arm,
		}); err != nil {
			return err
		}
		if d.Action == abi.ActionLogout && e.cfg.OnEnd != nil {
			if err := e.cfg.OnEnd(ctx, tx, cur); err != nil {
				return err
			}
		}
		return e.announce(ctx, tx, cur, rep, out, in.Attempt, state, proxyTo)
	}, e.cfg.Webhooks.Nudge)
	if err != nil {
		return res, fmt.Errorf("recording disconnect of %s: %w", inst.Name, err)
	}
	if deferred {
		e.remember(res.Instance)
	} else {
		res.Disconnect = recorded
		e.cfg.Metrics.episodeEnded(ended)
	}
	res.Deferred = deferred
	if shadowDoc != nil && (shadow.Fault != "" || len(shadow.Differs) > 0) {
		e.shadows.add(ShadowDiff{
			At: now.UTC(), InstanceID: inst.ID, Instance: inst.Name, Kind: rep.Event.Kind, Code: rep.Event.Code,
			Active: out.Doc, ActiveSHA256: out.SHA256, Shadow: shadow, ShadowSHA256: shadowSHA,
		})
	}
	e.cfg.Metrics.disconnect(&rep.Event, d)
	e.cfg.Logger.LogAttrs(ctx, logLevel(d), "disconnect decided",
		slog.String("instance", inst.Name), slog.String("kind", string(rep.Event.Kind)),
		slog.Int("code", rep.Event.Code), slog.String("cause", string(rep.Event.Cause)),
		slog.String("action", string(d.Action)), slog.Int64("delay_ms", d.DelayMS),
		slog.Int("step", d.Step), slog.String("rule", d.Rule), slog.String("reason", d.Reason),
		slog.Int("attempt", in.Attempt), slog.Bool("fallback", out.Fallback),
		slog.Duration("latency", out.Latency))

	if rep.Event.Kind == abi.KindDegraded && d.Action != abi.ActionKeep {
		// The session is still open: close it before the escalation.
		if err := e.cfg.Sessions.Disconnect(instanceID); err != nil {
			e.cfg.Logger.WarnContext(ctx, "closing a degraded session failed", "instance", inst.Name, "error", err)
		}
	}
	switch d.Action {
	case abi.ActionReconnect:
		e.noteReopen(instanceID, rep.Event.Code, now)
		e.cfg.Scheduler.Schedule(reconnect.Job{InstanceID: instanceID, Step: d.Step, Due: due})
	case abi.ActionLogout:
		rep := e.endSession(ctx, res.Instance, rep.Event.Code, d.Cleanup)
		res.Cleanup = &rep
	}
	return res, nil
}

func logLevel(d *abi.Decision) slog.Level {
	switch d.Action {
	case abi.ActionLogout:
		return slog.LevelError
	case abi.ActionKeep:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// readInput reads the instance a disconnect is for, with its history and
// settings in one round trip (read). While the store is unreachable it
// falls back to instance, and read is nil.
func (e *Executor) readInput(ctx context.Context, id string) (inst storage.Instance, read *storage.DecisionInput, stale bool, err error) {
	in, err := e.decisionInput(ctx, id)
	if err == nil {
		e.remember(in.Instance)
		return in.Instance, in, false, nil
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		return inst, nil, false, err
	}
	inst, stale, err = e.instance(ctx, id)
	return inst, nil, stale, err
}

// input builds the policy's input for one disconnect, and returns the
// instance's override policy when it has one (nil: the host's policy).
// read, when set, holds the history and settings already read. With
// stale, the store is unreachable: the decision is made on the last known
// state, without history or instance settings.
func (e *Executor) input(ctx context.Context, inst storage.Instance, rep Report, read *storage.DecisionInput, stale bool) (*abi.Input, disconnect.Policy, error) {
	now := e.cfg.Clock.Now()
	var recent []storage.Disconnect
	var set storage.InstanceSettings
	if read != nil {
		recent, set = read.Recent, read.Settings
	} else {
		var err error
		if recent, set, err = e.readHistory(ctx, inst, now, stale); err != nil {
			return nil, nil, err
		}
	}
	hist := make([]abi.HistoryEntry, 0, len(recent))
	for _, r := range slices.Backward(recent) {
		hist = append(hist, abi.HistoryEntry{
			AtMS: r.At.UnixMilli(), Kind: abi.Kind(r.Kind), Code: r.Code, Action: abi.Action(r.Action), Step: r.Step,
		})
	}
	qrLimit := e.cfg.QRLimit
	if set.QRLimit > 0 {
		qrLimit = set.QRLimit
	}
	settings := e.cfg.Settings(inst)
	var override disconnect.Policy
	if name := set.PolicyOverride; name != "" && e.cfg.Override != nil {
		p, s, ok := e.cfg.Override(name)
		if ok {
			override, settings = p, s
		} else {
			e.cfg.Logger.WarnContext(ctx, "instance names a policy override the config no longer has; the host's policy decides",
				"instance", inst.Name, "policy", name)
		}
	}
	ev := rep.Event
	if ev.Cause == "" {
		ev.Cause = abi.CauseNone
	}
	var tr abi.Traffic
	if e.cfg.Traffic != nil {
		tr = e.cfg.Traffic.Snapshot(inst.ID)
	}
	var px abi.Proxy
	var hasProxy bool
	if e.cfg.Proxies != nil {
		px, hasProxy = e.cfg.Proxies.Proxy(inst.ID, set.Proxy)
	}
	return &abi.Input{
		V: abi.DocVersion, NowMS: now.UnixMilli(), JitterSeed: e.cfg.Random(),
		Instance: abi.Instance{
			ID: inst.ID, Name: inst.Name, Phase: rep.Phase, QRCount: inst.QRCount, QRLimit: qrLimit,
			ConnectedMS: rep.ConnectedFor.Milliseconds(),
		},
		Event: ev, Attempt: inst.Attempt + 1, Step: inst.Step, History: hist,
		Settings: settings, Traffic: tr, Proxy: px, HasProxy: hasProxy,
	}, override, nil
}

// readHistory reads the history and settings of inst for input, unless
// stale; a store unreachable meanwhile leaves them out.
func (e *Executor) readHistory(ctx context.Context, inst storage.Instance, now time.Time, stale bool) (recent []storage.Disconnect, set storage.InstanceSettings, err error) {
	if !stale {
		if recent, err = e.cfg.Store.RecentDisconnects(ctx, inst.ID, now.Add(-HistoryWindow), abi.MaxHistory); err != nil {
			if !errors.Is(err, storage.ErrUnavailable) {
				return nil, set, fmt.Errorf("reading history of %s: %w", inst.Name, err)
			}
			stale = true
		}
	}
	if !stale {
		if set, err = e.instanceSettings(ctx, inst); err != nil {
			if !errors.Is(err, storage.ErrUnavailable) {
				return nil, set, err
			}
		}
	}
	return recent, set, nil
}

func (e *Executor) instanceSettings(ctx context.Context, inst storage.Instance) (storage.InstanceSettings, error) {
	s, err := e.cfg.Store.Settings(ctx, inst.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return s, fmt.Errorf("reading settings of %s: %w", inst.Name, err)
	}
	return s, nil
}

func (e *Executor) qrLimit(ctx context.Context, inst storage.Instance) (int, error) {
	s, err := e.instanceSettings(ctx, inst)
	if err != nil {
		return 0, err
	}
	if s.QRLimit > 0 {
		return s.QRLimit, nil
	}
	return e.cfg.QRLimit, nil
}

// announce enqueues the webhooks of a decision, inside its transaction.
func (e *Executor) announce(ctx context.Context, tx storage.Tx, inst storage.Instance, rep *Report, o *disconnect.Outcome, attempt int, state, proxyTo string) error {
	d, ev := &o.Decision, &rep.Event
	send := func(event string, payload any) error {
		return e.cfg.Webhooks.Enqueue(ctx, tx, inst, event, payload)
	}
	if err := send(EventDisconnectDecided, decided{
		Instance: inst.Name, Kind: ev.Kind, Code: ev.Code, Cause: ev.Cause, Message: ev.Message,
		Attempt: attempt, Decision: o.Doc, PolicySHA256: o.SHA256, Fallback: o.Fallback, Proxy: rep.Proxy,
		ProxyTo: proxyTo,
	}); err != nil {
		return err
	}
	switch d.Action {
	case abi.ActionKeep:
		return nil
	case abi.ActionReconnect:
		return send(EventConnectionUpdate, connUpdate(inst, "connecting", ev.Code))
	}
	switch d.End {
	case abi.EndQRLimit:
		if err := send(EventQRCodeUpdated, qrLimitReached{Message: QRLimitMessage, StatusCode: abi.CodeBadSession}); err != nil {
			return err
		}
		return send(EventConnectionUpdate, connUpdate(inst, state, abi.CodeConnectionClosed))
	case abi.EndConflict:
		if err := send(EventMultideviceConflict, multideviceConflict{
			Instance: inst.Name, Message: "Another device is using this WhatsApp account", Action: "logout_required",
		}); err != nil {
			return err
		}
	}
	if err := send(EventStatusInstance, statusInstance{
		Instance: inst.Name, Status: "closed", DisconnectionAt: jsTime(*inst.DisconnectionAt),
		DisconnectionReasonCode: ev.Code, DisconnectionObject: string(inst.DisconnectionObject),
	}); err != nil {
		return err
	}
	if err := send(EventLogoutInstance, logoutInstance{Instance: inst.Name, Code: ev.Code, Reason: d.Reason, Rule: d.Rule}); err != nil {
		return err
	}
	return send(EventConnectionUpdate, connUpdate(inst, state, ev.Code))
}

// recordedInput is the input as the history keeps it: without the history
// itself, which replay rebuilds from the rows before.
func recordedInput(in *abi.Input) []byte {
	c := *in
	c.History = nil
	return c.AppendJSON(make([]byte, 0, 1024)) // most inputs fit: one allocation, not a growing one
}
