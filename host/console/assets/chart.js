// hourlyChart draws disconnects per hour by code over the 24 hours before
// now as an inline SVG of stacked bars, with a legend and a text summary.
const NS = "http://www.w3.org/2000/svg";
// Colour-blind-safe palette (Okabe–Ito), darkened for contrast on white.
const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#000000"];

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

export function hourlyChart(disconnects, now) {
  const hour = 3600e3;
  const end = Math.ceil(now.getTime() / hour) * hour;
  const start = end - 24 * hour;
  const buckets = Array.from({ length: 24 }, () => new Map());
  const codes = new Map();
  for (const d of disconnects) {
    const t = new Date(d.at).getTime();
    if (t < start || t >= end) continue;
    const i = Math.floor((t - start) / hour);
    const code = String(d.code);
    buckets[i].set(code, (buckets[i].get(code) || 0) + 1);
    codes.set(code, (codes.get(code) || 0) + 1);
  }
  const order = [...codes.keys()].sort();
  const colour = (c) => palette[order.indexOf(c) % palette.length];
  const max = Math.max(1, ...buckets.map((b) => [...b.values()].reduce((a, n) => a + n, 0)));
  const W = 480, H = 160, left = 28, bottom = 20, bw = (W - left) / 24;
  const total = [...codes.values()].reduce((a, n) => a + n, 0);
  const summary = total
    ? `${total} disconnects in the last 24 hours: ` + order.map((c) => `${codes.get(c)} with code ${c}`).join(", ") + "."
    : "No disconnects in the last 24 hours.";
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary, class: "bars", id: "chart" });
  root.append(svg("line", { x1: left, y1: H - bottom, x2: W, y2: H - bottom, stroke: "#555" }));
  root.append(svg("text", { x: left - 4, y: 10, "text-anchor": "end", class: "axis" }, String(max)));
  root.append(svg("text", { x: left - 4, y: H - bottom, "text-anchor": "end", class: "axis" }, "0"));
  buckets.forEach((b, i) => {
    let y = H - bottom;
    for (const c of order) {
      const n = b.get(c) || 0;
      if (!n) continue;
      const hgt = (n / max) * (H - bottom - 12);
      y -= hgt;
      const r = svg("rect", { x: left + i * bw + 1, y, width: bw - 2, height: hgt, fill: colour(c) });
      r.append(svg("title", {}, `${n} × code ${c}, ${new Date(start + i * hour).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`));
      root.append(r);
    }
    if (i % 6 === 0) {
      root.append(svg("text", { x: left + i * bw, y: H - 4, class: "axis" },
        new Date(start + i * hour).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
    }
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const c of order) {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour(c);
    li.append(sw, `code ${c}: ${codes.get(c)}`);
    legend.append(li);
  }
  const cap = document.createElement("figcaption");
  cap.textContent = summary;
  return [root, legend, cap];
}
