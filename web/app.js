// orgallery browser app: hash routes (#/ sessions, #/s/ID live, #/archive/ID),
// one module per view. The token lives in the HttpOnly cookie.
import { api, setUnauthorizedHandler, startRefresh } from "./api.js";
import { $ } from "./dom.js";
import { signIn, initJoin } from "./signin.js";
import { showSessions } from "./sessions.js";
import { showLive, leaveLive } from "./live.js";
import { showArchive } from "./archive.js";

let me = null;

async function whoAmI() {
  try { me = await fetch("/api/me", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)); } catch { me = null; }
  $("who").textContent = me ? `${me.name} (${me.role})` : "";
  $("logout").hidden = !me;
  return me;
}

// On 401 anywhere: the sign-in form over the current place, then carry on.
// Several calls failing at once share one sign-in.
let pending = null;
setUnauthorizedHandler(() => {
  if (!pending) {
    pending = signIn("Your sign-in expired; sign in again to carry on.").then(whoAmI).finally(() => { pending = null; });
  }
  return pending;
});

async function route() {
  if (!me) {
    if (location.pathname === "/join") initJoin();
    await signIn();
    await whoAmI();
    if (location.pathname === "/join") history.replaceState(null, "", "/" + location.hash);
    startRefresh();
  }
  const [, view, id] = location.hash.split("/");
  if (view !== "s") leaveLive();
  if (view === "s" && id) await showLive(me, id);
  else if (view === "archive" && id) await showArchive(me, id);
  else await showSessions(me);
}

addEventListener("hashchange", () => route().catch(report));
$("logout").onclick = async () => {
  await api("POST", "/api/auth/logout", {}).catch(() => {});
  location.replace("/");
};
function report(e) { console.error(e); $("announcer").textContent = e.message; }

await whoAmI();
if (me) startRefresh();
route().catch(report);
