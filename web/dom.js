// Small DOM helpers shared by every view. No innerHTML with data: text only.
export const $ = (id) => document.getElementById(id);

// h("button", {class: "big", onclick}, "Label", child…)
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c);
  return e;
}

// Text with its masked spans (code-point offsets from the server) highlighted.
export function renderText(text, spans) {
  const chars = Array.from(text || "");
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const s of spans || []) {
    frag.append(chars.slice(at, s.start).join(""));
    frag.append(h("span", { class: "mask", title: `masked (${s.type || "identifier"})` }, chars.slice(s.start, s.end).join("")));
    at = s.end;
  }
  frag.append(chars.slice(at).join(""));
  return frag;
}

// Polite announcement for screen readers (one shared live region).
export function announce(msg) {
  const r = $("announcer");
  if (r) { r.textContent = ""; setTimeout(() => { r.textContent = msg; }, 30); }
}

export function showView(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
  const head = document.querySelector(`#${id} h2`);
  if (head) { head.tabIndex = -1; head.focus({ preventScroll: true }); }
}

export function fmtTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
