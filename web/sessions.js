// The session list, grouped by state, with "New session" for surgeons.
import { api } from "./api.js";
import { $, h, showView } from "./dom.js";

export async function showSessions(me) {
  showView("sessions");
  const form = $("new-session");
  form.hidden = me.role !== "surgeon";
  form.onsubmit = async (e) => {
    e.preventDefault();
    const f = e.target;
    const audience = ["student", "clinician"].filter((r) => f["aud_" + r].checked);
    try {
      const s = await api("POST", "/api/sessions", {
        title: f.title.value, procedure: f.procedure.value || undefined,
        delay_seconds: Number(f.delay_seconds.value), audience,
      });
      $("new-session-error").textContent = "";
      location.hash = "#/s/" + s.id;
    } catch (err) { $("new-session-error").textContent = err.message; }
  };
  const list = await api("GET", "/api/sessions");
  const groups = $("session-groups");
  groups.replaceChildren();
  const archiveRole = me.role === "educator" || me.role === "admin";
  for (const [state, label] of [["live", "Live now"], ["draft", "Drafts"], ["ended", "Ended"]]) {
    const these = list.filter((s) => s.state === state);
    if (!these.length) continue;
    groups.append(h("h3", {}, label), h("ul", { class: "session-list" }, these.map((s) => {
      const owner = s.owner === me.sub;
      const links = [h("a", { href: "#/s/" + s.id }, s.title)];
      if (state === "ended" && (archiveRole || owner)) links.push(" ", h("a", { href: "#/archive/" + s.id, class: "replay" }, `Replay ${s.title}`));
      return h("li", { "data-state": s.state }, links, h("span", { class: "meta" }, ` ${s.procedure || ""} · ${s.state}`));
    })));
  }
  if (!list.length) groups.append(h("p", {}, "No sessions to show yet."));
}
