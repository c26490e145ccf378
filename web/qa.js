// The Q&A panel: viewers ask (tags with #), upvote and filter; presenters
// (controllers, educators) answer, pin and hide; controllers review pending
// questions. Questions arrive live over the session's WebSocket. In the
// surgeon's view the panel is compact: the top three questions, read-only.
import { api } from "./api.js";
import { $, h, renderText, announce } from "./dom.js";

export class QA {
  constructor(me, s, controller, send) {
    this.me = me; this.s = s; this.controller = controller; this.send = send;
    this.questions = new Map(); this.compact = false;
    this.viewer = me.role === "student" || me.role === "clinician";
    this.presenter = controller || me.role === "educator";
    $("questions").replaceChildren(); $("qa-error").textContent = "";
    $("ask-form").hidden = !this.viewer;
    $("ask-form").onsubmit = (e) => {
      e.preventDefault();
      if (this.send({ type: "ask", text: e.target.text.value })) e.target.reset();
    };
    const filter = $("qa-filter");
    filter.replaceChildren(h("option", { value: "" }, "All questions"), h("option", { value: ":unanswered" }, "Unanswered"));
    filter.onchange = () => this.render();
  }

  setCompact(on) {
    this.compact = on;
    $("qa-h").textContent = on ? "Top questions" : "Questions";
    $("qa-filter-label").hidden = on;
    this.render();
  }

  state(m) { if (m.state === "ended") $("ask-form").hidden = true; }

  question(q) {
    const known = this.questions.get(q.id);
    if (known && known.version > q.version) return; // a stale event
    if ((q.hidden && q.text === undefined) || q.status === "rejected") this.questions.delete(q.id);
    else this.questions.set(q.id, q);
    if (known && !known.answered && q.answered) announce("A question was answered");
    this.render();
  }

  reply(m) {
    if (m.type === "error" && m.of) $("qa-error").textContent = m.error.message;
    else if (m.type === "ack") $("qa-error").textContent = m.of === "ask" && m.question && m.question.status === "pending" ? "Your question awaits review." : "";
  }

  tags() {
    const all = new Set();
    for (const q of this.questions.values()) for (const t of q.tags || []) all.add(t);
    return [...all].sort();
  }

  render() {
    const filter = $("qa-filter");
    const chosen = filter.value;
    const have = new Set([...filter.options].map((o) => o.value));
    for (const t of this.tags()) if (!have.has(t)) filter.append(h("option", { value: t }, "#" + t));
    let qs = [...this.questions.values()]
      .filter((q) => this.compact ? q.status === "published" && !q.hidden
        : !chosen || (chosen === ":unanswered" ? !q.answered : (q.tags || []).includes(chosen)))
      .sort((a, b) => (b.pinned - a.pinned) || (b.votes - a.votes) || String(a.created_at).localeCompare(String(b.created_at)));
    if (this.compact) qs = qs.slice(0, 3);
    $("questions").replaceChildren(...qs.map((q) => this.item(q)));
  }

  item(q) {
    const li = h("li", {
      id: "q-" + q.id,
      class: [q.pinned && "pinned", q.hidden && "hidden-q", q.status === "pending" && "pending"].filter(Boolean).join(" "),
    });
    if (q.pinned) li.append(h("span", { class: "badge" }, "Pinned"), " ");
    li.append(h("span", { class: "qtext" }, renderText(q.text, q.redactions)));
    li.append(h("span", { class: "meta" }, ` — ${q.author} · `, h("span", { class: "votes" }, `${q.votes} ▲`)));
    if (q.status === "pending") li.append(" (awaiting review)");
    if (q.answered) li.append(h("div", { class: "answer" }, h("strong", {}, "Answer: "), renderText(q.answer, q.answer_redactions), ` — ${q.answered_by || ""}`));
    const bar = h("div", { class: "qactions" });
    const act = (op, body) => api("POST", `/api/sessions/${this.s.id}/questions/${q.id}/${op}`, body || {})
      .catch((e) => { $("qa-error").textContent = e.message; });
    const button = (label, onclick, extra = {}) => bar.append(h("button", { type: "button", onclick, ...extra }, label));
    if (this.me.role === "student" && q.status === "published") button("Upvote", () => this.send({ type: "upvote", question_id: q.id }), { "aria-label": `Upvote: ${q.text}` });
    if (this.presenter && !this.compact && q.status === "published") {
      button(q.answered ? "Edit answer" : "Answer", () => {
        if (li.querySelector("form")) return;
        const input = h("input", { name: "answer", required: true, maxlength: "2000" });
        const form = h("form", { class: "answer-form" }, h("label", {}, "Answer ", input), h("button", { type: "submit" }, "Send answer"));
        form.onsubmit = (e) => { e.preventDefault(); act("answer", { text: input.value }); };
        li.append(form); input.focus();
      });
      button(q.pinned ? "Unpin" : "Pin", () => act(q.pinned ? "unpin" : "pin"));
      button(q.hidden ? "Unhide" : "Hide", () => act(q.hidden ? "unhide" : "hide"));
    }
    if (this.controller && !this.compact && q.status === "pending") { button("Approve", () => act("approve")); button("Reject", () => act("reject")); }
    if (bar.childElementCount) li.append(bar);
    return li;
  }
}
