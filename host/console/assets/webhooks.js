// Webhooks: the events whose delivery failed for good, with their last
// error and a button to deliver them again.
import { call } from "./api.js";
import { onEvent } from "./bus.js";
import { h, page, errorBox, toast, when, debounce } from "./ui.js";

export async function webhooksPage() {
  const list = h("div", { class: "cards", id: "failed" });
  const msg = h("div");
  page("Failed webhooks", h("p", {}, "Webhooks wahost gave up on after its retries. Redeliver queues one again, now."), msg, list);
  async function refresh() {
    let body;
    try { body = await call("GET", "/v1/webhooks/failed?limit=200"); } catch (err) { msg.replaceChildren(errorBox(err)); return; }
    const evs = body.events || [];
    if (!evs.length) {
      list.replaceChildren(h("p", { class: "empty" }, "No failed webhooks."));
      return;
    }
    list.replaceChildren(...evs.map((ev) => {
      let env = {};
      try { env = typeof ev.payload === "string" ? JSON.parse(ev.payload) : ev.payload || {}; } catch { env = {}; }
      return h("article", { class: "card", "data-id": ev.id },
        h("header", {}, h("h2", {}, ev.event), h("span", { class: "badge d-failed" }, "failed")),
        h("dl", {},
          h("dt", {}, "Instance"), h("dd", {}, env.instance || ev.instance_id),
          h("dt", {}, "Destination"), h("dd", { class: "wrap" }, env.destination || "—"),
          h("dt", {}, "Created"), h("dd", {}, when(ev.created_at)),
          h("dt", {}, "Failed"), h("dd", {}, when(ev.failed_at)),
          h("dt", {}, "Attempts"), h("dd", {}, String(ev.attempts)),
          h("dt", {}, "Last error"), h("dd", { class: "wrap" }, ev.last_error || "—")),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: async () => {
          try {
            await call("POST", "/v1/webhooks/" + encodeURIComponent(ev.id) + "/redeliver");
            toast(`${ev.event} queued for delivery again.`);
          } catch (err) { msg.replaceChildren(errorBox(err)); }
          refresh();
        } }, "Redeliver")));
    }));
  }
  onEvent(debounce(refresh, 500));
  await refresh();
}
