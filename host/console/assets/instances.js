// Instances: every instance with its state, its last disconnect and what
// the policy made of it; create, connect, logout, reset and delete.
import { call } from "./api.js";
import { onEvent } from "./bus.js";
import { h, page, errorBox, toast, number, statusBadge, when, debounce } from "./ui.js";

export async function instancesPage() {
  const list = h("div", { class: "cards", id: "instances", "aria-live": "polite" });
  const msg = h("div");
  const name = h("input", { id: "new-name", name: "name", required: true, pattern: "[A-Za-z0-9_.\\-]{1,64}",
    autocomplete: "off", "aria-describedby": "new-name-help" });
  const form = h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    try {
      await call("POST", "/v1/instances", { name: name.value.trim() });
      toast(`Instance ${name.value.trim()} created.`);
      name.value = "";
      await refresh();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  } },
    h("label", { for: "new-name" }, "New instance name"),
    name,
    h("button", { type: "submit" }, "Create"),
    h("p", { id: "new-name-help", class: "help" }, "Letters, digits, dot, dash and underscore; up to 64."));
  page("Instances", form, msg, list);

  async function refresh() {
    let body;
    try { body = await call("GET", "/v1/instances"); } catch (err) { msg.replaceChildren(errorBox(err)); return; }
    const insts = body.instances || [];
    if (!insts.length) {
      list.replaceChildren(h("p", { class: "empty" }, "No instances yet: create one above, then link a phone to it."));
      return;
    }
    list.replaceChildren(...insts.map((i) => card(i, refresh, msg)));
  }
  const later = debounce(refresh);
  onEvent((name) => {
    if (name !== "messages.upsert" && name !== "messages.update") later();
  });
  await refresh();
}

// lastDisconnect reads the instance's disconnection object: the event and
// the policy's decision.
function lastDisconnect(i) {
  const o = i.disconnection_object;
  if (!o || !i.disconnection_at) return h("dd", {}, "none");
  const d = o.decision || {};
  return h("dd", {},
    h("span", { class: "code" }, String(o.code || i.disconnection_reason_code || 0)), " ",
    o.kind || "", " → ", h("strong", {}, d.action || "?"),
    d.reason ? h("span", { class: "reason" }, " — " + d.reason) : "",
    h("br"), h("small", {}, when(i.disconnection_at)));
}

function card(i, refresh, msg) {
  const act = (label, method, path, confirmText, body) => h("button", { type: "button", class: "quiet",
    onclick: async () => {
      if (confirmText && !confirm(confirmText)) return;
      msg.replaceChildren();
      try {
        await call(method, path, body);
        toast(`${label}: ${i.name}`);
      } catch (err) { msg.replaceChildren(errorBox(err)); }
      refresh();
    } }, label);
  const base = "/v1/instances/" + encodeURIComponent(i.name);
  return h("article", { class: "card instance", "data-name": i.name },
    h("header", {}, h("h2", {}, i.name), statusBadge(i.status)),
    h("dl", {},
      h("dt", {}, "Number"), h("dd", {}, number(i.owner_jid) || "not linked"),
      h("dt", {}, "Profile"), h("dd", {}, i.profile_name || "—"),
      h("dt", {}, "Last disconnect"), lastDisconnect(i),
      h("dt", {}, "Attempt / step"), h("dd", {}, `${i.attempt} / ${i.step}`)),
    h("div", { class: "actions" },
      h("a", { class: "button", href: "#/link/" + encodeURIComponent(i.name) }, "Link"),
      h("a", { class: "button quiet", href: "#/timeline/" + encodeURIComponent(i.name) }, "Timeline"),
      i.owner_jid ? act("Connect", "POST", base + "/reconnect", null, {}) : null,
      act("Logout", "POST", base + "/logout", `Log ${i.name} out? The phone must link it again.`),
      act("Reset", "POST", base + "/reset", `Reset ${i.name}? Its session data is removed.`),
      act("Delete", "DELETE", base, `Delete ${i.name} for good?`)));
}
