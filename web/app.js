// Inferix dashboard: a single page, no framework, no third-party code. It signs in with the API token once (the
// manager answers with an HttpOnly session cookie), reads the API, and follows the user's event stream: every
// event re-reads what the page shows, so nothing polls. Text from the network (job, file and worker names,
// messages) is only ever set as text, never parsed as HTML.
"use strict";

const FINAL_STATES = new Set(["completed", "failed", "canceled"]);
const EVENT_TYPES = ["job", "frame", "suspect", "preview", "video", "blocklist", "worker", "resync"];

const state = {
  user: null,
  events: null,
  lastEventId: 0,
  refreshTimer: null,
  followTimer: null,
  followDelay: 1000, // before following again after the stream gave up; doubles to 30 s
  renderToken: 0,
  urls: new Map(), // signed URLs by what they point at, kept while valid so images are not fetched again
};

// ---- DOM helpers ----------------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function main() {
  return document.getElementById("main");
}

function announce(text) {
  document.getElementById("announce").textContent = text;
}

// ---- formatting -----------------------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "unknown";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function when(ms) {
  if (!ms) return "not yet";
  return new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// When the job's first frame began rendering: "waiting" while it is queued, "never" if it ended before.
function started(job) {
  if (job.started_ms) return when(job.started_ms);
  return FINAL_STATES.has(job.state) ? "never" : "waiting";
}

function seconds(value) {
  return value ? `${value.toFixed(1)} s` : "-";
}

// A job's name made safe as a file name: <stem>_0001.png, <stem>.mp4.
function safeName(text) {
  const cleaned = String(text).replace(/\.blend$/i, "").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "");
  return cleaned || "job";
}

// The name a delivered frame downloads as.
function frameFileName(job, frame) {
  const ext = { PNG: "png", EXR: "exr", JPEG: "jpg" }[job.format] || "img";
  return `${safeName(job.name)}_${String(frame).padStart(4, "0")}.${ext}`;
}

function withName(url, name) {
  return `${url}&name=${encodeURIComponent(name)}`;
}

// A signed URL stays valid for an hour: keep the first one seen for an object so the browser's cache serves it.
function stableUrl(key, url) {
  if (!url) return null;
  const now = Date.now();
  const kept = state.urls.get(key);
  if (kept && kept.until > now) return kept.url;
  state.urls.set(key, { url, until: now + 30 * 60 * 1000 });
  return url;
}

function badge(text, kind) {
  return h("span", { class: `badge badge-${kind || text}`, text });
}

function progressBar(p, label) {
  const done = p.delivered || 0;
  const total = p.total || 0;
  return h("progress", { max: Math.max(total, 1), value: done, "aria-label": label });
}

// ---- the API --------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = data && data.error ? data.error : { code: "http", message: `the manager answered ${res.status}` };
    throw new ApiError(res.status, error.code, error.message);
  }
  return data;
}

// ---- session and live updates ---------------------------------------------------------------------------------

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  // The skip link moves focus to the content; it is not a page of its own.
  document.querySelector("a.skip").addEventListener("click", (event) => {
    event.preventDefault();
    main().focus();
  });
  window.addEventListener("hashchange", () => show());
  let session = null;
  try {
    session = await api("GET", "/session");
  } catch (e) {
    renderError(e);
    return;
  }
  if (session.signed_in) signedIn(session);
  show();
}

function signedIn(user) {
  state.user = user;
  state.lastEventId = user.last_event_id || 0;
  document.getElementById("user-name").textContent = user.name;
  document.getElementById("account").hidden = false;
  document.getElementById("nav").hidden = false;
  follow();
}

