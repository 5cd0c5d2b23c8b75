// Link a number: the QR code, replaced live as new codes arrive, with a
// countdown and the count against the QR limit; or a pairing code for a
// phone number. It turns to "connected" by itself when the phone links.
import { call } from "./api.js";
import { onEvent, scoped } from "./bus.js";
import { h, page, errorBox, number, statusBadge } from "./ui.js";

// WhatsApp shows the first code for 60 s and each later one for 20 s.
const firstTTL = 60, laterTTL = 20;

export async function linkPage(name) {
  const base = "/v1/instances/" + encodeURIComponent(name);
  const inst = await call("GET", base);
  const settings = await call("GET", base + "/settings").catch(() => ({}));
  const limit = settings.qr_limit || 0;

  const state = h("p", { id: "link-state", role: "status" });
  const img = h("img", { id: "qr", alt: "QR code: scan it with WhatsApp on the phone, under Linked devices", width: 264, height: 264, hidden: true });
  const count = h("p", { id: "qr-count" });
  const countdown = h("p", { id: "qr-countdown" });
  const pairing = h("p", { id: "pairing-code", class: "pairing", hidden: true });
  const msg = h("div");
  const phone = h("input", { id: "phone", name: "phone", type: "tel", inputmode: "numeric", autocomplete: "tel",
    pattern: "[0-9+ ]{8,20}", "aria-describedby": "phone-help" });
  let deadline = 0;

  const showStatus = (status, jid) => {
    state.replaceChildren("Status: ", statusBadge(status), jid ? ` — linked to ${number(jid)}` : "");
    if (status === "open") {
      img.hidden = true; pairing.hidden = true; countdown.textContent = ""; deadline = 0;
      state.append(h("strong", { class: "connected" }, " Connected."));
    }
  };
  const showQR = (q) => {
    if (!q || !q.base64) return;
    img.src = q.base64;
    img.hidden = false;
    count.textContent = limit ? `QR code ${q.count} of ${limit}` : `QR code ${q.count} (limit: the host's default)`;
    deadline = Date.now() + 1000 * (q.count <= 1 ? firstTTL : laterTTL);
    tick();
  };
  const tick = () => {
    if (!deadline) return;
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    countdown.textContent = left > 0 ? `Refreshes in ${left} s` : "Waiting for the next code…";
  };
  const timer = setInterval(tick, 1000);
  scoped(() => clearInterval(timer));

  const connect = async (body) => {
    msg.replaceChildren();
    try {
      const res = await call("POST", base + "/connect", body);
      if (res.qr) showQR(res.qr);
      if (res.pairing_code) {
        pairing.hidden = false;
        pairing.replaceChildren("Pairing code: ", h("strong", {}, res.pairing_code),
          " — on the phone: Linked devices → Link with phone number.");
      }
      if (res.status) showStatus(res.status);
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  };

  page("Link " + name,
    state,
    h("section", { "aria-labelledby": "qr-h" },
      h("h2", { id: "qr-h" }, "Scan a QR code"),
      h("button", { type: "button", id: "show-qr", onclick: () => connect() }, "Show QR code"),
      h("div", { class: "qr" }, img), count, countdown),
    h("section", { "aria-labelledby": "pair-h" },
      h("h2", { id: "pair-h" }, "Or use a pairing code"),
      h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); connect({ phone: phone.value.replace(/\D/g, "") }); } },
        h("label", { for: "phone" }, "Phone number with country code"),
        phone,
        h("button", { type: "submit" }, "Get pairing code"),
        h("p", { id: "phone-help", class: "help" }, "Digits only, as 5511999998888.")),
      pairing),
    msg,
    h("p", {}, h("a", { href: "#/instances" }, "Back to the instances")));

  showStatus(inst.status, inst.owner_jid);
  if (inst.status !== "open") {
    const cur = await call("GET", base + "/qr").catch(() => null);
    if (cur) showQR(cur);
  }
  onEvent((ev, env) => {
    if (env.instance !== name) return;
    if (ev === "qrcode.updated") showQR(env.data && env.data.qrcode);
    if (ev === "connection.update" && env.data) showStatus(env.data.state, env.data.wuid || env.sender);
  });
}
