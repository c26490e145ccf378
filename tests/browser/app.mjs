// Browser test: Debian's chromium driven by playwright-core against a real
// orgallery server started by the Rust e2e suite (tests/e2e/browser.rs).
// Everything goes through the page as a person would: a surgeon creates a
// session, records consent, registers the patient's name, assigns a moderator,
// goes live with the fake camera and a mask, publishes text, a phase marker and
// an image with a mask; a student on a phone-sized screen sees them only after
// the delay, redacted, the video playing with the masked region opaque, the
// curtain; a retracted and a dumped (F9) item never appear; the moderator
// answers the student's question; the session ends and the student leaves
// feedback; an educator replays (seeks to a marker) and downloads the export.
// Also: the surgeon's view (large controls, queue summary, top questions)
// against the moderator's (held queue with image thumbnails, edit, full Q&A);
// masks drawn with the keyboard; the viewer count; a dropped connection that
// reconnects visibly and a page refresh, both without a repeated or missing
// update; the lightbox opened by keyboard and fitting a 390 px screen.
// axe-core runs on every page; no request may leave the origin; the app must
// run under its CSP. Screenshots go to ORG_SHOT_DIR. Exits non-zero on failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { createRequire } from "node:module";

const { ORG_URL, ORG_MODERATOR_SUB, ORG_SHOT_DIR } = process.env;
const origin = new URL(ORG_URL).origin;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
});
const timeout = 20000;
const offOrigin = [];
const cspViolations = [];
const axeResults = [];
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 900 };

async function context(viewport, watchSockets = false) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  // Keep hold of the page's WebSockets so the test can cut one, as a network would.
  if (watchSockets) {
    await ctx.addInitScript(() => {
      const Native = window.WebSocket;
      window.__sockets = [];
      window.WebSocket = class extends Native { constructor(...a) { super(...a); window.__sockets.push(this); } };
    });
  }
  ctx.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && !u.startsWith("blob:") && new URL(u).origin !== origin) offOrigin.push(u);
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  page.on("pageerror", (e) => cspViolations.push(`page error: ${e.message}`));
  return page;
}

// axe-core, evaluated through the devtools protocol (not a <script>, which the CSP forbids).
async function axe(page, name) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return res.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  axeResults.push(name);
  assert.deepEqual(r, [], `axe on ${name}`);
}

async function shot(page, name) {
  if (ORG_SHOT_DIR) await page.screenshot({ path: `${ORG_SHOT_DIR}/${name}.png`, fullPage: true });
}

async function signIn(user, pass, viewport = LAPTOP, check = false, watchSockets = false) {
  const page = await context(viewport, watchSockets);
  await page.goto(ORG_URL + "/");
  if (check) { await axe(page, "sign-in"); await shot(page, "sign-in"); }
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", pass);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#sessions:not([hidden])");
  return page;
}

async function open(page, title) {
  await page.click(`#session-groups a:text-is("${title}")`);
  await page.waitForSelector("#live:not([hidden])");
  await page.waitForFunction(() => document.querySelector("#live-state").textContent.includes("watching"));
}

// A 160x120 white PNG (the "photo"), made here so no fixture is needed.
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h, 255);
  for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// RGBA at fractions of the element's picture (a <video> frame or an <img>).
function pixels(page, selector, points) {
  return page.evaluate(([sel, pts]) => {
    const e = document.querySelector(sel);
    const c = document.createElement("canvas");
    c.width = e.videoWidth || e.naturalWidth; c.height = e.videoHeight || e.naturalHeight;
    const g = c.getContext("2d"); g.drawImage(e, 0, 0);
    return pts.map(([fx, fy]) => Array.from(g.getImageData(Math.floor(c.width * fx), Math.floor(c.height * fy), 1, 1).data));
  }, [selector, points]);
}

async function drag(page, selector, fx0, fy0, fx1, fy1) {
  await page.locator(selector).scrollIntoViewIfNeeded();
  const box = await page.locator(selector).boundingBox();
  await page.mouse.move(box.x + box.width * fx0, box.y + box.height * fy0);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * fx1, box.y + box.height * fy1, { steps: 4 });
  await page.mouse.up();
}