function follow() {
  clearTimeout(state.followTimer);
  if (state.events) state.events.close();
  // The manager answers each connection with the events after Last-Event-ID (waiting until there is one), then
  // ends it; EventSource reconnects with the last id it saw, so nothing is missed.
  // With workers=1, the network's `worker` events too: the workers page follows every worker, not only yours.
  const source = new EventSource(`/api/v1/events?workers=1&last_event_id=${state.lastEventId}`);
  const dot = document.getElementById("live-dot");
  // Each answer ends the connection and EventSource reconnects at once: live unless it gave up.
  source.onopen = () => {
    dot.classList.add("on");
    state.followDelay = 1000;
  };
  // EventSource retries by itself after a network error, but gives up for good on an answer that is not an
  // event stream (the session ended: 401; a proxy's 502 while the manager restarts). Then: read the page again,
  // which signs out on a 401, and follow again after a growing pause.
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED || state.events !== source) return;
    dot.classList.remove("on");
    state.followTimer = setTimeout(async () => {
      await show({ quiet: true });
      if (state.user && state.events === source) follow();
    }, state.followDelay);
    state.followDelay = Math.min(state.followDelay * 2, 30000);
  };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (event) => {
      state.lastEventId = Number(event.lastEventId) || state.lastEventId;
      let data = {};
      try {
        data = JSON.parse(event.data);
      } catch {
        data = {};
      }
      onEvent(type, data);
    });
  }
  state.events = source;
}

function onEvent(type, data) {
  // Retention removed events this page may not have seen: whatever it shows is read again.
  if (type === "resync") {
    clearTimeout(state.refreshTimer);
    show({ quiet: true });
    return;
  }
  if (type === "job" && FINAL_STATES.has(data.state)) announce(`Job ${data.job_id} ${data.state}`);
  // A job's page changes only with its own events; the jobs list with any job's; the workers page with any.
  const r = route();
  if (type === "worker" && r.view !== "workers" && r.view !== "nodes") return;
  if ((r.view === "job" || r.view === "frame") && data.job_id !== r.job) return;
  // Many events come in bursts (a chunk's frames): one refresh for a burst.
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => show({ quiet: true }), 150);
}

async function signOut() {
  // The event stream stops first: EventSource reconnects by itself after each answer, and a reconnect sent
  // while the session is being ended would be refused (401) with it.
  clearTimeout(state.followTimer);
  if (state.events) state.events.close();
  state.events = null;
  try {
    await api("DELETE", "/session");
  } catch (e) {
    // A session that had already ended is signed out all the same.
    if (e.status !== 401) {
      follow(); // still signed in: keep following
      renderError(e);
      return;
    }
  }
  signedOut();
  location.hash = "#/";
  show();
}

// Forgets the session: no more events, refreshes or kept URLs, and the header shows no account.
function signedOut() {
  clearTimeout(state.refreshTimer);
  clearTimeout(state.followTimer);
  if (state.events) state.events.close();
  state.events = null;
  state.user = null;
  state.urls.clear();
  document.getElementById("account").hidden = true;
  document.getElementById("nav").hidden = true;
}

// ---- routing --------------------------------------------------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "workers") return { view: "workers" };
  if (parts[0] === "nodes") return { view: "nodes" };
  if (parts[0] === "jobs" && /^\d+$/.test(parts[1] || "")) {
    if (parts[2] === "frames" && /^-?\d+$/.test(parts[3] || "")) {
      return { view: "frame", job: Number(parts[1]), frame: Number(parts[3]) };
    }
    return { view: "job", job: Number(parts[1]) };
  }
  return { view: "jobs" };
}

async function show(options = {}) {
  const token = ++state.renderToken;
  if (!state.user) {
    renderSignIn();
    return;
  }
  const r = route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    const current = link.dataset.nav === (r.view === "workers" || r.view === "nodes" ? r.view : "jobs");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    let content;
    if (r.view === "workers") content = await workersView();
    else if (r.view === "nodes") content = await myNodesView();
    else if (r.view === "job") content = await jobView(r.job);
    else if (r.view === "frame") content = await frameView(r.job, r.frame);
    else content = await jobsView();
    if (token !== state.renderToken) return; // a newer render is on its way
    replaceMain(content, options.quiet);
  } catch (e) {
    if (token !== state.renderToken) return;
    if (e.status === 401) {
      signedOut();
      renderSignIn("Your session has ended; sign in again.");
      return;
    }
    // A live update that fails keeps what is shown and says so; the next event tries again.
    if (options.quiet && main().firstElementChild && !main().querySelector(".sign-in")) staleNotice(e);
    else renderError(e);
  }
}

