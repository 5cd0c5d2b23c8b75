// The console's only back end: the admin API and its event stream, both
// called with the API key kept in this tab's session storage.

const KEY = "wahost.apikey";

export function savedKey() { return sessionStorage.getItem(KEY) || ""; }
export function saveKey(k) { sessionStorage.setItem(KEY, k); }
export function forgetKey() { sessionStorage.removeItem(KEY); }

// ApiError is a failed call, with the API's code and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// call sends one request and returns the decoded JSON body.
export async function call(method, path, body) {
  const init = { method, headers: { apikey: savedKey() }, cache: "no-store" };
  if (body instanceof FormData || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", "wahost did not answer: " + e.message);
  }
  const text = await res.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch { doc = null; }
  if (!res.ok) {
    const err = (doc && doc.error) || {};
    throw Object.assign(new ApiError(res.status, err.code || String(res.status), err.message || text || res.statusText), { body: doc });
  }
  return doc;
}

// stream reads GET /v1/events with fetch (EventSource cannot send the key)
// and calls onEvent(name, envelope, id) for each event. It reconnects with
// Last-Event-ID, so nothing committed meanwhile is missed, and reports
// "live", "reconnecting" or "unauthorized" through onState. after (a
// number) starts from that position instead of from now. It returns a
// function that stops it.
export function stream({ instance, events, after }, onEvent, onState = () => {}) {
  const ctrl = new AbortController();
  let last = after === undefined ? null : String(after);
  let stopped = false;
  const q = new URLSearchParams();
  if (instance) q.set("instance", instance);
  if (events && events.length) q.set("event", events.join(","));
  const url = "/v1/events" + (q.toString() ? "?" + q : "");
  (async () => {
    while (!stopped) {
      try {
        const headers = { apikey: savedKey() };
        if (last !== null) headers["Last-Event-ID"] = last;
        const res = await fetch(url, { headers, signal: ctrl.signal, cache: "no-store" });
        if (res.status === 401) { onState("unauthorized"); return; }
        if (!res.ok) throw new Error("status " + res.status);
        onState("live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = parse(block);
            if (!ev) continue;
            last = ev.id;
            let env = null;
            try { env = JSON.parse(ev.data); } catch { continue; }
            try { onEvent(ev.event, env, Number(ev.id)); } catch (e) { console.error(e); }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      onState("reconnecting");
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => { stopped = true; ctrl.abort(); };
}

function parse(block) {
  const ev = { id: null, event: "message", data: "" };
  let any = false;
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const j = line.indexOf(":");
    const field = j < 0 ? line : line.slice(0, j);
    const value = j < 0 ? "" : line.slice(j + 1).replace(/^ /, "");
    if (field === "id") ev.id = value;
    else if (field === "event") ev.event = value;
    else if (field === "data") { ev.data += (ev.data ? "\n" : "") + value; any = true; }
  }
  return any && ev.id !== null ? ev : null;
}
