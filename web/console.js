// The OR console (surgeon, moderator of the session): consent, patient
// identifiers, moderators, go live / end, delay, invite, camera over WHIP with
// masks painted before encoding, the composer (text, phase markers, images
// with masks drawn on them), the held queue with countdowns and
// approve/edit/retract, the curtain and DUMP (also on F8 / F9 for a pedal).
// Two views: the surgeon's (the few large controls, a one-line summary of the
// queue, the top questions) and the moderator's (adds the held queue with
// thumbnails and the full Q&A with answer/pin/hide). The owner starts in the
// surgeon's view, an assigned moderator in the moderator's; either can switch.
import { api } from "./api.js";
import { $, h, renderText, announce } from "./dom.js";
import { publishCamera, maskDrawing } from "./media.js";

const CURTAIN_KEY = "F8";
const DUMP_KEY = "F9";

export class Console {
  constructor(me, s) {
    this.me = me; this.s = s; this.curtain = !!s.curtain;
    this.heldItems = new Map(); this.releasedIds = new Set();
    this.masks = []; this.imageMasks = []; this.image = null; this.closeCamera = null;
    const owner = s.owner === me.sub;
    $("setup").hidden = !owner || s.state === "ended";
    $("setup").open = s.state === "draft"; // folded away once live: the surgeon's view is the large controls
    $("held").replaceChildren();
    $("delay-form").delay.value = s.delay_seconds;
    $("consent-state").textContent = s.consent ? `Recorded (${s.consent.reference})` : "Not recorded";
    this.onView = () => {};
    this.wire(owner);
    this.setView(owner ? "surgeon" : "moderator");
    this.timer = setInterval(() => this.tick(), 500);
    this.onKey = (e) => {
      if (e.key === CURTAIN_KEY) { e.preventDefault(); this.toggleCurtain(); }
      else if (e.key === DUMP_KEY) { e.preventDefault(); this.dump(); }
    };
    addEventListener("keydown", this.onKey);
    this.stateButtons();
  }

  url(p) { return `/api/sessions/${this.s.id}${p}`; }

  setView(v) {
    this.view = v;
    $("console").dataset.view = v;
    const b = $("view-toggle");
    b.textContent = v === "surgeon" ? "Show moderator tools" : "Surgeon view";
    b.setAttribute("aria-pressed", v === "moderator" ? "true" : "false");
    this.onView(v);
    this.tick();
  }
  say(id, msg) { $(id).textContent = msg; }

