// Small DOM helpers shared by the pages.

// h builds an element: h("a", {href: "#"}, "text", child, ...). Text is
// always set as text, never as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// page replaces the main area and moves focus to its heading.
export function page(title, ...children) {
  const main = document.getElementById("main");
  const heading = h("h1", { tabindex: "-1" }, title);
  main.replaceChildren(heading, ...children);
  document.title = title + " · wahost";
  heading.focus({ preventScroll: true });
  return main;
}

export function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("shown"), 4000);
}

// errorBox is an alert naming what went wrong and what to do.
export function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, err.message || String(err));
}

export function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function time(t) {
  return h("time", { datetime: new Date(t).toISOString() }, when(t));
}

// number returns the phone number of a JID ("5511…:2@s.whatsapp.net").
export function number(jid) {
  if (!jid) return "";
  return "+" + jid.split("@")[0].split(":")[0];
}

export function statusBadge(status) {
  return h("span", { class: "badge s-" + (status || "close") }, status || "close");
}

// json renders a document in an expandable block.
export function jsonDetails(summary, doc) {
  return h("details", {}, h("summary", {}, summary), h("pre", {}, JSON.stringify(doc, null, 2)));
}

// debounce runs fn once after calls stop for ms.
export function debounce(fn, ms = 150) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
