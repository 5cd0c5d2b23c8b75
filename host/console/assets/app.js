// The console's shell: the sign-in form, the router and the shared live
// event stream the pages subscribe to.
import { call, savedKey, saveKey, forgetKey, stream } from "./api.js";
import { h, page, errorBox } from "./ui.js";
import { instancesPage } from "./instances.js";
import { linkPage } from "./link.js";
import { timelinePage } from "./timeline.js";
import { policyPage } from "./policy.js";
import { webhooksPage } from "./webhooks.js";
import { emit, leave } from "./bus.js";

let stopStream = null;

function startStream() {
  if (stopStream) return;
  const live = document.getElementById("live");
  live.hidden = false;
  live.textContent = "connecting…";
  stopStream = stream({}, emit, (state) => {
    live.textContent = state === "live" ? "live" : state === "unauthorized" ? "key refused" : "reconnecting…";
    live.className = "live " + state;
    if (state === "unauthorized") signOut("The API key was refused by the server. Enter it again.");
  });
}

function signOut(message) {
  if (stopStream) { stopStream(); stopStream = null; }
  forgetKey();
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("live").hidden = true;
  login(message);
}

function login(message) {
  const input = h("input", { id: "apikey", name: "apikey", type: "password", autocomplete: "current-password", required: true });
  const msg = h("div", { id: "login-msg" });
  if (message) msg.append(errorBox(new Error(message)));
  const form = h("form", { class: "card login", onsubmit: async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    msg.replaceChildren();
    saveKey(key);
    try {
      await call("GET", "/v1/instances");
    } catch (err) {
      forgetKey();
      const text = err.status === 401
        ? "That API key was refused. Use the key wahost printed on its first start (or api_key in its config)."
        : err.message;
      msg.replaceChildren(errorBox(new Error(text)));
      input.focus();
      return;
    }
    enter();
  } },
    h("label", { for: "apikey" }, "API key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    msg);
  page("Sign in", h("p", {}, "The console uses wahost's admin API with your API key. It is kept in this tab only and forgotten when the tab closes."), form);
  input.focus();
}

function enter() {
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  startStream();
  if (!location.hash || location.hash === "#/" || location.hash === "#/login") location.hash = "#/instances";
  else route();
}

const routes = [
  [/^#\/instances$/, () => instancesPage()],
  [/^#\/link\/([^/]+)$/, (m) => linkPage(decodeURIComponent(m[1]))],
  [/^#\/timeline\/([^/]+)$/, (m) => timelinePage(decodeURIComponent(m[1]))],
  [/^#\/policy$/, () => policyPage()],
  [/^#\/webhooks$/, () => webhooksPage()],
];

function route() {
  if (!savedKey()) return login();
  leave();
  document.getElementById("toast").classList.remove("shown");
  const hash = location.hash || "#/instances";
  for (const a of document.querySelectorAll("#nav a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const [re, fn] of routes) {
    const m = hash.match(re);
    if (m) {
      Promise.resolve(fn(m)).catch((err) => {
        if (err.status === 401) return signOut("The API key was refused by the server. Enter it again.");
        page("Something went wrong", errorBox(err));
      });
      return;
    }
  }
  page("Not found", h("p", {}, "No such page. ", h("a", { href: "#/instances" }, "Go to the instances.")));
}

window.addEventListener("hashchange", route);
document.getElementById("signout").addEventListener("click", () => signOut());
if (savedKey()) enter(); else login();