  wire(owner) {
    $("go-live").hidden = !owner; $("end").hidden = !owner; $("invite").hidden = !owner;
    $("consent-form").onsubmit = async (e) => {
      e.preventDefault();
      const f = e.target;
      const scope = Object.fromEntries(["text", "images", "video", "audio", "archive"].map((k) => [k, f[k].checked]));
      try {
        const s = await api("PUT", this.url("/consent"), { reference: f.reference.value, scope });
        Object.assign(this.s, s || {});
        this.say("consent-state", `Recorded (${f.reference.value})`);
      } catch (err) { this.say("consent-state", err.message); }
    };
    $("identifiers-form").onsubmit = async (e) => {
      e.preventDefault();
      const f = e.target;
      const lines = (v) => v.split(/\n/).map((x) => x.trim()).filter(Boolean);
      try {
        await api("PUT", this.url("/identifiers"), { names: lines(f.names.value), mrns: lines(f.mrns.value), dates: lines(f.dates.value) });
        const n = lines(f.names.value).length + lines(f.mrns.value).length + lines(f.dates.value).length;
        f.reset(); // identifiers never stay on screen
        this.say("identifiers-state", `${n} identifier${n === 1 ? "" : "s"} registered`);
      } catch (err) { this.say("identifiers-state", err.message); }
    };
    $("moderators-form").onsubmit = async (e) => {
      e.preventDefault();
      // Account ids are UUIDs; anything else is a username (extension).
      const given = e.target.users.value.split(",").map((x) => x.trim()).filter(Boolean);
      const isId = (x) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(x);
      const body = { users: given.filter(isId), usernames: given.filter((x) => !isId(x)) };
      try { await api("PUT", this.url("/moderators"), body); this.say("moderators-state", `${given.length} assigned`); }
      catch (err) { this.say("moderators-state", err.message); }
    };
    $("go-live").onclick = async () => { if (await this.action("/start", "Live")) $("setup").open = false; };
    $("end").onclick = () => { if (confirm("End the session? Held items are dropped.")) this.action("/end", "Ended"); };
    $("delay-form").onsubmit = async (e) => {
      e.preventDefault();
      try { await api("PATCH", this.url(""), { delay_seconds: Number(e.target.delay.value) }); announce("Delay changed"); }
      catch (err) { this.say("publish-state", err.message); }
    };
    $("invite").onclick = async () => {
      try {
        const r = await api("POST", this.url("/invites"), { role: "student", ttl_seconds: 4 * 3600, max_uses: 200 });
        // The code on this console's own origin (the server's idea of its URL may differ behind a proxy).
        const given = new URL(r.url || `/join?code=${encodeURIComponent(r.code)}`, location.origin);
        const link = new URL(given.pathname + given.search, location.origin);
        link.hash = "#/s/" + this.s.id;
        $("invite-url").textContent = link.href;
      } catch (err) { $("invite-url").textContent = err.message; }
    };
    $("view-toggle").onclick = () => this.setView(this.view === "surgeon" ? "moderator" : "surgeon");
    $("curtain").onclick = () => this.toggleCurtain();
    $("dump").onclick = () => this.dump();
    maskDrawing($("preview"), this.masks, () => {}, announce);
    $("clear-masks").onclick = () => { this.masks.length = 0; announce("Video masks cleared"); };
    $("camera").onclick = () => this.camera();
    // Composer.
    const f = $("publish-form");
    const kind = () => f.kind.value;
    const onKind = () => {
      $("image-fields").hidden = kind() !== "image";
      $("text-label").firstChild.textContent = kind() === "marker" ? "Phase label " : "Text ";
      $("text-label").hidden = kind() === "image";
    };
    for (const r of f.kind) r.onchange = () => { onKind(); this.preview(); };
    onKind();
    // What the gallery will see, redacted by the server as it would be on
    // release (POST /redact, extension), while the surgeon types.
    f.text.oninput = () => { clearTimeout(this.previewTimer); this.previewTimer = setTimeout(() => this.preview(), 250); };
    maskDrawing($("image-canvas"), this.imageMasks, () => this.drawImage(), announce);
    $("clear-image-masks").onclick = () => { this.imageMasks.length = 0; this.drawImage(); };
    f.file.onchange = async () => {
      const file = f.file.files[0];
      this.image = null; this.imageMasks.length = 0;
      if (!file) return;
      try { this.image = await createImageBitmap(file); } catch { this.say("publish-state", "That file is not an image."); return; }
      $("image-canvas").width = this.image.width; $("image-canvas").height = this.image.height;
      this.drawImage();
    };
    f.onsubmit = async (e) => {
      e.preventDefault();
      try {
        if (kind() === "image") {
          const file = f.file.files[0];
          if (!file) { this.say("publish-state", "Choose an image first."); return; }
          const body = new FormData();
          body.append("file", file);
          if (f.caption.value) body.append("caption", f.caption.value);
          body.append("masks", JSON.stringify(this.imageMasks.map((m) => ({ x: Math.round(m.x), y: Math.round(m.y), w: Math.round(m.w), h: Math.round(m.h) }))));
          await api("POST", this.url("/images"), body);
        } else {
          const v = f.text.value.trim();
          if (!v) { this.say("publish-state", kind() === "marker" ? "Enter a phase label." : "Enter some text."); return; }
          await api("POST", this.url("/updates"), kind() === "marker" ? { kind: "marker", label: v } : { kind: "text", text: v });
        }
        f.text.value = ""; this.preview(); f.caption.value = ""; f.file.value = ""; this.image = null; this.imageMasks.length = 0; this.drawImage();
        this.say("publish-state", "Held — see the queue below");
      } catch (err) { this.say("publish-state", err.message); }
    };
  }

  async preview() {
    const f = $("publish-form");
    const text = f.kind.value === "text" ? f.text.value : "";
    const seq = (this.previewSeq = (this.previewSeq || 0) + 1);
    if (!text.trim()) { $("gallery-preview").hidden = true; return; }
    try {
      const r = await api("POST", this.url("/redact"), { text });
      if (seq !== this.previewSeq) return; // a newer draft is on its way
      $("gallery-preview-text").replaceChildren(renderText(r.text, r.redactions));
      $("gallery-preview").hidden = false;
    } catch (err) {
      if (seq === this.previewSeq) { $("gallery-preview-text").textContent = err.message; $("gallery-preview").hidden = false; }
    }
  }

  drawImage() {
    const c = $("image-canvas"); const g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    if (this.image) g.drawImage(this.image, 0, 0);
    g.fillStyle = "#000";
    for (const m of this.imageMasks) g.fillRect(m.x, m.y, m.w, m.h);
  }

  async action(path, label) {
    try {
      const s = await api("POST", this.url(path), {});
      if (s && s.state) this.s.state = s.state;
      this.stateButtons();
      announce(label);
      return true;
    } catch (err) { this.say("publish-state", err.message); return false; }
  }

  stateButtons() {
    $("go-live").disabled = this.s.state !== "draft";
    $("end").disabled = this.s.state !== "live";
    $("setup").hidden = this.s.owner !== this.me.sub || this.s.state === "ended";
  }