function staleNotice(e) {
  let notice = document.getElementById("stale");
  if (!notice) {
    notice = h("p", { id: "stale", class: "panel notice", role: "status" });
    main().prepend(notice);
  }
  notice.textContent = `Could not update this page (${e.message}); it shows what was last read.`;
}

// What identifies a link or button across a re-render (signed URLs get a new query string).
function focusKey(el) {
  if (!el || el === document.body) return null;
  if (el.id) return `#${el.id}`;
  const href = el.getAttribute("href");
  return href ? `${el.tagName}|${href.split("?")[0]}` : `${el.tagName}|${el.textContent}`;
}

// Swaps the page's content. A live update interrupts nothing: a playing video is kept, open sections stay open,
// and the keyboard focus stays on the same link or button.
function replaceMain(content, quiet) {
  const old = main();
  const video = old.querySelector("video[data-key]");
  const fresh = content.querySelector("video[data-key]");
  if (video && fresh && video.dataset.key === fresh.dataset.key) fresh.replaceWith(video);
  for (const details of old.querySelectorAll("details[id][open]")) {
    const same = content.querySelector(`details#${CSS.escape(details.id)}`);
    if (same) same.open = true;
  }
  const focused = old.contains(document.activeElement) && document.activeElement !== old ? focusKey(document.activeElement) : null;
  const scroll = window.scrollY;
  old.replaceChildren(content);
  if (quiet) {
    window.scrollTo(0, scroll);
    if (focused) {
      const again = [...old.querySelectorAll("a, button, summary, video, input")].find((el) => focusKey(el) === focused);
      if (again) again.focus({ preventScroll: true });
    }
  } else {
    old.focus({ preventScroll: true });
    const title = content.querySelector("h1");
    document.title = title ? `${title.textContent} - Inferix` : "Inferix";
  }
}

function renderError(e) {
  main().replaceChildren(
    h("section", { class: "panel" }, h("h1", { text: "Something went wrong" }), h("p", { role: "alert", text: e.message })),
  );
}

// ---- views ----------------------------------------------------------------------------------------------------

function renderSignIn(message) {
  document.title = "Sign in - Inferix";
  const error = h("p", { class: "error", id: "sign-in-error", role: "alert", text: message || "" });
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-help sign-in-error",
  });
  const button = h("button", { type: "submit", text: "Sign in" });
  const form = h(
    "form",
    {
      class: "panel sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        error.textContent = "";
        try {
          await api("POST", "/session", { token: input.value.trim() });
          const session = await api("GET", "/session");
          input.value = "";
          signedIn(session);
          if (!location.hash || location.hash === "#/") location.hash = "#/jobs";
          show();
        } catch (e) {
          error.textContent = e.message;
          button.disabled = false;
          input.focus();
        }
      },
    },
    h("h1", { text: "Sign in" }),
    h("label", { for: "token", text: "API token" }),
    input,
    h(
      "p",
      { id: "token-help", class: "help" },
      "Your token starts with ixu_. Your operator gives it to you (inferix admin token create). " +
        "It is sent once; the browser then keeps a session that scripts on other sites cannot read.",
    ),
    button,
    error,
  );
  main().replaceChildren(form);
  input.focus();
}

