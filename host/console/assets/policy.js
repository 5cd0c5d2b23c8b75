// Policy: the active module, the candidate in shadow with its
// disagreement rate and latest differences, the reload history (read back
// from the event stream) and a replay form.
import { call, stream } from "./api.js";
import { scoped } from "./bus.js";
import { h, page, errorBox, toast, when, time, jsonDetails } from "./ui.js";

const short = (sha) => (sha ? sha.slice(0, 12) : "—");

function slot(title, s, id) {
  return h("article", { class: "card", id },
    h("header", {}, h("h2", {}, title), h("span", { class: "badge " + (s.healthy ? "s-open" : "s-refused") }, s.healthy ? "healthy" : "unhealthy")),
    h("dl", {},
      h("dt", {}, "Module"), h("dd", { class: "wrap" }, s.module || "—"),
      h("dt", {}, "SHA-256"), h("dd", { class: "mono", title: s.sha256 || "" }, short(s.sha256)),
      h("dt", {}, "ABI"), h("dd", {}, s.abi || "—"),
      h("dt", {}, "Loaded"), h("dd", {}, when(s.loaded_at)),
      h("dt", {}, "Generation"), h("dd", { class: "generation" }, String(s.generation)),
      h("dt", {}, "Calls"), h("dd", {}, String(s.calls || 0))));
}

export async function policyPage() {
  const active = h("div", { id: "active" });
  const shadow = h("div", { id: "shadow" });
  const history = h("ol", { class: "history", id: "reloads" });
  const msg = h("div");
  const result = h("div", { id: "replay-result", "aria-live": "polite" });
  const reload = h("button", { type: "button", id: "reload", onclick: async () => {
    msg.replaceChildren();
    reload.disabled = true;
    try {
      const r = await call("POST", "/v1/policy/reload");
      toast(r.changed ? `Policy reloaded: generation ${r.generation}.` : "Policy reloaded: nothing changed.");
    } catch (err) {
      msg.replaceChildren(errorBox(err));
    } finally { reload.disabled = false; }
    refresh();
  } }, "Reload config and policy");

  const ref = h("input", { id: "replay-module", name: "module", placeholder: "builtin:default or /path/policy.wasm", "aria-describedby": "replay-help" });
  const file = h("input", { id: "replay-file", name: "file", type: "file", accept: ".wasm,application/wasm" });
  const inst = h("input", { id: "replay-instance", name: "instance", autocomplete: "off" });
  const since = h("input", { id: "replay-since", name: "since", value: "168h", autocomplete: "off" });
  const form = h("form", { class: "card stack", onsubmit: async (e) => {
    e.preventDefault();
    result.replaceChildren(h("p", {}, "Replaying…"));
    try {
      let body;
      if (file.files.length) {
        body = new FormData();
        body.append("module", file.files[0]);
        if (inst.value) body.append("instance", inst.value);
        if (since.value) body.append("since", since.value);
      } else {
        body = { module: ref.value.trim(), instance: inst.value.trim() || undefined, since: since.value.trim() || undefined };
      }
      showReplay(result, await call("POST", "/v1/policy/replay", body));
    } catch (err) { result.replaceChildren(errorBox(err)); }
  } },
    h("label", { for: "replay-module" }, "Module on the host"), ref,
    h("label", { for: "replay-file" }, "Or upload a .wasm file"), file,
    h("label", { for: "replay-instance" }, "Instance (empty: all)"), inst,
    h("label", { for: "replay-since" }, "Window"), since,
    h("p", { id: "replay-help", class: "help" }, "Decides the recorded disconnects again with this module and shows what would change. Nothing live changes."),
    h("button", { type: "submit" }, "Replay"));

  page("Policy", msg, h("div", { class: "actions" }, reload), active, shadow,
    h("h2", {}, "Reload history"), history,
    h("h2", {}, "Replay"), form, result);

  async function refresh() {
    try {
      const [st, sh] = await Promise.all([call("GET", "/v1/policy"), call("GET", "/v1/policy/shadow")]);
      active.replaceChildren(slot("Active", st.active || {}, "active-slot"));
      if (!st.candidate) {
        shadow.replaceChildren(h("p", { class: "empty" }, "No candidate in shadow (policy.candidate)."));
        return;
      }
      const t = sh.totals || { same: 0, different: 0, fault: 0 };
      const n = t.same + t.different + t.fault;
      const rate = n ? (100 * (t.different + t.fault) / n).toFixed(1) + " %" : "no decisions yet";
      shadow.replaceChildren(slot("Candidate in shadow", st.candidate, "candidate-slot"),
        h("p", {}, `Disagreement: ${rate} (${t.different} different, ${t.fault} faults, ${t.same} same).`),
        h("ol", { class: "diffs" }, ...(sh.diffs || []).slice(0, 20).map((d) => h("li", {},
          time(d.at), ` ${d.instance}: ${d.code} ${d.kind} — differs in ${(d.differs || []).join(", ") || d.fault || "?"}`,
          jsonDetails("Decisions", { active: d.active, candidate: d.decision, fault: d.fault })))));
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  // The reload history is the policy.* events kept in the stream.
  const rows = [];
  const stop = stream({ events: ["policy.reloaded", "policy.reload_failed"], after: 0 }, (ev, env) => {
    const r = env.data || {};
    rows.unshift(h("li", { class: r.ok ? "ok" : "failed" }, time(r.at || env.date_time), " ",
      h("strong", {}, r.ok ? (r.changed ? "applied" : "unchanged") : "rejected"),
      ` (${r.trigger || "?"}) generation ${r.generation}`, r.module ? ` — ${r.module} ${short(r.sha256)}` : "",
      r.error ? h("span", { class: "reason" }, " — " + r.error) : ""));
    history.replaceChildren(...rows.slice(0, 50));
    refresh();
  });
  scoped(stop);
  history.replaceChildren(h("li", { class: "empty" }, "No reloads recorded yet."));
  await refresh();
}

function showReplay(el, r) {
  const rows = Object.entries(r.by_action || {}).map(([k, n]) => h("li", {}, `${k}: ${n}`));
  el.replaceChildren(h("article", { class: "card" },
    h("h3", {}, `Replay of ${r.module} (${short(r.sha256)})`),
    h("p", { id: "replay-summary" }, `${r.Records} disconnects read, ${r.Skipped} without input; ${r.Replayed} replayed: ${r.Same} same, ${r.Changed} changed, ${r.Faults} faults.`),
    rows.length ? h("ul", {}, rows) : null,
    ...(r.cases || []).slice(0, 50).map((c) => jsonDetails(`${when(c.at)} ${c.instance_id} ${c.code} ${c.kind}: ${(c.differs || []).join(", ") || c.fault}`, c))));
}
