// Sign-in: account (username/password) or an invite code (/join?code=…).
// signIn() shows the form over whatever view is open and resolves once the
// user is signed in, so the caller can carry on where the user was.
import { api } from "./api.js";
import { $, showView } from "./dom.js";

let code = null;
export function initJoin() {
  code = new URLSearchParams(location.search).get("code");
  return !!code;
}

export function signIn(message = "") {
  const prev = [...document.querySelectorAll("main > section")].find((s) => !s.hidden);
  showView("login");
  $("login-error").textContent = message;
  $("join-form").hidden = !code;
  $("login-form").hidden = !!code;
  return new Promise((resolve) => {
    const done = () => {
      $("login-error").textContent = "";
      code = null;
      if (prev && prev.id !== "login") showView(prev.id); // back where the user was
      resolve();
    };
    $("login-form").onsubmit = async (e) => {
      e.preventDefault();
      const f = e.target;
      try {
        await api("POST", "/api/auth/login", { username: f.username.value, password: f.password.value });
        f.password.value = "";
        done();
      } catch (err) { $("login-error").textContent = err.message; }
    };
    $("join-form").onsubmit = async (e) => {
      e.preventDefault();
      try {
        const t = await api("POST", "/api/auth/invite", { code, name: e.target.name.value });
        // The invite token is limited to one session: open it.
        const sid = t && (t.session || (t.sessions && t.sessions[0]));
        if (sid) location.hash = "#/s/" + sid;
        done();
      } catch (err) { $("login-error").textContent = err.message; }
    };
  });
}
