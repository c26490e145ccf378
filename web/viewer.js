// What every watcher sees: the timeline (text, markers as a phase strip,
// images with a lightbox), the video over WHEP (delayed in step with the
// timeline by the server), the curtain said plainly, the viewer count, the
// pulse buttons and, once the session ends, the feedback form.
import { api } from "./api.js";
import { $, h, renderText, announce, fmtTime } from "./dom.js";
import { watchVideo } from "./media.js";

export class Viewer {
  constructor(me, s, send) {
    this.me = me; this.s = s; this.send = send; this.closeVideo = null; this.closed = false;
    $("updates").replaceChildren(); $("phase-list").replaceChildren();
    $("phases").hidden = true;
    const viewer = me.role === "student" || me.role === "clinician";
    $("pulse-send").hidden = !viewer;
    $("pulse").hidden = viewer;
    $("pulse").textContent = "";
    $("feedback-form").hidden = true;
    for (const b of $("pulse-send").querySelectorAll("button")) {
      b.onclick = () => { if (send({ type: "pulse", value: b.dataset.pulse })) announce(`Sent: ${b.textContent}`); };
    }
    $("unmute").onclick = () => {
      const v = $("video"); v.muted = !v.muted;
      $("unmute").textContent = v.muted ? "Unmute narration" : "Mute narration";
    };
    $("lightbox-close").onclick = () => $("lightbox").close();
    $("lightbox").onclick = (e) => { if (e.target === $("lightbox")) $("lightbox").close(); };
    this.startVideo();
    this.feedbackWired = false;
  }

  startVideo() {
    if (this.closeVideo || this.closed) return;
    watchVideo(this.s.id, $("video"))
      .then((c) => { if (this.closed) c(); else this.closeVideo = c; })
      .catch((err) => { $("no-video").textContent = `No live video (${err.message})`; });
  }

  state(m) {
    this.s.state = m.state;
    $("paused").hidden = !m.curtain;
    $("video").hidden = !!m.curtain;
    $("unmute").hidden = !!m.curtain;
    $("no-video").hidden = m.curtain || m.video === "live";
    const stateText = { draft: "Not started", live: "Live", ended: "Ended" }[m.state] || m.state;
    $("live-state").textContent = `${stateText}${m.curtain ? " — Paused by the surgical team" : ""} · delay ${m.delay_seconds} s · ${m.viewers} watching`;
    $("live-state").className = m.curtain ? "curtain" : "";
    if (m.state === "ended") this.ended();
  }

  update(seq, u) {
    const li = h("li", { "data-seq": seq, "data-kind": u.kind, id: "u-" + u.id, tabindex: "-1" });
    li.append(h("time", { datetime: u.released_at || "" }, fmtTime(u.released_at || u.created_at)), " ");
    if (u.kind === "image") {
      const img = h("img", { src: u.image_url, alt: u.caption ? `Image: ${u.caption}` : "Image from the operating room", loading: "lazy" });
      const open = h("button", { type: "button", class: "thumb", "aria-label": "Enlarge image" }, img);
      open.onclick = () => {
        $("lightbox-img").src = u.image_url; $("lightbox-img").alt = img.alt;
        $("lightbox-caption").replaceChildren(renderText(u.caption, u.redactions));
        $("lightbox").showModal();
      };
      li.append(open, h("span", { class: "caption" }, renderText(u.caption, u.redactions)));
    } else if (u.kind === "marker") {
      li.className = "marker";
      li.append(h("strong", {}, "Phase: "), u.label || "");
      this.phase(u);
    } else {
      li.append(renderText(u.text, u.redactions));
    }
    $("updates").append(li);
  }

  phase(u) {
    $("phases").hidden = false;
    for (const p of $("phase-list").children) p.removeAttribute("aria-current");
    const b = h("a", { href: "#/s/" + this.s.id, "aria-label": `Phase ${u.label}` }, u.label || "");
    b.onclick = (e) => { e.preventDefault(); document.getElementById("u-" + u.id)?.focus(); };
    $("phase-list").append(h("li", { "aria-current": "step" }, b));
  }

  pulse(m) {
    const c = m.counts;
    const secs = Math.round((Date.parse(m.end) - Date.parse(m.start)) / 1000);
    $("pulse").textContent = `Pulse, last ${secs} s: ${c.clear} clear · ${c.confused} confused · ${c.too_fast} too fast · ${c.great} great`;
  }

  ended() {
    if (this.closeVideo) { this.closeVideo(); this.closeVideo = null; }
    $("no-video").textContent = "The session has ended";
    $("no-video").hidden = false;
    $("ask-form").hidden = true;
    $("pulse-send").hidden = true;
    if (this.me.role !== "student" && this.me.role !== "clinician") return;
    const f = $("feedback-form");
    f.hidden = false;
    if (this.feedbackWired) return;
    this.feedbackWired = true;
    f.onsubmit = async (e) => {
      e.preventDefault();
      try {
        await api("POST", `/api/sessions/${this.s.id}/feedback`, { rating: Number(f.rating.value), comment: f.comment.value || undefined });
        $("feedback-state").textContent = "Thank you for your feedback.";
        f.querySelector("button[type=submit]").disabled = true;
      } catch (err) { $("feedback-state").textContent = err.message; }
    };
  }

  close() {
    this.closed = true;
    if (this.closeVideo) { this.closeVideo(); this.closeVideo = null; }
    if ($("lightbox").open) $("lightbox").close();
  }
}