  async toggleCurtain() {
    // The reply is the new state: a second pedal press toggles back even
    // before this console's own state frame arrives.
    const want = !this.curtain;
    try { await api("POST", this.url("/curtain"), { down: want }); this.curtain = want; }
    catch (err) { this.say("publish-state", err.message); }
  }

  async dump() {
    try {
      const r = await api("POST", this.url("/dump"), {});
      this.say("publish-state", `Dumped ${r ? r.dropped : 0} held item(s) and the delayed media`);
      announce("Dumped");
    } catch (err) { this.say("publish-state", err.message); }
  }

  async camera() {
    if (this.closeCamera) {
      await this.closeCamera(); this.closeCamera = null;
      $("camera").textContent = "Start camera"; this.say("camera-state", ""); return;
    }
    try {
      this.closeCamera = await publishCamera(this.s.id, $("preview"), this.masks);
      $("camera").textContent = "Stop camera"; this.say("camera-state", "sending to the gallery (delayed)");
    } catch (err) { this.say("camera-state", `Camera: ${err.message}`); }
  }

  state(m) {
    this.curtain = !!m.curtain; this.s.state = m.state;
    $("curtain").textContent = m.curtain ? "Curtain up" : "Curtain down";
    $("curtain").setAttribute("aria-pressed", m.curtain ? "true" : "false");
    $("curtain").classList.toggle("down", !!m.curtain);
    if (document.activeElement !== $("delay-form").delay) $("delay-form").delay.value = m.delay_seconds;
    this.stateButtons();
  }

  held(it) {
    if (this.releasedIds.has(it.id)) return; // a late "held" for an item already out
    this.heldItems.set(it.id, it);
    let li = document.getElementById("held-" + it.id);
    if (!li) { li = h("li", { id: "held-" + it.id }); $("held").append(li); }
    const body = it.kind === "marker" ? ["Phase: ", it.label || ""] : [renderText(it.text || it.caption || "", it.redactions)];
    const count = h("span", { class: "countdown", "data-release": it.release_at || "" });
    li.replaceChildren(h("span", { class: "kind" }, it.kind || "text"), " ");
    if (it.kind === "image") {
      // The image exactly as it will be released (masks painted), for controllers only.
      this.previews = (this.previews || 0) + 1;
      li.append(h("img", { class: "held-thumb", src: this.url(`/updates/${encodeURIComponent(it.id)}/preview?v=${this.previews}`),
        alt: "Held image as the gallery will see it" }), " ");
    }
    li.append(h("span", { class: "held-text" }, body), " ", count, " ");
    const op = (name, label) => h("button", { type: "button", class: "op-" + name, onclick: () =>
      api("POST", this.url(`/updates/${it.id}/${name}`), {}).catch((e) => this.say("publish-state", e.message)) }, label);
    li.append(op("approve", "Approve"), " ");
    if (it.kind === "text") li.append(h("button", { type: "button", class: "op-edit", onclick: () => this.edit(li, it) }, "Edit"), " ");
    li.append(op("retract", "Retract"));
    $("held-count").textContent = String(this.heldItems.size);
    this.tick();
  }

  edit(li, it) {
    if (li.querySelector("form")) return;
    const input = h("textarea", { name: "text", rows: "2", required: true });
    input.value = it.text || "";
    const form = h("form", {}, h("label", {}, "Edit text ", input), h("button", { type: "submit" }, "Save"));
    form.onsubmit = async (e) => {
      e.preventDefault();
      try { await api("PATCH", this.url(`/updates/${it.id}`), { text: input.value }); }
      catch (err) { this.say("publish-state", err.message); }
    };
    li.append(form); input.focus();
  }

  released(id) { this.releasedIds.add(id); this.dropped(id); }
  dropped(id) {
    this.heldItems.delete(id);
    document.getElementById("held-" + id)?.remove();
    $("held-count").textContent = String(this.heldItems.size);
  }

  tick() {
    let next = Infinity;
    for (const c of document.querySelectorAll("#held .countdown")) {
      const left = Math.max(0, Math.ceil((Date.parse(c.dataset.release) - Date.now()) / 1000));
      if (!isNaN(left)) next = Math.min(next, left);
      c.textContent = isNaN(left) ? "" : (left > 0 ? `releases in ${left} s` : this.curtain ? "waiting for the curtain" : "releasing…");
    }
    // The surgeon's one line about the queue.
    const n = this.heldItems.size;
    const when = this.curtain ? "waiting for the curtain" : next > 0 ? `next releases in ${next} s` : "releasing…";
    const text = n === 0 ? "Nothing held" : next === Infinity ? `${n} held` : `${n} held · ${when}`;
    if ($("held-summary").textContent !== text) $("held-summary").textContent = text;
  }

  close() {
    clearInterval(this.timer);
    removeEventListener("keydown", this.onKey);
    if (this.closeCamera) { this.closeCamera(); this.closeCamera = null; }
  }
}
