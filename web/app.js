// orgallery browser app: sign in, pick a session, watch it live; surgeons and
// moderators also get the OR console (publish, held queue, curtain, dump);
// viewers ask and upvote questions and send a pulse; presenters answer, pin,
// hide and review questions and see the pulse.
// The token lives in the HttpOnly cookie; the WebSocket is same-origin.
import { watchVideo, publishCamera, maskDrawing } from "./media.js";

const $ = (id) => document.getElementById(id);
let me = null;
let socket = null;
let closeVideo = null;
let closeCamera = null;
const masks = [];

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
  return data;
}

function show(id) { for (const s of ["login", "sessions", "live"]) $(s).hidden = s !== id; }

function renderText(text, spans) {
  // Highlight masks using the code-point offsets the server reports.
  const chars = Array.from(text || "");
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const s of spans || []) {
    frag.append(chars.slice(at, s.start).join(""));
    const m = document.createElement("span");
    m.className = "mask"; m.textContent = chars.slice(s.start, s.end).join("");
    frag.append(m); at = s.end;
  }
  frag.append(chars.slice(at).join(""));
  return frag;
}

async function start() {
  try { me = await api("GET", "/api/me"); } catch { me = null; }
  if (!me) { show("login"); return; }
  $("who").textContent = `${me.name} (${me.role})`;
  $("logout").hidden = false;
  const list = await api("GET", "/api/sessions");
  const ul = $("session-list"); ul.replaceChildren();
  for (const s of list) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + s.id; a.textContent = `${s.title} — ${s.state}`;
    a.onclick = (e) => { e.preventDefault(); watch(s); };
    li.append(a); ul.append(li);
  }
  show("sessions");
}

