// Drives Debian's Chromium through the dashboard as a person would (tests/integration/test_dashboard.py starts a
// real manager, worker and verifier, submits the jobs, and runs this script):
//   sign in with the API token; open the rendering job from the list and watch it complete with no reload;
//   see thumbnails appear; play the video; open a frame; look at the workers; cancel the second job; sign out;
//   and see the page notice by itself when the session is ended elsewhere (another tab signs out).
// Screenshots go to ARTIFACTS. The script fails on any page error, console error or failed request, and on any
// serious or critical accessibility violation that axe-core finds on each page.
//
// Environment: DASHBOARD_URL, TOKEN, JOB_A (the job to watch), JOB_B (the job to cancel), FRAMES_A (its frame
// count), ARTIFACTS (folder), CHROMIUM (executable, default /usr/bin/chromium), ENROLLMENT (a worker enrollment
// token: a worker joins while the workers page is open).
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const URL = env("DASHBOARD_URL");
const TOKEN = env("TOKEN");
const JOB_A = Number(env("JOB_A"));
const JOB_B = Number(env("JOB_B"));
const FRAMES_A = Number(env("FRAMES_A"));
const ARTIFACTS = env("ARTIFACTS");
const ENROLLMENT = env("ENROLLMENT");
mkdirSync(ARTIFACTS, { recursive: true });

const problems = [];
// Once the test ends the session behind the page's back, the page's next reads are refused (401) on purpose.
let sessionEndedOnPurpose = false;
const expected401 = (status) => sessionEndedOnPurpose && status === 401;
const log = (...args) => console.log(new Date().toISOString().slice(11, 23), ...args);
const check = (ok, message) => {
  if (!ok) throw new Error(`check failed: ${message}`);
  log("ok:", message);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  if (m.type() === "error" && !(sessionEndedOnPurpose && m.text().includes("401"))) problems.push(`console error: ${m.text()} (${m.location().url})`);
});
page.on("requestfailed", (r) => {
  // A long-poll the page itself ends (EventSource.close, a new page) is not a failure.
  if (r.url().includes("/api/v1/events") && r.failure()?.errorText === "net::ERR_ABORTED") return;
  problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
});
page.on("response", (r) => {
  if (r.status() >= 400 && !expected401(r.status())) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
});
page.on("dialog", (d) => d.accept()); // the cancel confirmation

const apiCalls = [];
page.on("request", (r) => {
  const u = new globalThis.URL(r.url());
  if (u.pathname.startsWith("/api/v1/")) apiCalls.push({ at: Date.now(), path: u.pathname, method: r.method() });
});

