// Live video in the browser: WHEP for viewers, WHIP for the OR camera.
// The camera is drawn onto a canvas where mask rectangles are painted
// before the canvas stream is encoded, so masked pixels never leave the room.
// The server is ICE-lite with one candidate in its answer: no trickle needed.

async function exchange(url, pc) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/sdp" }, body: pc.localDescription.sdp,
  });
  const text = await r.text();
  if (r.status !== 201) {
    let msg = r.statusText;
    try { msg = JSON.parse(text).error.message; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  await pc.setRemoteDescription({ type: "answer", sdp: text });
  return new URL(r.headers.get("location"), location.href).pathname;
}

async function stop(resource, pc) {
  if (pc) pc.close();
  if (resource) await fetch(resource, { method: "DELETE", credentials: "same-origin" }).catch(() => {});
}

// Watch a session's video (and narration) in `video`; returns a closer.
export async function watchVideo(sessionId, video) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (ev) => { stream.addTrack(ev.track); video.srcObject = stream; };
  const resource = await exchange(`/api/sessions/${sessionId}/whep`, pc);
  return () => stop(resource, pc);
}

// The OR camera: camera → canvas (masks painted) → WHIP. `masks` is a live
// array of {x, y, w, h} in canvas pixels. Returns a closer.
export async function publishCamera(sessionId, preview, masks) {
  const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  const source = document.createElement("video");
  source.muted = true; source.playsInline = true; source.srcObject = cam;
  await source.play();
  const canvas = preview;
  canvas.width = source.videoWidth || 640; canvas.height = source.videoHeight || 360;
  const g = canvas.getContext("2d");
  let running = true;
  const paint = () => {
    if (!running) return;
    g.drawImage(source, 0, 0, canvas.width, canvas.height);
    g.fillStyle = "#000";
    for (const m of masks) g.fillRect(m.x, m.y, m.w, m.h);
    requestAnimationFrame(paint);
  };
  paint();
  const painted = canvas.captureStream(30);
  const pc = new RTCPeerConnection();
  for (const t of painted.getVideoTracks()) pc.addTransceiver(t, { direction: "sendonly" });
  for (const t of cam.getAudioTracks()) pc.addTransceiver(t, { direction: "sendonly" });
  const resource = await exchange(`/api/sessions/${sessionId}/whip`, pc);
  return async () => {
    running = false;
    for (const t of cam.getTracks()) t.stop();
    await stop(resource, pc);
  };
}

// Draw mask rectangles with the pointer (drag) or the keyboard (the canvas
// takes focus): Enter or "n" adds a mask in the middle, the arrows move the
// newest one, Shift+arrows resize it, Delete removes it. Every change is
// announced; `changed` repaints.
export function maskDrawing(canvas, masks, changed = () => {}, say = () => {}) {
  let start = null;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return { x: (ev.clientX - r.left) * canvas.width / r.width, y: (ev.clientY - r.top) * canvas.height / r.height };
  };
  canvas.onpointerdown = (ev) => { start = at(ev); };
  canvas.onpointerup = (ev) => {
    if (!start) return;
    const end = at(ev);
    const m = { x: Math.min(start.x, end.x), y: Math.min(start.y, end.y), w: Math.abs(end.x - start.x), h: Math.abs(end.y - start.y) };
    if (m.w > 2 && m.h > 2) { masks.push(m); changed(); say(`Mask ${masks.length} drawn`); }
    start = null;
  };
  canvas.tabIndex = 0;
  const clamp = (m) => {
    m.w = Math.max(4, Math.min(m.w, canvas.width)); m.h = Math.max(4, Math.min(m.h, canvas.height));
    m.x = Math.max(0, Math.min(m.x, canvas.width - m.w)); m.y = Math.max(0, Math.min(m.y, canvas.height - m.h));
  };
  const pct = (m) => `${Math.round(100 * m.x / canvas.width)}% from the left, ${Math.round(100 * m.y / canvas.height)}% from the top, ` +
    `${Math.round(100 * m.w / canvas.width)}% by ${Math.round(100 * m.h / canvas.height)}%`;
  canvas.onkeydown = (ev) => {
    const stepX = canvas.width / 20, stepY = canvas.height / 20;
    const last = masks[masks.length - 1];
    const moves = { ArrowLeft: [-stepX, 0], ArrowRight: [stepX, 0], ArrowUp: [0, -stepY], ArrowDown: [0, stepY] };
    if (ev.key === "Enter" || ev.key === "n") {
      const m = { x: canvas.width / 3, y: canvas.height / 3, w: canvas.width / 3, h: canvas.height / 3 };
      masks.push(m); say(`Mask ${masks.length} added: ${pct(m)}`);
    } else if (moves[ev.key] && last) {
      const [dx, dy] = moves[ev.key];
      if (ev.shiftKey) { last.w += dx; last.h += dy; } else { last.x += dx; last.y += dy; }
      clamp(last); say(`Mask ${masks.length}: ${pct(last)}`);
    } else if ((ev.key === "Delete" || ev.key === "Backspace") && last) {
      masks.pop(); say(`Mask removed, ${masks.length} left`);
    } else return;
    ev.preventDefault(); changed();
  };
}