async function jobsView() {
  const { jobs } = await api("GET", "/jobs");
  const section = h("section", { "aria-labelledby": "jobs-title" }, h("h1", { id: "jobs-title", text: "Your jobs" }));
  if (!jobs.length) {
    section.append(
      h(
        "p",
        { class: "empty" },
        "No jobs yet. Submit a scene from Blender with the Inferix add-on (Render Properties > Inferix), " +
          "or with: inferix submit scene.blend --frames 1-250",
      ),
    );
    return section;
  }
  const rows = jobs
    .slice()
    .sort((a, b) => b.id - a.id)
    .map((job) => {
      const p = job.progress;
      return h(
        "tr",
        { "data-job": job.id },
        h("th", { scope: "row" }, h("a", { href: `#/jobs/${job.id}`, text: job.name })),
        h("td", { text: job.owner }),
        h("td", { class: "num" }, progressBar(p, `${job.name}: frames delivered`), ` ${p.delivered} / ${p.total}`),
        h("td", {}, badge(job.state)),
        h("td", { text: started(job) }),
        h("td", { text: FINAL_STATES.has(job.state) ? "-" : duration(p.eta_s) }),
      );
    });
  section.append(
    h(
      "table",
      { class: "jobs" },
      h("caption", { class: "visually-hidden", text: "Your jobs, newest first" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Owner", "Frames delivered", "State", "Started", "Time left"].map((t) => h("th", { scope: "col", text: t })),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
  return section;
}

function verdictOf(frame) {
  if (frame.state === "delivered") return frame.verdict === "pending" ? "accepted" : frame.verdict;
  return frame.state;
}

function frameTile(job, frame) {
  const out = frame.output;
  const preview = out && frame.state === "delivered" ? stableUrl(`preview:${out.output_id}`, out.preview_url) : null;
  const rejected = (frame.attempts || []).filter((a) => a.verdict === "rejected").length;
  const picture = preview
    ? h("img", { src: preview, alt: "", width: 160, height: 90, loading: "lazy" })
    : h("div", { class: `placeholder state-${frame.state}`, "aria-hidden": "true", text: frame.state });
  const facts = h(
    "span",
    { class: "facts" },
    h("span", { class: "frame-no", text: `Frame ${frame.frame}` }),
    badge(verdictOf(frame)),
    out && out.worker ? h("span", { text: `${out.worker}, ${seconds(out.render_seconds)}` }) : null,
    rejected ? h("span", { class: "warn", text: `${rejected} rejected ${rejected === 1 ? "attempt" : "attempts"}` }) : null,
  );
  return h(
    "li",
    { class: "tile", "data-frame": frame.frame, "data-state": frame.state },
    h("a", { href: `#/jobs/${job.id}/frames/${frame.frame}` }, picture, facts),
  );
}

async function jobView(id) {
  const job = await api("GET", `/jobs/${id}`);
  const p = job.progress;
  const final = FINAL_STATES.has(job.state);
  const section = h("section", { "aria-labelledby": "job-title", "data-job": job.id, "data-state": job.state });
  section.append(h("p", { class: "crumbs" }, h("a", { href: "#/jobs", text: "Jobs" }), " / ", job.name));
  section.append(h("h1", { id: "job-title", text: job.name }));
  const cancel = final
    ? null
    : h("button", {
        type: "button",
        class: "danger",
        id: "cancel-job",
        text: "Cancel job",
        onclick: async (event) => {
          if (!window.confirm(`Cancel job "${job.name}"? Frames not yet delivered will not be rendered.`)) return;
          event.target.disabled = true;
          try {
            await api("POST", `/jobs/${job.id}/cancel`, {});
            announce(`Job ${job.name} canceled`);
            show({ quiet: true });
          } catch (e) {
            event.target.disabled = false;
            window.alert(e.message);
          }
        },
      });
  section.append(
    h(
      "div",
      { class: "summary panel" },
      h(
        "dl",
        {},
        h("dt", { text: "State" }),
        h("dd", {}, badge(job.state)),
        h("dt", { text: "Frames delivered" }),
        h("dd", { class: "num" }, progressBar(p, "Frames delivered"), ` ${p.delivered} / ${p.total}`, p.failed ? ` (${p.failed} failed)` : ""),
        h("dt", { text: "Rendered" }),
        h("dd", { text: `${p.rendered} (${p.verifying} being verified)` }),
        h("dt", { text: "Submitted" }),
        h("dd", { text: when(job.created_ms) }),
        h("dt", { text: "Started" }),
        h("dd", { text: started(job) }),
        h("dt", { text: final ? "Finished" : "Time left" }),
        h("dd", { text: final ? when(job.finished_ms) : duration(p.eta_s) }),
        h("dt", { text: "Frames, format" }),
        h("dd", { text: `${job.frames_spec}, ${job.format}` }),
        // What the job requires of the workers (issue #17), and why no worker takes it while none can.
        job.requirements && job.requirements.text ? h("dt", { text: "Requires" }) : null,
        job.requirements && job.requirements.text ? h("dd", { text: job.requirements.text }) : null,
        job.waiting_for && !final ? h("dt", { text: "Waiting for" }) : null,
        job.waiting_for && !final ? h("dd", { class: "warn waiting-for", text: job.waiting_for }) : null,
      ),
      cancel,
    ),
  );
  if (job.message) section.append(h("p", { class: "panel notice", role: "note", text: job.message }));

  // The video, once every frame is delivered.
  const stem = safeName(job.name);
  const media = h("section", { class: "panel", "aria-labelledby": "video-title" }, h("h2", { id: "video-title", text: "Video" }));
  if (job.video_url) {
    const url = stableUrl(`video:${job.id}`, job.video_url);
    media.append(
      h("video", { controls: true, preload: "metadata", src: url, "data-key": `video:${job.id}`, "aria-label": `Video of ${job.name}` }),
      h("p", {}, h("a", { href: withName(url, `${stem}.mp4`), download: `${stem}.mp4`, text: "Download the video (MP4)" })),
    );
  } else {
    const why = {
      none: "The video is made when every frame is delivered.",
      pending: "Making the video from the delivered frames...",
      failed: "The video could not be made; the frames are unaffected.",
    };
    media.append(h("p", { class: "help", text: why[job.video] || why.none }));
  }
  section.append(media);

  // Frames, as they are delivered.
  const delivered = job.frames.filter((f) => f.state === "delivered" && f.output);
  const frames = h(
    "section",
    { "aria-labelledby": "frames-title" },
    h("h2", { id: "frames-title", text: "Frames" }),
    delivered.length
      ? h(
          "details",
          { class: "downloads", id: "downloads" },
          h("summary", { id: "downloads-toggle", text: `Download links for the ${delivered.length} delivered frames` }),
          h(
            "ul",
            {},
            delivered.map((f) => {
              const name = frameFileName(job, f.frame);
              return h("li", {}, h("a", { href: withName(f.output.url, name), download: name, text: name }));
            }),
          ),
        )
      : null,
    h("ul", { class: "grid", id: "frames" }, job.frames.map((f) => frameTile(job, f))),
  );
  section.append(frames);

  if (job.blocklist && job.blocklist.length) {
    section.append(
      h(
        "section",
        { class: "panel", "aria-labelledby": "blocklist-title" },
        h("h2", { id: "blocklist-title", text: "Workers kept off this job" }),
        h("ul", {}, job.blocklist.map((b) => h("li", { text: `${b.worker}: ${b.reason}` }))),
      ),
    );
  }
  return section;
}

async function frameView(jobId, number) {
  const job = await api("GET", `/jobs/${jobId}`);
  const frame = job.frames.find((f) => f.frame === number);
  if (!frame) throw new ApiError(404, "not_found", `frame ${number} is not part of job ${jobId}`);
  const out = frame.output;
  const section = h("section", { "aria-labelledby": "frame-title", "data-frame": number });
  section.append(
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/jobs", text: "Jobs" }),
      " / ",
      h("a", { href: `#/jobs/${job.id}`, text: job.name }),
      ` / frame ${number}`,
    ),
  );
  section.append(h("h1", { id: "frame-title", text: `Frame ${number} of ${job.name}` }));
  const preview = out && frame.state === "delivered" ? stableUrl(`preview:${out.output_id}`, out.preview_url) : null;
  if (preview) section.append(h("img", { class: "large", src: preview, alt: `Frame ${number}, as delivered` }));
  else section.append(h("p", { class: "panel help", text: `This frame is ${frame.state}; its picture appears once it is delivered.` }));
  if (out && frame.state === "delivered" && out.url) {
    const name = frameFileName(job, number);
    section.append(h("p", {}, h("a", { href: withName(out.url, name), download: name, text: `Download ${name} (full quality)` })));
  }
  section.append(
    h(
      "dl",
      { class: "panel summary" },
      h("dt", { text: "State" }),
      h("dd", {}, badge(verdictOf(frame))),
      h("dt", { text: "Failed renders" }),
      h("dd", { text: String(frame.failures || 0) }),
    ),
  );
  const attempts = frame.attempts || [];
  const explain = (a) => {
    if (a.verdict === "rejected") return `Rejected: ${a.verdict_detail || "the verifier's render did not match"}. The frame was rendered again elsewhere.`;
    if (a.verdict === "pending") return "Waiting for the verifier.";
    return a.verdict_detail || "";
  };
  section.append(
    h(
      "section",
      { "aria-labelledby": "attempts-title" },
      h("h2", { id: "attempts-title", text: "Renders and verdicts" }),
      attempts.length
        ? h(
            "table",
            { class: "attempts" },
            h("thead", {}, h("tr", {}, ["Worker", "Render time", "Verdict", "Verifier", "Why"].map((t) => h("th", { scope: "col", text: t })))),
            h(
              "tbody",
              {},
              attempts.map((a) =>
                h(
                  "tr",
                  { "data-verdict": a.verdict },
                  h("td", { text: a.worker || `worker ${a.worker_id}` }),
                  h("td", { class: "num", text: seconds(a.render_seconds) }),
                  h("td", {}, badge(a.verdict)),
                  h("td", { text: a.verifier || "-" }),
                  h("td", { text: explain(a) }),
                ),
              ),
            ),
          )
        : h("p", { class: "help", text: "Not rendered yet." }),
    ),
  );
  if (frame.errors && frame.errors.length) {
    section.append(
      h(
        "section",
        { class: "panel", "aria-labelledby": "errors-title" },
        h("h2", { id: "errors-title", text: "Errors" }),
        h("ul", {}, frame.errors.map((e) => h("li", { text: typeof e === "string" ? e : JSON.stringify(e) }))),
      ),
    );
  }
  return section;
}

// What a worker says of its machine is checked by the manager; a node registered before those checks may still
// have sent anything, so nothing here assumes a type.
function gpuText(caps) {
  const gpus = Array.isArray(caps.gpus) ? caps.gpus.filter((g) => g && typeof g === "object") : [];
  if (!gpus.length) return "none";
  return gpus.map((g) => (g.memory ? `${String(g.name ?? "?")} (${String(g.memory)})` : String(g.name ?? "?"))).join(", ");
}

function cpuText(caps) {
  const parts = [];
  if (caps.cpu_model) parts.push(String(caps.cpu_model));
  if (Number.isFinite(caps.cpu_threads) && caps.cpu_threads > 0) parts.push(`${caps.cpu_threads} threads`);
  if (Number.isFinite(caps.memory_bytes) && caps.memory_bytes > 0) parts.push(`${Math.round(caps.memory_bytes / 2 ** 30)} GiB`);
  return parts.join(", ") || "unknown";
}

function taskText(node) {
  const t = node.current_task;
  if (!t) return "-";
  const frames = t.frames && t.frames.length ? ` frames ${t.frames[0]}${t.frames.length > 1 ? `-${t.frames[t.frames.length - 1]}` : ""}` : "";
  if (t.job_id) return h("a", { href: `#/jobs/${t.job_id}`, text: `${t.kind} ${t.job_name}${frames}` });
  return `${t.kind} (another user's job)`;
}

function trustText(node) {
  if (node.role !== "worker") return "-";
  const rate = node.check_rate;
  return `${node.streak} accepted in a row; ${rate === undefined ? "?" : Math.round(rate * 100)}% of frames fully checked`;
}

function caps(node) {
  const c = node.capabilities;
  return c && typeof c === "object" && !Array.isArray(c) ? c : {};
}

// A plain user's workers page (issue #14): the manager sends no host names, hardware, trust records or ban
// reasons, only to operators.
const HIDDEN = "operators only";

function blenderText(c) {
  if (c.blender_version) return String(c.blender_version);
  const builds = Array.isArray(c.blenders) ? c.blenders.filter((b) => b && typeof b === "object" && b.version) : [];
  return builds.length ? builds.map((b) => String(b.version)).join(", ") : "?";
}

async function workersView() {
  const { nodes } = await api("GET", "/workers");
  const section = h("section", { "aria-labelledby": "workers-title" }, h("h1", { id: "workers-title", text: "Workers" }));
  if (!nodes.length) {
    section.append(h("p", { class: "empty", text: "No worker has joined this network yet." }));
    return section;
  }
  // Why a worker takes no work (issue #17: its owner paused or drained it, its hours, its owner's load) is a
  // state of its own; the reason in words comes to operators only.
  const order = { busy: 0, draining: 1, idle: 2, paused: 3, "owner busy": 4, "outside hours": 5, offline: 6, banned: 7 };
  const rows = nodes
    .slice()
    .sort((a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9) || a.id - b.id)
    .map((n) =>
      h(
        "tr",
        { "data-node": n.id },
        h("th", { scope: "row", text: n.details === false ? `${n.role} ${n.id}` : n.name }),
        h("td", { text: n.role }),
        h(
          "td",
          {},
          badge(n.state, n.state.replace(/ /g, "-")),
          n.banned && n.ban_reason ? h("span", { class: "help", text: ` ${n.ban_reason}` }) : null,
          !n.banned && n.why && n.state !== "offline" ? h("span", { class: "help why", text: ` ${n.why}` }) : null,
        ),
        h("td", {}, taskText(n)),
        h("td", { text: n.details === false ? HIDDEN : cpuText(caps(n)) }),
        h("td", { text: n.details === false ? HIDDEN : gpuText(caps(n)) }),
        h("td", { text: blenderText(caps(n)) }),
        h("td", { text: n.details === false ? HIDDEN : trustText(n) }),
        h("td", { class: "num", text: n.details === false ? HIDDEN : String(n.accepted) }),
        h("td", { class: "num", text: n.details === false ? HIDDEN : String(n.rejected) }),
      ),
    );
  section.append(
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "workers" },
        h("caption", { class: "visually-hidden", text: "Workers and verifiers of this network" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "Role", "State", "Current task", "CPU", "GPUs", "Blender", "Trust", "Accepted", "Rejected"].map((t) =>
              h("th", { scope: "col", text: t }),
            ),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
  return section;
}

// ---- my nodes (issue #17) -------------------------------------------------------------------------------------

// A slot and what it holds: "cuda:0 (NVIDIA RTX 4090, 24 GiB): render frames 3-4 of job 12".
function slotText(node, slot) {
  const devices = Array.isArray(node.machine.slots) ? node.machine.slots : [];
  const device = devices.find((d) => d && d.id === slot);
  const parts = [slot || "the machine"];
  if (device && device.name) {
    const memory = Number.isFinite(device.memory_bytes) && device.memory_bytes > 0 ? `, ${Math.round(device.memory_bytes / 2 ** 30)} GiB` : "";
    parts.push(` (${String(device.name)}${memory})`);
  }
  const task = node.tasks.find((t) => (t.slot || "") === (slot || ""));
  if (task) {
    const frames = task.frames.length > 1 ? `frames ${task.frames[0]}-${task.frames[task.frames.length - 1]}` : `frame ${task.frames[0]}`;
    parts.push(`: ${task.kind} ${frames} of job ${task.job_id}`);
  } else parts.push(": no task");
  return parts.join("");
}

function ownedNode(node) {
  const m = node.machine && typeof node.machine === "object" ? node.machine : {};
  node.machine = m;
  const slots = node.slots.length ? node.slots : [""];
  const builds = Array.isArray(m.blenders) ? m.blenders.filter((b) => b && b.version).map((b) => String(b.version)) : [];
  const article = h(
    "article",
    { class: "panel owned-node", "data-node": node.id, "aria-labelledby": `node-${node.id}` },
    h("h2", { id: `node-${node.id}` }, `${node.name} `, badge(node.state, node.state.replace(/ /g, "-"))),
  );
  // Why it takes no work: what the worker said (its owner's pause, hours or load), or its ban.
  if (node.banned) article.append(h("p", { class: "warn why", text: `Banned: ${node.ban_reason || "no reason given"}` }));
  else if (node.reason && node.state !== "offline") article.append(h("p", { class: "help why", text: node.reason }));
  article.append(
    h(
      "dl",
      { class: "summary" },
      h("dt", { text: "Role" }),
      h("dd", { text: node.role }),
      h("dt", { text: "Machine" }),
      h("dd", { text: cpuText(m) }),
      h("dt", { text: "GPUs" }),
      h("dd", { text: gpuText(m) }),
      h("dt", { text: "Slots" }),
      h("dd", {}, h("ul", { class: "slots" }, slots.map((s) => h("li", { text: slotText(node, s) })))),
      h("dt", { text: "Blender" }),
      h("dd", { text: builds.join(", ") || "?" }),
      h("dt", { text: "Engines" }),
      h("dd", { text: Array.isArray(m.engines) && m.engines.length ? m.engines.join(", ") : "?" }),
      h("dt", { text: "Record" }),
      h("dd", { class: "record", text: `${node.accepted} frames accepted, ${node.rejected} rejected` }),
      h("dt", { text: "Last seen" }),
      h("dd", { text: when(node.last_seen_ms) }),
    ),
  );
  if (!node.outputs.length) {
    article.append(h("p", { class: "empty", text: "No frame rendered yet." }));
    return article;
  }
  article.append(
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "outputs" },
        h("caption", { text: "Latest frames and their verdicts" }),
        h("thead", {}, h("tr", {}, ["Job", "Frame", "Verdict", "Render time", "Class", "When"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          node.outputs.map((o) =>
            h(
              "tr",
              {},
              h("td", { class: "num", text: String(o.job_id) }),
              h("td", { class: "num", text: String(o.frame) }),
              h("td", {}, badge(o.verdict)),
              h("td", { class: "num", text: seconds(o.render_seconds) }),
              h("td", { text: o.class }),
              h("td", { text: when(o.created_ms) }),
            ),
          ),
        ),
      ),
    ),
  );
  return article;
}

// The nodes whose machines are yours (an operator enrolled them with --owner): what each lends, its state and
// why it is idle, and its latest frames with their verdicts. Never another user's node.
async function myNodesView() {
  const { nodes } = await api("GET", "/nodes/mine");
  const section = h("section", { "aria-labelledby": "nodes-title" }, h("h1", { id: "nodes-title", text: "My nodes" }));
  if (!nodes.length) {
    section.append(
      h("p", { class: "empty", text: "No node is yours yet. The operator makes a node yours when enrolling it: " }, h("code", { text: "inferix admin enroll create --role worker --owner NAME" })),
    );
    return section;
  }
  section.append(...nodes.map(ownedNode));
  return section;
}

document.addEventListener("DOMContentLoaded", start);
