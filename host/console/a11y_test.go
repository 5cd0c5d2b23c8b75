package console_test

import "strings"

// a11yCheck is evaluated in the page and returns its problems: form
// fields without a label, buttons, links and images without a name, text
// whose WCAG contrast against its background is below 4.5:1 (3:1 for
// large text), and a page wider than the viewport.
const a11yCheck = `(() => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const name = (el) => (el.getAttribute("aria-label") || "").trim() ||
    (el.getAttribute("aria-labelledby") || "").split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join("").trim() ||
    (el.labels && [...el.labels].map((l) => l.textContent).join("").trim()) || "";
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    if (!name(el)) problems.push("unlabelled field " + (el.id || el.name || el.outerHTML.slice(0, 60)));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (visible(el) && !(el.textContent.trim() || name(el))) problems.push("nameless " + el.outerHTML.slice(0, 60));
  }
  for (const el of document.querySelectorAll("img")) {
    if (visible(el) && !el.hasAttribute("alt")) problems.push("image without alt " + (el.id || el.src.slice(0, 40)));
  }
  const rgba = (c) => { const m = c.match(/[\d.]+/g) || [0, 0, 0, 0]; return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const blend = (top, under) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1); };
  const background = (el) => { const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) { const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
    let bg = [255, 255, 255, 1]; for (const c of layers.reverse()) bg = blend(c, bg); return bg; };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.textContent.trim() || !el || seen.has(el) || !visible(el) || el.closest("svg, [hidden], .toast:not(.shown)")) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    if (+s.opacity === 0) continue;
    const bg = background(el);
    const fg = blend(rgba(s.color), bg);
    const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05];
    const ratio = Math.max(a, b) / Math.min(a, b);
    const size = parseFloat(s.fontSize), bold = +s.fontWeight >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) problems.push("contrast " + ratio.toFixed(2) + " < " + need + ": " + JSON.stringify(t.textContent.trim().slice(0, 40)) + " in " + el.tagName.toLowerCase() + "." + el.className);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    const wide = [...document.querySelectorAll("body *")].filter((el) => visible(el) && el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(-3).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className);
    problems.push("page is " + document.documentElement.scrollWidth + " px wide in a " + window.innerWidth + " px viewport: " + wide.join(", "));
  }
  return problems;
})()`

func problems(list []string) string { return strings.Join(list, "\n") }
