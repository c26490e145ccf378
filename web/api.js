// The API client. The token lives in the HttpOnly cookie. A 401 asks the app
// to sign in again (onUnauthorized) and then retries the call once, so the
// user keeps their place. While the user is active the token is renewed with
// POST /api/auth/refresh; a 404 (not deployed) or 401 falls back to re-sign-in.
export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

async function raw(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const e = data && data.error;
    throw new ApiError(r.status, e ? e.code : "http_" + r.status, (e && e.message) || r.statusText || `HTTP ${r.status}`);
  }
  return data;
}

export async function api(method, path, body) {
  try {
    return await raw(method, path, body);
  } catch (e) {
    if (e.status === 401 && onUnauthorized && !path.startsWith("/api/auth/")) {
      await onUnauthorized(); // resolves once signed in again
      return raw(method, path, body);
    }
    throw e;
  }
}

// Token renewal while the user is active (pointer/key within the last period).
let lastActivity = Date.now();
let refreshTimer = null;
let refreshSupported = true;
export function startRefresh(periodMs = 4 * 60 * 1000) {
  for (const ev of ["pointerdown", "keydown"]) addEventListener(ev, () => { lastActivity = Date.now(); }, { passive: true });
  clearInterval(refreshTimer);
  refreshTimer = setInterval(async () => {
    if (!refreshSupported || Date.now() - lastActivity > periodMs) return;
    try { await raw("POST", "/api/auth/refresh", {}); } catch (e) {
      if (e.status === 404 || e.status === 405) refreshSupported = false; // older server: re-sign-in on 401 instead
      else if (e.status === 401 && onUnauthorized) await onUnauthorized();
    }
  }, periodMs);
}
export function stopRefresh() { clearInterval(refreshTimer); refreshTimer = null; }