// Which jobs each answer of the event stream spoke of, and when: a page that re-reads a job must have been told to.
const eventBatches = [];
page.on("response", async (r) => {
  if (!new globalThis.URL(r.url()).pathname.startsWith("/api/v1/events")) return;
  const at = Date.now();
  const jobs = new Set();
  const types = new Set();
  try {
    for (const line of (await r.text()).split("\n")) {
      if (line.startsWith("data: ")) jobs.add(JSON.parse(line.slice(6)).job_id);
      if (line.startsWith("event: ")) types.add(line.slice(7));
    }
  } catch {
    return; // a stream the page closed
  }
  eventBatches.push({ at, jobs, types });
});

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
async function accessibility(name) {
  // Evaluated through the DevTools protocol, so the page's Content-Security-Policy stays as it is.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result.violations) {
    log(`axe (${name}): ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes)`);
  }
  for (const v of serious) {
    problems.push(`accessibility (${name}): ${v.impact} ${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
  check(serious.length === 0, `no serious accessibility violation on the ${name} page`);
}
const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

try {
  // ---- sign in ----
  await page.goto(URL);
  await page.getByLabel("API token").waitFor();
  await accessibility("sign-in");
  await shot("01-sign-in");
  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Your jobs" }).waitFor();
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "inferix_session");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
  check(!(await page.evaluate(() => document.cookie.includes("inferix_session"))), "page scripts cannot read the session");
  check(!(await page.content()).includes(TOKEN), "the token is not left in the page");
  await page.evaluate(() => (window.__sameDocument = true)); // gone if the page ever reloads

  // ---- the jobs list ----
  const rowA = page.locator(`tr[data-job="${JOB_A}"]`);
  await rowA.waitFor();
  check((await page.locator(`tr[data-job="${JOB_B}"]`).count()) === 1, "both jobs are listed");
  await accessibility("jobs");
  await shot("02-jobs");

  // ---- watch job A render ----
  await rowA.getByRole("link").click();
  await page.locator(`section[data-job="${JOB_A}"]`).waitFor();
  const counts = [];
  const started = Date.now();
  for (;;) {
    const state = await page.locator(`section[data-job="${JOB_A}"]`).getAttribute("data-state");
    const thumbs = await page.locator("#frames img").count();
    if (counts.length === 0 || counts[counts.length - 1] !== thumbs) {
      counts.push(thumbs);
      log(`job ${JOB_A}: ${state}, ${thumbs} thumbnails`);
      if (thumbs > 0 && thumbs < FRAMES_A) await shot("03-job-rendering");
    }
    if (state === "completed" && thumbs === FRAMES_A) break;
    if (state === "failed" || state === "canceled") throw new Error(`job ${JOB_A} ended ${state}`);
    if (Date.now() - started > 240_000) throw new Error(`job ${JOB_A} did not complete in 240 s (${counts})`);
    await page.waitForTimeout(200);
  }
  check(counts.length >= 3, `thumbnails appeared one chunk at a time (${counts.join(" -> ")})`);
  check(await page.evaluate(() => window.__sameDocument === true), "the page followed the job without reloading");
  const loaded = await page.locator("#frames img").evaluateAll((imgs) => imgs.filter((i) => i.complete && i.naturalWidth > 0).length);
  check(loaded === FRAMES_A, `all ${FRAMES_A} thumbnails are real images`);
  // The skip link moves the focus to the content and stays on this page.
  const jobHash = await page.evaluate(() => location.hash);
  await page.locator("a.skip").focus();
  await page.keyboard.press("Enter");
  await page.waitForTimeout(300);
  check((await page.evaluate(() => [location.hash, document.activeElement.id].join(" "))) === `${jobHash} main`,
    "the skip link focuses the content and keeps the page");
  await page.locator(`section[data-job="${JOB_A}"]`).waitFor();
  const tile = page.locator('#frames li[data-frame="1"]');
  check(/accepted|trusted/.test(await tile.innerText()), "a tile shows its verdict");
  check(/worker-a/.test(await tile.innerText()), "a tile shows its worker");

  // ---- the video ----
  const video = page.locator("video");
  await video.waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector("video");
    return v && v.readyState >= 1;
  });
  const played = await video.evaluate(async (v) => {
    v.muted = true;
    await v.play();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const seekable = v.seekable.length ? v.seekable.end(0) : 0;
    return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight, seekable, error: v.error && v.error.code };
  });
  check(!played.error && played.width > 0 && played.time > 0, `the video plays (${JSON.stringify(played)})`);
  check(played.seekable > 0, "the player can seek in the video (the manager answers byte ranges)");
  await video.evaluate((v) => v.pause());
  await accessibility("job");
  await shot("04-job-completed");

  // No polling: in a quiet spell, the page asks the API for nothing but the event stream, unless an event about
  // this job came just before (the other job renders meanwhile: its events must not make this page re-read).
  const quietFrom = Date.now();
  await page.waitForTimeout(4000);
  for (let i = 0; i < 30 && !eventBatches.some((b) => b.at >= quietFrom && b.jobs.has(JOB_B)); ++i) {
    await page.waitForTimeout(500);
  }
  const polled = apiCalls.filter((c) => c.at >= quietFrom && c.path !== "/api/v1/events");
  const untold = polled.filter((c) => !eventBatches.some((b) => b.jobs.has(JOB_A) && b.at <= c.at && b.at >= c.at - 2000));
  check(untold.length === 0, `no polling: ${polled.length} API reads in ${Date.now() - quietFrom} ms, each after an event about the job (${untold.map((c) => c.path).join(", ") || "none untold"})`);
  check(eventBatches.some((b) => b.at >= quietFrom && b.jobs.has(JOB_B)), "events of the other job kept arriving meanwhile");

  // A download link gives the delivered frame under its name.
  const link = page.locator(".downloads a").first();
  const href = await link.getAttribute("href");
  const download = await page.request.get(new globalThis.URL(href, URL).toString());
  check(download.status() === 200 && /attachment; filename=/.test(download.headers()["content-disposition"] || ""),
    "a frame's download link answers the file as an attachment");

  // ---- open a frame ----
  await tile.getByRole("link").click();
  await page.locator('section[data-frame="1"]').waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector("img.large");
    return img && img.complete && img.naturalWidth > 0;
  });
  check((await page.locator("table.attempts tbody tr").count()) >= 1, "the frame page lists its renders and verdicts");
  await accessibility("frame");
  await shot("05-frame");

  // ---- a rejected render, shown and explained ----
  await page.getByRole("link", { name: "Orbit shot" }).click();
  const rejectedTile = page.locator("#frames li", { hasText: "rejected attempt" }).first();
  await rejectedTile.waitFor();
  await rejectedTile.getByRole("link").click();
  const rejectedRow = page.locator('table.attempts tr[data-verdict="rejected"]').first();
  await rejectedRow.waitFor();
  const why = await rejectedRow.innerText();
  check(/worker-b/.test(why) && /Rejected: .{10,}/.test(why), `a rejection names its worker and says why (${why.replace(/\s+/g, " ").slice(0, 160)})`);
  await accessibility("rejected frame");
  await shot("05-rejected-frame");

  // ---- workers ----
  await page.getByRole("link", { name: "Workers" }).click();
  await page.getByRole("heading", { name: "Workers" }).waitFor();
  const workers = await page.locator("table.workers tbody").innerText();
  check(/worker-a/.test(workers) && /worker-b/.test(workers) && /verifier-a/.test(workers), "the workers page lists the workers and the verifier");
  check(/\d+\.\d+/.test(workers), "the workers page shows Blender versions");
  await accessibility("workers");
  await shot("06-workers");

  // ---- cancel job B ----
  await page.getByRole("link", { name: "Jobs", exact: true }).first().click();
  await page.locator(`tr[data-job="${JOB_B}"]`).getByRole("link").click();
  await page.locator(`section[data-job="${JOB_B}"]`).waitFor();
  // A live update keeps what the person opened and where the keyboard is: the download list stays open and
  // focused while job B's frames keep arriving.
  const toggle = page.locator("#downloads-toggle");
  await toggle.waitFor({ timeout: 120_000 });
  await toggle.focus();
  await page.keyboard.press("Enter");
  await page.locator("details#downloads[open]").waitFor();
  await page.locator(`section[data-job="${JOB_B}"]`).evaluate((s) => (s.dataset.seen = "1"));
  await page.locator(`section[data-job="${JOB_B}"]:not([data-seen])`).waitFor({ timeout: 120_000 }); // re-rendered
  check(await page.evaluate(() => document.querySelector("details#downloads").open && document.activeElement.id === "downloads-toggle"),
    "a live update keeps the download list open and the focus on it");
  await page.getByRole("button", { name: "Cancel job" }).click();
  await page.locator(`section[data-job="${JOB_B}"][data-state="canceled"]`).waitFor();
  check((await page.getByRole("button", { name: "Cancel job" }).count()) === 0, "a canceled job offers no cancel");
  await shot("07-job-canceled");
  await page.getByRole("link", { name: "Jobs", exact: true }).first().click();
  await page.locator(`tr[data-job="${JOB_B}"]`).getByText("canceled").waitFor();

  // ---- a worker joins while the workers page is open: it appears, told by the network's events ----
  await page.getByRole("link", { name: "Workers" }).click();
  await page.getByRole("heading", { name: "Workers" }).waitFor();
  const joinedAt = Date.now();
  const joined = await page.request.post(new globalThis.URL("api/v1/nodes/register", URL).toString(), {
    data: { enrollment_token: ENROLLMENT, name: "late-worker", role: "worker", public_key: "ab".repeat(32),
      capabilities: { cpu_threads: 64, cpu_model: "Late CPU", gpus: [{ name: "Late GPU", memory: "48 GiB" }] } },
  });
  check(joined.status() === 201, "a worker registers while the page is open");
  const lateRow = page.locator("table.workers tr", { hasText: "late-worker" });
  await lateRow.waitFor({ timeout: 30_000 });
  check(/Late GPU \(48 GiB\)/.test(await lateRow.innerText()), `the new worker appeared by itself in ${Date.now() - joinedAt} ms, with its GPU`);
  // The page may draw the row before this script has read the same answer of the event stream: wait for it.
  const toldOfWorker = () => eventBatches.some((b) => b.at >= joinedAt && b.types.has("worker"));
  for (let i = 0; i < 20 && !toldOfWorker(); ++i) await page.waitForTimeout(250);
  check(toldOfWorker(), "a worker event told the page");
  check(await page.evaluate(() => window.__sameDocument === true), "the workers page updated without reloading");
  await shot("08-worker-joined");
  // Its owner sits down (issue #17): the worker says why it takes no work, and the page shows it by itself.
  const said = await page.request.post(new globalThis.URL("api/v1/nodes/availability", URL).toString(), {
    headers: { authorization: `Bearer ${(await joined.json()).node_token}` },
    data: { availability: "owner busy", reason: "its owner is using the machine (test)" },
  });
  check(said.status() === 200, "a worker tells the manager why it takes no work");
  await lateRow.locator(".badge-owner-busy").waitFor({ timeout: 30_000 });
  check(/owner busy\s+its owner is using the machine \(test\)/.test(await lateRow.innerText()), "the workers page shows that the worker's owner is busy, and why");

  // ---- my nodes (issue #17): ada owns worker-a and late-worker, not the cheating worker-b ----
  await page.getByRole("link", { name: "My nodes" }).click();
  await page.getByRole("heading", { name: "My nodes" }).waitFor();
  const late = page.locator("article.owned-node", { hasText: "late-worker" });
  await late.waitFor();
  const lateText = await late.innerText();
  check(/owner busy/.test(lateText) && /its owner is using the machine \(test\)/.test(lateText) && /Late CPU, 64 threads/.test(lateText) &&
    /Late GPU \(48 GiB\)/.test(lateText) && /No frame rendered yet/.test(lateText),
    `my nodes shows an idle node's machine, its state and why it takes no work (${lateText.replace(/\s+/g, " ").slice(0, 200)})`);
  const mine = page.locator("article.owned-node", { hasText: "worker-a" });
  const verdicts = await mine.locator("table.outputs tbody").innerText();
  check(/accepted/.test(verdicts) && !/trusted/.test(verdicts), "my nodes lists a node's latest frames with their verdicts (never 'trusted')");
  check((await page.locator("article.owned-node", { hasText: "worker-b" }).count()) === 0 && (await page.locator("article.owned-node").count()) === 2,
    "my nodes lists only the user's own nodes");
  await accessibility("my nodes");
  await shot("09-my-nodes");

  // ---- sign out ----
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API token").waitFor();
  check(!(await context.cookies()).some((c) => c.name === "inferix_session" && c.value), "signing out drops the session");

  // ---- the session ends elsewhere: the page notices by itself, through its event stream ----
  const signIn = async () => {
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Your jobs" }).waitFor();
  };
  await signIn();
  sessionEndedOnPurpose = true;
  const endedAt = Date.now();
  const ended = await page.request.delete(new globalThis.URL("api/v1/session", URL).toString()); // the page's cookie
  check(ended.status() === 200, "the session is ended from outside the page");
  await page.getByText("Your session has ended; sign in again.").waitFor({ timeout: 30_000 });
  check(await page.locator("#account").isHidden(), `the page noticed in ${Date.now() - endedAt} ms, with no click, and shows no account`);
  await shot("10-session-ended");

  // ---- and a click on Sign out after the session ended elsewhere still signs out, with no error ----
  sessionEndedOnPurpose = false;
  await signIn();
  sessionEndedOnPurpose = true;
  await page.request.delete(new globalThis.URL("api/v1/session", URL).toString());
  await page.evaluate(() => document.getElementById("sign-out").click()); // even if the page already noticed
  await page.getByLabel("API token").waitFor();
  check((await page.getByRole("heading", { name: "Something went wrong" }).count()) === 0 && (await page.locator("#account").isHidden()),
    "signing out of an ended session shows the sign-in form, not an error");
} catch (e) {
  problems.push(String(e && e.stack ? e.stack : e));
  await shot("failure").catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`${problems.length} problem(s):\n` + problems.join("\n"));
  process.exit(1);
}
log("dashboard: all checks passed");
