// The archive (educators, the owner): replay of the released timeline in
// step with the recording (click an item or a phase to seek), the pulse over
// time, the feedback summary and the export download.
import { api } from "./api.js";
import { $, h, renderText, showView } from "./dom.js";

export async function showArchive(me, id) {
  const t = await api("GET", `/api/sessions/${id}/timeline`);
  showView("archive");
  $("archive-title").textContent = `Replay: ${t.session ? t.session.title : id}`;
  $("export").href = `/api/sessions/${id}/export`;
  $("export").setAttribute("download", `orgallery-${id}.zip`);
  const video = $("replay");
  const rec = (t.recordings || [])[0];
  video.hidden = !rec; $("no-recording").hidden = !!rec;
  if (rec) video.src = rec.url; else video.removeAttribute("src");
  const recOffset = rec && rec.offset_ms ? rec.offset_ms : 0;
  const seek = (offsetMs) => {
    if (!rec || offsetMs === null || offsetMs === undefined) return;
    video.currentTime = Math.max(0, (offsetMs - recOffset) / 1000);
  };
  const at = (ms) => (ms === null || ms === undefined ? "" : `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, "0")}`);
  $("archive-markers").replaceChildren(...(t.markers || []).map((m) =>
    h("li", {}, h("button", { type: "button", class: "seek-marker", onclick: () => seek(m.offset_ms) }, `${m.label} ${at(m.offset_ms)}`))));
  $("archive-items").replaceChildren(...(t.items || []).map((u) => {
    const label = u.kind === "marker" ? [h("strong", {}, "Phase: "), u.label || ""]
      : u.kind === "image" ? [h("img", { src: u.image_url, alt: u.caption ? `Image: ${u.caption}` : "Image", class: "archive-img" }), renderText(u.caption, u.redactions)]
      : [renderText(u.text, u.redactions)];
    return h("li", {}, h("button", { type: "button", class: "seek-item", onclick: () => seek(u.offset_ms) }, h("time", {}, at(u.offset_ms)), " ", label));
  }));
  // Pulse: stacked bars per bucket (heights set from JS, allowed by the CSP).
  const chart = $("pulse-chart");
  chart.replaceChildren();
  try {
    const p = await api("GET", `/api/sessions/${id}/pulse`);
    const series = p.series || [];
    const max = Math.max(1, ...series.map((b) => b.total || 0));
    for (const b of series) {
      const col = h("div", { class: "bar", title: `${b.counts.clear} clear, ${b.counts.confused} confused, ${b.counts.too_fast} too fast, ${b.counts.great} great${b.marker ? " — " + b.marker.label : ""}` });
      for (const k of ["clear", "confused", "too_fast", "great"]) {
        const seg = h("div", { class: "seg " + k });
        seg.style.height = `${(100 * b.counts[k]) / max}%`;
        col.append(seg);
      }
      chart.append(col);
    }
    chart.setAttribute("aria-label", `Pulse over time: ${series.length} intervals of ${p.bucket_seconds} s, ${series.reduce((n, b) => n + (b.total || 0), 0)} pulses`);
    if (!series.length) chart.append(h("p", {}, "No pulse was sent."));
  } catch (err) { chart.append(h("p", {}, `Pulse unavailable: ${err.message}`)); }
  const fb = $("feedback-summary");
  try {
    const f = await api("GET", `/api/sessions/${id}/feedback`);
    fb.replaceChildren(
      h("p", { class: "fb-average" }, f.count ? `${f.count} response${f.count === 1 ? "" : "s"}, average ${Number(f.average).toFixed(1)} / 5` : "No feedback yet."),
      h("ul", {}, [5, 4, 3, 2, 1].map((r) => h("li", {}, `${r}: ${(f.distribution || {})[r] || 0}`))),
      h("ul", { class: "comments" }, (f.comments || []).map((c) => h("li", {}, typeof c === "string" ? c : c.comment || c.text || JSON.stringify(c)))),
    );
  } catch (err) { fb.replaceChildren(h("p", {}, `Feedback unavailable: ${err.message}`)); }
}
