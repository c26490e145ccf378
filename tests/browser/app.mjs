// Browser test: Debian's chromium driven by playwright-core against a real
// orgallery server started by the Rust e2e suite (tests/e2e/browser.rs).
// A surgeon publishes through the OR console; a student watching in another
// browser context sees the released update with the patient's name masked,
// and the curtain; the student asks a question (masked for everyone), upvotes
// it, and the surgeon hides it. Exits non-zero on any failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const { ORG_URL, ORG_SESSION_TITLE, ORG_VIDEO_TITLE, ORG_SHOT_DIR } = process.env;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         // A synthetic camera and microphone, granted without a prompt.
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
});
const timeout = 15000;

async function signIn(user, pass, title = ORG_SESSION_TITLE) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(timeout);
  await page.goto(ORG_URL + "/");
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", pass);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#session-list a");
  await page.click(`#session-list a:has-text("${title}")`);
  await page.waitForSelector("#live:not([hidden])");
  await page.waitForFunction(() => document.querySelector("#live-state").textContent.includes("watching"));
  return page;
}

try {
  const surgeon = await signIn("surgeon1", "surgeon-password");
  const student = await signIn("student1", "student-password");
  assert.equal(await student.isVisible("#console"), false, "students get no console");
  assert.equal(await surgeon.isVisible("#console"), true, "the surgeon gets the console");

  // Wrong password shows the contract's message.
  const ctx = await browser.newContext();
  const bad = await ctx.newPage();
  await bad.goto(ORG_URL + "/");
  await bad.fill("input[name=username]", "student1");
  await bad.fill("input[name=password]", "wrong-password");
  await bad.click("#login-form button[type=submit]");
  await bad.waitForFunction(() => document.querySelector("#login-error").textContent.length > 0, null, { timeout });
  assert.match(await bad.textContent("#login-error"), /invalid username or password/);

  await surgeon.fill("#publish-form textarea", "Adaeze Okafor tolerated induction well");
  await surgeon.click("#publish-form button[type=submit]");
  const held = surgeon.locator("#held li").first();
  await held.waitFor();
  const heldText = await held.textContent();
  assert.ok(heldText.includes("[NAME]") && !heldText.includes("Okafor"), `held item is redacted: ${heldText}`);
  assert.equal(await student.locator("#updates li").count(), 0, "nothing reaches the student while held");

  await held.locator("button:has-text('approve')").click();
  const released = student.locator("#updates li").first();
  await released.waitFor();
  const seen = await released.textContent();
  assert.ok(seen.includes("[NAME]") && !seen.includes("Okafor"), `student sees the masked text: ${seen}`);
  assert.ok(seen.includes("tolerated induction well"));
  assert.equal(await student.locator("#updates li .mask").count(), 1, "the mask is highlighted");

  // Q&A: the student asks (masked for everyone), upvotes; the surgeon hides it.
  await student.fill("#ask-form input[name=text]", "Is Adaeze Okafor awake? #anesthesia");
  await student.click("#ask-form button[type=submit]");
  const asked = surgeon.locator("#questions li").first();
  await asked.waitFor();
  const askedText = await asked.textContent();
  assert.ok(askedText.includes("[NAME]") && !askedText.includes("Okafor"), `the question is masked: ${askedText}`);
  const mine = student.locator("#questions li").first();
  await mine.waitFor();
  assert.ok(!(await mine.textContent()).includes("Okafor"));
  await mine.locator("button:has-text('upvote')").click();
  await surgeon.waitForFunction(() => document.querySelector("#questions li")?.textContent.includes("1 ▲"));
  await asked.locator("button:has-text('hide')").click();
  await student.waitForFunction(() => document.querySelectorAll("#questions li").length === 0);

  await surgeon.click("#curtain");
  await student.waitForFunction(() => document.querySelector("#live-state").textContent.includes("curtain down"));
  if (ORG_SHOT_DIR) {
    await student.screenshot({ path: `${ORG_SHOT_DIR}/student.png`, fullPage: true });
    await surgeon.screenshot({ path: `${ORG_SHOT_DIR}/surgeon.png`, fullPage: true });
  }

  // Live video: the surgeon's (fake) camera over WHIP, through the delay gate,
  // to the student's <video> over WHEP; the curtain hides it.
  const cam = await signIn("surgeon1", "surgeon-password", ORG_VIDEO_TITLE);
  const watcher = await signIn("student1", "student-password", ORG_VIDEO_TITLE);
  assert.equal(await watcher.isVisible("#camera"), false, "students get no camera control");
  // A mask drawn on the preview before the camera starts: painted before encoding.
  const box = await cam.locator("#preview").boundingBox();
  await cam.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
  await cam.mouse.down();
  await cam.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4);
  await cam.mouse.up();
  await cam.click("#camera");
  await cam.waitForFunction(() => document.querySelector("#camera-state").textContent.includes("sending"), null, { timeout });
  await watcher.waitForFunction(() => {
    const v = document.querySelector("#video");
    return v.videoWidth > 0 && v.currentTime > 0.5;
  }, null, { timeout: 30000 });
  assert.equal(await watcher.isVisible("#paused"), false);
  // What the gallery decodes: black where the surgeon masked, the camera elsewhere.
  const [inside, outside] = await watcher.evaluate(() => {
    const v = document.querySelector("#video");
    const c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0);
    const px = (fx, fy) => Array.from(g.getImageData(Math.floor(c.width * fx), Math.floor(c.height * fy), 1, 1).data);
    return [px(0.2, 0.2), px(0.85, 0.85)];
  });
  assert.ok(inside[0] + inside[1] + inside[2] < 60, `masked region is black at the viewer: ${inside}`);
  assert.ok(outside[0] + outside[1] + outside[2] > 100, `unmasked region shows the camera: ${outside}`);
  console.log("video: playing", await watcher.evaluate(() => `${document.querySelector("#video").videoWidth}x${document.querySelector("#video").videoHeight}`));
  if (ORG_SHOT_DIR) {
    await watcher.screenshot({ path: `${ORG_SHOT_DIR}/student-video-live.png`, fullPage: true });
    await cam.screenshot({ path: `${ORG_SHOT_DIR}/surgeon-camera.png`, fullPage: true });
  }
  cam.on("dialog", (d) => { console.log(`surgeon dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  await cam.click("#curtain");
  // The surgeon's own console confirms the curtain first (the POST and its state frame).
  await cam.waitForFunction(() => document.querySelector("#live-state").textContent.includes("curtain down"), null, { timeout });
  await watcher.waitForSelector("#paused:not([hidden])", { timeout });
  assert.equal(await watcher.isVisible("#video"), false, "no media behind the curtain");
  assert.match(await watcher.textContent("#paused"), /Paused by the surgical team/);
  if (ORG_SHOT_DIR) await watcher.screenshot({ path: `${ORG_SHOT_DIR}/student-video.png`, fullPage: true });
  console.log("browser: 1 passed, 0 failed");
} catch (e) {
  console.error(e);
  console.log("browser: 0 passed, 1 failed");
  process.exitCode = 1;
} finally {
  await browser.close();
}