function watch(s) {
  show("live");
  $("live-title").textContent = s.title;
  $("updates").replaceChildren(); $("held").replaceChildren();
  const controller = s.owner === me.sub || (s.moderators || []).includes(me.sub);
  $("console").hidden = !controller;
  let last = 0;
  const released = new Set();
  const viewer = ["student", "clinician"].includes(me.role);
  const staff = ["surgeon", "moderator", "educator"].includes(me.role);
  const questions = new Map();
  $("questions").replaceChildren(); $("qa-error").textContent = "";
  $("ask-form").hidden = !viewer; $("pulse-send").hidden = !viewer; $("pulse").hidden = !staff;
  const send = (m) => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(m));
  const renderQuestions = () => {
    const qs = [...questions.values()].sort((a, b) =>
      (b.pinned - a.pinned) || (b.votes - a.votes) || a.created_at.localeCompare(b.created_at));
    $("questions").replaceChildren(...qs.map((q) => {
      const li = document.createElement("li");
      li.id = "q-" + q.id;
      li.className = [q.pinned && "pinned", q.hidden && "hidden-q", q.status === "pending" && "pending"].filter(Boolean).join(" ");
      li.append(renderText(q.text, q.redactions), ` — ${q.author} · ${q.votes} ▲`);
      if (q.status === "pending") li.append(" (awaiting review)");
      if (q.answered) {
        const a = document.createElement("div");
        a.className = "answer"; a.append(renderText(q.answer, q.answer_redactions), ` — ${q.answered_by}`);
        li.append(a);
      }
      const button = (label, onclick) => {
        const b = document.createElement("button"); b.textContent = label; b.onclick = onclick; li.append(" ", b);
      };
      const act = (op, body) => () => api("POST", `/api/sessions/${s.id}/questions/${q.id}/${op}`, body || {}).catch((e) => alert(e.message));
      if (me.role === "student" && q.status === "published") button("upvote", () => send({ type: "upvote", question_id: q.id }));
      if (staff && q.status === "published") {
        button("answer", () => { const t = prompt("Answer"); if (t) act("answer", { text: t })(); });
        button(q.pinned ? "unpin" : "pin", act(q.pinned ? "unpin" : "pin"));
        button(q.hidden ? "unhide" : "hide", act(q.hidden ? "unhide" : "hide"));
      }
      if (controller && q.status === "pending") { button("approve", act("approve")); button("reject", act("reject")); }
      return li;
    }));
  };
  const open = () => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${proto}//${location.host}/api/sessions/${s.id}/live?after=${last}`);
    socket.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "state") {
        // Behind the curtain: no media at all, said plainly.
        $("paused").hidden = !m.curtain;
        $("no-video").hidden = m.curtain || m.video === "live";
        $("video").hidden = m.curtain;
        $("live-state").textContent = `${m.state}${m.curtain ? " — curtain down" : ""} · delay ${m.delay_seconds}s · ${m.viewers} watching`;
        $("live-state").className = m.curtain ? "curtain" : "";
        $("curtain").textContent = m.curtain ? "Curtain up" : "Curtain down";
        $("curtain").dataset.down = m.curtain ? "1" : "";
      } else if (m.type === "update") {
        last = m.seq;
        const u = m.update;
        const li = document.createElement("li");
        li.dataset.seq = m.seq;
        if (u.kind === "image") {
          const img = document.createElement("img"); img.src = u.image_url; img.alt = u.caption || "image"; img.width = 320;
          li.append(img, document.createElement("br"), renderText(u.caption, u.redactions));
        } else {
          li.append(renderText(u.kind === "marker" ? `▶ ${u.label}` : u.text, u.kind === "marker" ? [] : u.redactions));
        }
        $("updates").append(li);
        released.add(u.id);
        document.getElementById("held-" + u.id)?.remove();
      } else if (m.type === "held") {
        const it = m.item;
        // A late "held" (sent while this socket was catching up) for an item already out.
        if (released.has(it.id)) return;
        let li = document.getElementById("held-" + it.id);
        if (!li) { li = document.createElement("li"); li.id = "held-" + it.id; $("held").append(li); }
        li.replaceChildren(renderText(it.text || it.label || it.caption, it.redactions), " ");
        for (const op of ["approve", "retract"]) {
          const b = document.createElement("button"); b.textContent = op;
          b.onclick = () => api("POST", `/api/sessions/${s.id}/updates/${it.id}/${op}`, {}).catch(alert);
          li.append(b);
        }
      } else if (m.type === "dropped") {
        document.getElementById("held-" + m.id)?.remove();
      } else if (m.type === "question") {
        const q = m.question;
        const known = questions.get(q.id);
        if (known && known.version > q.version) return; // a stale event
        // A hidden question's stub (no text) or a rejected one leaves the panel.
        if ((q.hidden && q.text === undefined) || q.status === "rejected") questions.delete(q.id);
        else questions.set(q.id, q);
        renderQuestions();
      } else if (m.type === "pulse") {
        const c = m.counts;
        $("pulse").textContent = `Last ${Math.round((Date.parse(m.end) - Date.parse(m.start)) / 1000)} s: ` +
          `${c.clear} clear · ${c.confused} confused · ${c.too_fast} too fast · ${c.great} great`;
      } else if (m.type === "error" && m.of) {
        $("qa-error").textContent = m.error.message;
      } else if (m.type === "ack") {
        $("qa-error").textContent = m.of === "ask" && m.question.status === "pending" ? "Your question awaits review." : "";
      }
    };
    socket.onclose = (ev) => { if (ev.code === 4008) setTimeout(open, 100); };
  };
  open();
  if (closeVideo) closeVideo();
  watchVideo(s.id, $("video")).then((c) => { closeVideo = c; }).catch((err) => { $("no-video").textContent = `No video: ${err.message}`; });
  maskDrawing($("preview"), masks);
  $("clear-masks").onclick = () => { masks.length = 0; };
  $("camera").onclick = async () => {
    if (closeCamera) { await closeCamera(); closeCamera = null; $("camera").textContent = "Start camera"; $("camera-state").textContent = ""; return; }
    try {
      closeCamera = await publishCamera(s.id, $("preview"), masks);
      $("camera").textContent = "Stop camera"; $("camera-state").textContent = "sending to the gallery (delayed)";
    } catch (err) { $("camera-state").textContent = `Camera: ${err.message}`; }
  };
  $("publish-form").onsubmit = async (e) => {
    e.preventDefault();
    const text = e.target.text.value;
    await api("POST", `/api/sessions/${s.id}/updates`, { kind: "text", text }).catch((err) => alert(err.message));
    e.target.reset();
  };
  $("ask-form").onsubmit = (e) => {
    e.preventDefault();
    send({ type: "ask", text: e.target.text.value });
    e.target.reset();
  };
  for (const b of $("pulse-send").querySelectorAll("button")) b.onclick = () => send({ type: "pulse", value: b.dataset.pulse });
  $("curtain").onclick = () => api("POST", `/api/sessions/${s.id}/curtain`, { down: !$("curtain").dataset.down }).catch(alert);
  $("dump").onclick = () => api("POST", `/api/sessions/${s.id}/dump`, {}).catch(alert);
}

$("login-form").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target;
  try {
    await api("POST", "/api/auth/login", { username: f.username.value, password: f.password.value });
    $("login-error").textContent = "";
    await start();
  } catch (err) { $("login-error").textContent = err.message; }
};
// /join?code=…: a student redeems an invite with a display name.
const code = new URLSearchParams(location.search).get("code");
if (location.pathname === "/join" && code) {
  $("login-form").hidden = true;
  const f = document.createElement("form");
  f.innerHTML = '<label>Your name <input name="name" required maxlength="80"></label><button type="submit">Join</button>';
  f.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/api/auth/invite", { code, name: f.name.value });
      history.replaceState(null, "", "/");
      await start();
    } catch (err) { $("login-error").textContent = err.message; }
  };
  $("login").append(f);
}
$("logout").onclick = async () => { await api("POST", "/api/auth/logout", {}).catch(() => {}); location.reload(); };
start();
