// Timeline of one instance: every disconnect with its input and the
// policy's decision, the reconnect it scheduled and when it fired, the
// webhooks sent for it with their delivery state, and a chart of the
// disconnects per hour by code over the last 24 hours.
import { call, stream } from "./api.js";
import { onEvent, scoped } from "./bus.js";
import { h, page, errorBox, when, time, jsonDetails, statusBadge, debounce } from "./ui.js";
import { hourlyChart } from "./chart.js";

export async function timelinePage(name) {
  const base = "/v1/instances/" + encodeURIComponent(name);
  const inst = await call("GET", base);
  const head = h("p", { id: "timeline-status" }, "Status: ", statusBadge(inst.status));
  const chart = h("figure", { class: "chart" });
  const rows = h("ol", { class: "timeline", id: "disconnects", "aria-live": "polite" });
  const hooks = h("tbody", { id: "deliveries" });
  const msg = h("div");
  page("Timeline of " + name, head, msg,
    h("h2", {}, "Disconnects per hour, last 24 h"), chart,
    h("h2", {}, "Disconnects and decisions"), rows,
    h("h2", {}, "Webhooks"),
    h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Created"),
        h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "Last error"))),
      hooks)),
    h("p", {}, h("a", { href: "#/instances" }, "Back to the instances")));

  // The instance's stored events, replayed from the start of the stream,
  // tell when each scheduled reconnect fired.
  const opened = [];
  let disconnects = [];
  const stop = stream({ instance: name, events: ["connection.update", "reconnection.success"], after: 0 }, (ev, env) => {
    if (ev === "reconnection.success" || (env.data && env.data.state === "open")) {
      opened.push(new Date(env.date_time));
      drawRows();
    }
  });
  scoped(stop);

  function drawRows() {
    if (!disconnects.length) {
      rows.replaceChildren(h("li", { class: "empty" }, "No disconnects recorded."));
      return;
    }
    rows.replaceChildren(...disconnects.map(row));
  }
  function row(d) {
    const dec = d.decision || {};
    const at = new Date(d.at);
    let sched = null;
    if (dec.action === "reconnect") {
      const due = new Date(at.getTime() + (dec.delay_ms || 0));
      const fired = opened.find((t) => t >= at);
      sched = h("p", { class: "sched" }, `Reconnect (step ${dec.step || 1}) scheduled for `, time(due),
        fired ? h("span", {}, " — connected again at ", time(fired)) : h("span", {}, " — not connected since"));
    }
    return h("li", { class: "card", "data-id": d.id },
      h("p", {}, time(d.at), " ", h("span", { class: "code" }, String(d.code)), " ", d.kind,
        d.cause ? ` (${d.cause})` : "", " → ", h("strong", { class: "action" }, dec.action || "?"),
        dec.reason ? h("span", { class: "reason" }, " — " + dec.reason) : "",
        d.fallback ? h("em", {}, " (host fallback)") : ""),
      h("p", { class: "meta" }, `rule ${d.rule || "—"}, attempt ${d.attempt}, step ${d.step}, decided in ${d.latency_us} µs`),
      sched,
      jsonDetails("Input", d.input || null),
      jsonDetails("Decision", d.decision),
      d.shadow ? jsonDetails("Candidate's decision", d.shadow) : null);
  }

  async function loadDisconnects() {
    try {
      const body = await call("GET", base + "/disconnects?limit=200");
      disconnects = body.disconnects || [];
      drawRows();
      chart.replaceChildren(...hourlyChart(disconnects, new Date()));
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }
  async function loadHooks() {
    try {
      const body = await call("GET", base + "/webhooks?limit=100");
      const ds = body.deliveries || [];
      hooks.replaceChildren(...(ds.length ? ds.map((d) => h("tr", {},
        h("td", {}, d.event), h("td", {}, when(d.created_at)),
        h("td", {}, h("span", { class: "badge d-" + d.state }, d.state)),
        h("td", {}, String(d.attempts)), h("td", {}, d.last_error || ""))) :
        [h("tr", {}, h("td", { colspan: 5 }, "No webhooks: no webhook URL wants this instance's events."))]));
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }
  const laterD = debounce(loadDisconnects), laterH = debounce(loadHooks, 300);
  onEvent((ev, env) => {
    if (env.instance !== name) return;
    if (ev === "disconnect.decided") laterD();
    if (ev === "connection.update" && env.data) head.replaceChildren("Status: ", statusBadge(env.data.state));
    laterH();
  });
  await Promise.all([loadDisconnects(), loadHooks()]);
}
