// The live view: one WebSocket per open session, reconnecting visibly with
// after= (the last seq seen) so nothing is lost or repeated. Frames go to
// the viewer, the console (controllers) and the Q&A panel.
import { api } from "./api.js";
import { $, showView, announce } from "./dom.js";
import { Viewer } from "./viewer.js";
import { Console } from "./console.js";
import { QA } from "./qa.js";

let current = null;

export function leaveLive() { if (current) { current.close(); current = null; } }

export async function showLive(me, id) {
  leaveLive();
  const s = await api("GET", "/api/sessions/" + id);
  showView("live");
  current = new Live(me, s);
}

class Live {
  constructor(me, s) {
    this.me = me; this.s = s; this.last = 0; this.closed = false; this.attempt = 0;
    $("live-title").textContent = s.title;
    const controller = s.owner === me.sub || (s.moderators || []).includes(me.sub);
    this.viewer = new Viewer(me, s, (m) => this.send(m));
    this.console = controller ? new Console(me, s) : null;
    $("console").hidden = !controller;
    this.qa = new QA(me, s, controller, (m) => this.send(m));
    if (this.console) this.console.onView = (v) => this.qa.setCompact(v === "surgeon");
    this.qa.setCompact(this.console?.view === "surgeon");
    this.open();
  }

  send(m) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) { this.socket.send(JSON.stringify(m)); return true; }
    $("qa-error").textContent = "Not connected; try again in a moment.";
    return false;
  }

  open() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/sessions/${this.s.id}/live?after=${this.last}`);
    this.socket = ws;
    ws.onopen = () => {
      this.attempt = 0;
      $("conn").textContent = "";
      $("conn").className = "";
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === "update") {
        if (m.seq <= this.last) return; // already shown
        this.last = m.seq;
        this.viewer.update(m.seq, m.update);
        if (this.console) this.console.released(m.update.id);
      } else if (m.type === "state") {
        this.viewer.state(m);
        if (this.console) this.console.state(m);
        this.qa.state(m);
      } else if (m.type === "held" && this.console) this.console.held(m.item);
      else if (m.type === "dropped" && this.console) this.console.dropped(m.id);
      else if (m.type === "question") this.qa.question(m.question);
      else if (m.type === "pulse") this.viewer.pulse(m);
      else if (m.type === "error" || m.type === "ack") this.qa.reply(m);
    };
    ws.onclose = (ev) => {
      if (this.closed || this.socket !== ws) return;
      if (ev.code === 4001) { // signed out or expired: sign in again, then resume here
        api("GET", "/api/me").then(() => this.open()).catch(() => {});
        return;
      }
      if (ev.code === 4003) { $("conn").textContent = "You no longer have access to this session."; return; }
      const wait = Math.min(10000, 250 * 2 ** this.attempt++);
      $("conn").textContent = `Connection lost — reconnecting in ${Math.ceil(wait / 1000)} s…`;
      $("conn").className = "reconnecting";
      announce("Connection lost, reconnecting");
      setTimeout(() => { if (!this.closed) this.open(); }, wait);
    };
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close(1000);
    this.viewer.close();
    if (this.console) this.console.close();
  }
}