async function publish(page, kind, text) {
  await page.check(`#publish-form input[name=kind][value=${kind}]`);
  await page.fill("#publish-form textarea[name=text]", text);
  await page.click("#publish-form button[type=submit]");
}

const TITLE = "Browser lap chole";
try {
  // Wrong password: the contract's message.
  const bad = await context(PHONE);
  await bad.goto(ORG_URL + "/");
  await bad.fill("input[name=username]", "student1");
  await bad.fill("input[name=password]", "wrong-password");
  await bad.click("#login-form button[type=submit]");
  await bad.waitForFunction(() => document.querySelector("#login-error").textContent.length > 0);
  assert.match(await bad.textContent("#login-error"), /invalid username or password/);

  // The surgeon sets up the session through the console.
  const surgeon = await signIn("surgeon1", "surgeon-password", LAPTOP, true);
  surgeon.on("dialog", (d) => d.accept());
  await axe(surgeon, "session list");
  await surgeon.fill("#new-session input[name=title]", TITLE);
  await surgeon.fill("#new-session input[name=procedure]", "Laparoscopic cholecystectomy");
  await surgeon.fill("#new-session input[name=delay_seconds]", "4");
  await surgeon.click("#new-session button[type=submit]");
  await surgeon.waitForSelector("#console:not([hidden])");
  await surgeon.click("#go-live");
  await surgeon.waitForFunction(() => /consent/i.test(document.querySelector("#publish-state").textContent));
  await surgeon.fill("#consent-form input[name=reference]", "REL-2026-0042");
  await surgeon.click("#consent-form button[type=submit]");
  await surgeon.waitForFunction(() => document.querySelector("#consent-state").textContent.startsWith("Recorded ("));
  await surgeon.fill("#identifiers-form textarea[name=names]", "Adaeze Okafor");
  await surgeon.click("#identifiers-form button[type=submit]");
  await surgeon.waitForFunction(() => document.querySelector("#identifiers-state").textContent === "1 identifier registered");
  assert.equal(await surgeon.inputValue("#identifiers-form textarea[name=names]"), "", "identifiers do not stay on screen");
  // The moderator by username (the form also takes account ids).
  assert.ok(ORG_MODERATOR_SUB, "the moderator's id is given");
  await surgeon.fill("#moderators-form input[name=users]", "moderator1");
  await surgeon.click("#moderators-form button[type=submit]");
  await surgeon.waitForFunction(() => document.querySelector("#moderators-state").textContent === "1 assigned");
  await surgeon.click("#go-live");
  await surgeon.waitForFunction(() => document.querySelector("#live-state").textContent.startsWith("Live"));
  assert.equal(await surgeon.getAttribute("#setup", "open"), null, "the setup folds away once live");

  const student = await signIn("student1", "student-password", PHONE, false, true);
  await open(student, TITLE);
  assert.equal(await student.isVisible("#console"), false, "students get no console");
  // Everything the student's timeline ever showed, to prove what never appeared.
  await student.evaluate(() => {
    window.seenTexts = [];
    new MutationObserver(() => { for (const li of document.querySelectorAll("#updates li")) window.seenTexts.push(li.textContent); })
      .observe(document.querySelector("#updates"), { childList: true, subtree: true });
  });
  // A guest joins through the invite link the surgeon makes.
  await surgeon.click("#invite");
  await surgeon.waitForFunction(() => document.querySelector("#invite-url").textContent.includes("/join?code="));
  const inviteUrl = await surgeon.textContent("#invite-url");
  const guest = await context(PHONE);
  await guest.goto(inviteUrl);
  await guest.waitForSelector("#join-form:not([hidden])");
  await axe(guest, "invite join");
  await guest.fill("#join-form input[name=name]", "Guest Learner");
  await guest.click("#join-form button[type=submit]");
  await guest.waitForSelector("#live:not([hidden])");
  await guest.waitForFunction((t) => document.querySelector("#live-title").textContent === t, TITLE);
  assert.equal(await guest.textContent("#who"), "Guest Learner (student)");
  await guest.context().close();
  const moderator = await signIn("moderator1", "moderator-password");
  await open(moderator, TITLE);
  assert.equal(await moderator.isVisible("#console"), true, "the assigned moderator gets the console");
  assert.equal(await moderator.isVisible("#setup"), false, "only the owner sets consent and identifiers");
  // Two views of one console: the surgeon's few large controls, the moderator's queue.
  assert.equal(await surgeon.getAttribute("#console", "data-view"), "surgeon");
  assert.equal(await moderator.getAttribute("#console", "data-view"), "moderator");
  assert.equal(await surgeon.isVisible("#queue"), false, "the surgeon's view has no queue list");
  assert.equal(await surgeon.textContent("#held-summary"), "Nothing held");
  assert.equal(await moderator.isVisible("#queue"), true, "the moderator's view has the queue");
  assert.equal(await moderator.isVisible("#held-summary"), false);
  // The viewer count: surgeon, student and moderator (the guest has left).
  await student.waitForFunction(() => / · 3 watching$/.test(document.querySelector("#live-state").textContent));

  // Camera with a mask painted before encoding.
  await drag(surgeon, "#preview", 0.05, 0.05, 0.4, 0.4);
  await surgeon.click("#camera");
  await surgeon.waitForFunction(() => document.querySelector("#camera-state").textContent.includes("sending"));
  await student.waitForFunction(() => { const v = document.querySelector("#video"); return v.videoWidth > 0 && v.currentTime > 0.5; }, null, { timeout: 40000 });
  const t0 = await student.evaluate(() => document.querySelector("#video").currentTime);
  await student.waitForTimeout(1000);
  assert.ok(await student.evaluate(() => document.querySelector("#video").currentTime) > t0, "video time advances");
  const [inside, outside] = await pixels(student, "#video", [[0.2, 0.2], [0.85, 0.85]]);
  assert.ok(inside[0] + inside[1] + inside[2] < 60, `masked region is opaque at the viewer: ${inside}`);
  assert.ok(outside[0] + outside[1] + outside[2] > 100, `unmasked region shows the camera: ${outside}`);
  console.log("video: playing");

  // Text with the patient's name: the composer shows what the gallery will
  // see before it is sent; then held (redacted) for the surgeon, nothing yet
  // for the student.
  await surgeon.check("#publish-form input[name=kind][value=text]");
  await surgeon.fill("#publish-form textarea[name=text]", "Adaeze Okafor tolerated induction well");
  await surgeon.waitForFunction(() => {
    const p = document.querySelector("#gallery-preview");
    return !p.hidden && p.textContent.includes("[NAME] tolerated induction well");
  });
  const draft = await surgeon.textContent("#gallery-preview-text");
  assert.ok(!draft.includes("Okafor") && !draft.includes("Adaeze"), `the preview is redacted: ${draft}`);
  assert.equal(await surgeon.locator("#gallery-preview-text .mask").count(), 1, "the preview highlights the mask");
  await surgeon.click("#publish-form button[type=submit]");
  const sentAt = Date.now();
  const held = moderator.locator("#held li").first();
  await held.waitFor();
  await surgeon.waitForFunction(() => /^1 held · next releases in \d s$/.test(document.querySelector("#held-summary").textContent));
  const heldText = await held.textContent();
  assert.ok(heldText.includes("[NAME]") && !heldText.includes("Okafor"), `held item is redacted: ${heldText}`);
  assert.match(await held.locator(".countdown").textContent(), /releases in \d s/);
  await shot(surgeon, "console");
  await axe(surgeon, "OR console");
  await shot(moderator, "console-moderator");
  assert.equal(await student.locator("#updates li").count(), 0, "nothing reaches the student while held");
  const released = student.locator("#updates li").first();
  await released.waitFor();
  assert.ok(Date.now() - sentAt >= 3000, `released only after the delay (${Date.now() - sentAt} ms)`);
  const seen = await released.textContent();
  assert.ok(seen.includes("[NAME]") && !seen.includes("Okafor") && seen.includes("tolerated induction well"), `student sees: ${seen}`);
  assert.equal(await student.locator("#updates li .mask").count(), 1, "the mask is highlighted");

  // A phase marker: the phase strip.
  await publish(surgeon, "marker", "Incision");
  await student.waitForSelector('#phase-list li[aria-current] >> text="Incision"');

  // An image with a mask drawn on it.
  await surgeon.check("#publish-form input[name=kind][value=image]");
  await surgeon.setInputFiles("#publish-form input[name=file]", { name: "field.png", mimeType: "image/png", buffer: png(160, 120) });
  await surgeon.waitForFunction(() => document.querySelector("#image-canvas").width === 160);
  // The mask by keyboard: Enter adds one in the middle third, arrows move it up and left.
  await surgeon.focus("#image-canvas");
  await surgeon.keyboard.press("Enter");
  for (let i = 0; i < 3; i++) { await surgeon.keyboard.press("ArrowLeft"); await surgeon.keyboard.press("ArrowUp"); }
  await surgeon.keyboard.press("n");
  await surgeon.keyboard.press("Delete"); // a second mask, added and removed
  await surgeon.fill("#publish-form input[name=caption]", "Calot's triangle");
  await surgeon.click("#publish-form button[type=submit]");
  // The moderator's queue shows the held image as it will be released.
  const heldImg = moderator.locator("#held li", { hasText: "Calot" }).locator("img.held-thumb");
  await heldImg.waitFor();
  await moderator.waitForFunction(() => { const i = document.querySelector("#held img.held-thumb"); return i && i.complete && i.naturalWidth === 160; });
  const [hIn, hOut] = await pixels(moderator, "#held img.held-thumb", [[0.2, 0.2], [0.8, 0.8]]);
  assert.ok(hIn[0] + hIn[1] + hIn[2] < 60 && hOut[0] + hOut[1] + hOut[2] > 600, `held thumbnail is masked: ${hIn} / ${hOut}`);
  assert.equal(await student.locator("#updates li[data-kind=image]").count(), 0, "the image is held");
  const img = student.locator("#updates li[data-kind=image] img");
  await img.waitFor();
  await student.waitForFunction(() => document.querySelector("#updates li[data-kind=image] img").complete);
  const [mIn, mOut] = await pixels(student, "#updates li[data-kind=image] img", [[0.2, 0.2], [0.8, 0.8]]);
  assert.ok(mIn[0] + mIn[1] + mIn[2] < 60, `masked part of the image is opaque: ${mIn}`);
  assert.ok(mOut[0] + mOut[1] + mOut[2] > 600, `the rest of the image is intact: ${mOut}`);
  await student.focus("#updates li[data-kind=image] button.thumb");
  await student.keyboard.press("Enter");
  await student.waitForSelector("#lightbox[open]");
  const lb = await student.locator("#lightbox-img").boundingBox();
  assert.ok(lb && lb.width > 0 && lb.x >= 0 && lb.x + lb.width <= PHONE.width, `the lightbox fits the phone: ${JSON.stringify(lb)}`);
  await axe(student, "viewer lightbox");
  await shot(student, "viewer-lightbox");
  await student.keyboard.press("Escape");
  await student.waitForSelector("#lightbox:not([open])", { state: "attached" });

  // Retracted: never shown. Dumped by the pedal key (F9): never shown.
  await publish(surgeon, "text", "Wrong side noted, retract this");
  const r = moderator.locator("#held li", { hasText: "retract this" });
  await r.waitFor();
  await r.locator("button.op-retract").click();
  await r.waitFor({ state: "detached" });
  await publish(surgeon, "text", "Dump this one");
  await moderator.locator("#held li", { hasText: "Dump this one" }).waitFor();
  await surgeon.keyboard.press("F9");
  await moderator.waitForFunction(() => document.querySelectorAll("#held li").length === 0);
  await surgeon.waitForFunction(() => document.querySelector("#held-summary").textContent === "Nothing held");
  await surgeon.waitForFunction(() => /Dumped 1 held item/.test(document.querySelector("#publish-state").textContent));

  // The moderator corrects a held update: the gallery only ever sees the correction.
  await publish(surgeon, "text", "Clip aplied to the cystic duct");
  const typo = moderator.locator("#held li", { hasText: "aplied" });
  await typo.waitFor();
  await typo.locator("button.op-edit").click();
  await typo.locator("textarea[name=text]").fill("Clip applied to the cystic duct");
  await typo.locator("form button[type=submit]").click();
  await moderator.locator("#held li", { hasText: "Clip applied" }).waitFor();
  await student.locator("#updates li", { hasText: "Clip applied to the cystic duct" }).waitFor();

  // Q&A: the student asks (masked), the moderator answers, the student sees it.
  await student.fill("#ask-form input[name=text]", "Is Adaeze Okafor awake? #anesthesia");
  await student.click("#ask-form button[type=submit]");
  const asked = moderator.locator("#questions li").first();
  await asked.waitFor();
  const askedText = await asked.textContent();
  assert.ok(askedText.includes("[NAME]") && !askedText.includes("Okafor"), `the question is masked: ${askedText}`);
  await student.locator("#questions li button", { hasText: "Upvote" }).click();
  await moderator.waitForFunction(() => document.querySelector("#questions li .votes")?.textContent === "1 ▲");
  await asked.locator("button", { hasText: "Answer" }).click();
  await moderator.fill("#questions li form input[name=answer]", "Yes, and breathing on her own.");
  await moderator.click("#questions li form button[type=submit]");
  await student.waitForSelector("#questions li .answer >> text=breathing on her own");
  // The surgeon's view: the top questions, read-only; the toggle brings the moderator's tools.
  await surgeon.waitForSelector("#questions li .answer >> text=breathing on her own");
  assert.equal(await surgeon.textContent("#qa-h"), "Top questions");
  assert.equal(await surgeon.locator("#questions li button").count(), 0, "no moderation buttons in the surgeon's view");
  await surgeon.click("#view-toggle");
  await surgeon.waitForSelector("#queue", { state: "visible" });
  assert.equal(await surgeon.locator("#questions li button", { hasText: "Pin" }).count(), 1, "the moderator's tools");
  await surgeon.click("#view-toggle");
  await surgeon.waitForSelector("#queue", { state: "hidden" });
  await student.selectOption("#qa-filter", "anesthesia");
  assert.equal(await student.locator("#questions li").count(), 1, "the tag filter keeps the tagged question");
  await student.click('#pulse-send button[data-pulse="clear"]');
  await axe(moderator, "moderator console");
  await axe(student, "viewer (phone)");
  await shot(student, "viewer-phone");
  await student.setViewportSize(LAPTOP);
  await shot(student, "viewer-laptop");
  await student.setViewportSize(PHONE);

  // The curtain by the pedal key (F8): said plainly, no media.
  await surgeon.keyboard.press("F8");
  await surgeon.waitForSelector('#curtain[aria-pressed="true"]');
  await student.waitForSelector("#paused:not([hidden])");
  assert.match(await student.textContent("#paused"), /Paused by the surgical team/);
  assert.equal(await student.isVisible("#video"), false, "no media behind the curtain");
  await axe(student, "viewer behind the curtain");
  await shot(student, "viewer-curtain");
  await surgeon.keyboard.press("F8");
  await surgeon.waitForSelector('#curtain[aria-pressed="false"]');
  await student.waitForSelector("#paused", { state: "hidden" });

  const all = await student.evaluate(() => window.seenTexts.join("\n"));
  assert.ok(!all.includes("retract this") && !all.includes("Dump this one") && !all.includes("Okafor") && !all.includes("aplied"),
    "retracted, dumped, edited-away and identifying text never shown");

  // The connection drops: the viewer says so, reconnects with after= and
  // nothing is repeated or missing; a refresh rebuilds the same timeline.
  const seqs = () => student.evaluate(() => [...document.querySelectorAll("#updates li")].map((li) => Number(li.dataset.seq)));
  const before = (await seqs()).length;
  await student.evaluate(() => window.__sockets.at(-1).close());
  await student.waitForSelector("#conn.reconnecting");
  assert.match(await student.textContent("#conn"), /Connection lost — reconnecting/);
  await student.waitForFunction(() => document.querySelector("#conn").textContent === "");
  await publish(surgeon, "text", "Reconnected viewers get this once");
  await student.locator("#updates li", { hasText: "get this once" }).waitFor();
  const got = await seqs();
  assert.deepEqual(got, Array.from({ length: before + 1 }, (_, i) => i + 1), "every seq once, in order, after the reconnect");
  await student.reload();
  await student.waitForSelector("#live:not([hidden])");
  await student.waitForFunction((n) => document.querySelectorAll("#updates li").length === n, got.length);
  assert.deepEqual(await seqs(), got, "a refresh shows the same timeline");
  // The student's pulse reaches the console (10 s buckets).
  await surgeon.waitForFunction(() => / 1 clear /.test(document.querySelector("#pulse").textContent), null, { timeout: 30000 });

  // End: the student leaves feedback.
  await surgeon.click("#end");
  await student.waitForSelector("#feedback-form:not([hidden])");
  await student.selectOption("#feedback-form select[name=rating]", "4");
  await student.fill("#feedback-form textarea[name=comment]", "Clear narration");
  await student.click("#feedback-form button[type=submit]");
  await student.waitForFunction(() => document.querySelector("#feedback-state").textContent.includes("Thank you"));
  await axe(student, "viewer feedback");

  // The educator replays: seek to the marker, download the export.
  const educator = await signIn("educator1", "educator-password");
  await educator.click(`#session-groups a.replay:text-is("Replay ${TITLE}")`);
  await educator.waitForSelector("#archive:not([hidden])");
  await educator.waitForSelector("#archive-items li >> text=tolerated induction well");
  assert.ok(!(await educator.textContent("#archive-items")).includes("retract this"));
  await educator.waitForSelector("#feedback-summary >> text=1 response, average 4.0 / 5");
  assert.equal(await educator.isVisible("#replay"), true, "the recording is offered");
  await educator.waitForFunction(() => document.querySelector("#replay").readyState >= 1);
  await educator.click('.seek-marker >> text=Incision');
  const pos = await educator.evaluate(() => document.querySelector("#replay").currentTime);
  assert.ok(pos > 0, `seeked to the marker: ${pos}`);
  const [download] = await Promise.all([educator.waitForEvent("download"), educator.click("#export")]);
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 2).toString(), "PK", "the export is a zip");
  await axe(educator, "archive");
  await shot(educator, "archive");
  // The sign-in lapses (cookie gone): the next call asks to sign in again and carries on there.
  await educator.context().clearCookies();
  await educator.click("#home");
  await educator.waitForSelector("#login:not([hidden])");
  assert.match(await educator.textContent("#login-error"), /sign in again/);
  await educator.fill("input[name=username]", "educator1");
  await educator.fill("input[name=password]", "educator-password");
  await educator.click("#login-form button[type=submit]");
  await educator.waitForSelector(`#sessions:not([hidden]) #session-groups a:text-is("${TITLE}")`);
  await shot(educator, "sessions");
  // Sign out: back to the form, and the session is gone (a reload stays signed out).
  await educator.click("#logout");
  await educator.waitForSelector("#login:not([hidden])");
  await educator.reload();
  await educator.waitForSelector("#login:not([hidden])");
  assert.equal(await educator.isVisible("#logout"), false, "signed out");

  assert.deepEqual(offOrigin, [], "no request leaves the origin");
  assert.deepEqual(cspViolations, [], "the app runs under its CSP without errors");
  console.log(`axe: ${axeResults.length} pages clean: ${axeResults.join(", ")}`);
  console.log("browser: 1 passed, 0 failed");
} catch (e) {
  console.error(e);
  console.log("browser: 0 passed, 1 failed");
  process.exitCode = 1;
} finally {
  await browser.close();
}
