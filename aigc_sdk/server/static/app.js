// The review desk: plain JavaScript over the /v1 API (no framework, no build step).
"use strict";

const STAGES = ["script", "narration", "visuals", "music", "render"];
const FINAL = new Set(["review", "approved", "rejected", "failed", "cancelled"]);
const LIST_POLL_MS = 5000;
const TITLES_KEY = "aigc.titles";
const NARROW = "(max-width: 900px)"; // one column (app.css): the job is below the list

const $ = (id) => document.getElementById(id);
const state = { selected: null, job: null, source: null, filter: "", shownMedia: null };

class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

// ---------------------------------------------------------------------------------------------- the API

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...options });
  } catch (error) {
    throw new ApiError(0, "Offline", "the server does not answer", "check that `aigc serve` is running");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const error = body && body.error ? body.error : {};
    const message = error.message || (typeof body === "string" && body.slice(0, 300)) || response.statusText;
    throw new ApiError(response.status, error.code || `HTTP ${response.status}`, message, error.hint || null);
  }
  return body;
}

const clipPath = (id, rest = "") => `/v1/clips/${encodeURIComponent(id)}${rest}`;
const filePath = (id, name) => clipPath(id, `/files/${encodeURIComponent(name)}`);

// ---------------------------------------------------------------------------------------------- small helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) askForKey();
  else showAlert(error);
}

function showAlert(error) {
  $("alert-title").textContent = error.code || "Error";
  $("alert-message").textContent = error.message || String(error);
  $("alert-hint").textContent = error.hint ? `What to do: ${error.hint}` : "";
  $("alert").hidden = false;
}

function fillError(box, error) {
  box.replaceChildren(
    el("div", {}, el("strong", { text: error.code || "Error" }), " ", error.message || ""),
    ...(error.hint ? [el("div", { class: "hint", text: `What to do: ${error.hint}` })] : []),
  );
  box.hidden = false;
}

const clearError = () => { $("alert").hidden = true; };

function when(seconds) {
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : date.toLocaleString();
}

function titles() {
  try { return JSON.parse(localStorage.getItem(TITLES_KEY) || "{}"); } catch { return {}; }
}

function rememberTitle(id, title) {
  if (!title) return;
  const all = titles();
  all[id] = title.slice(0, 160);
  const ids = Object.keys(all);
  for (const old of ids.slice(0, Math.max(0, ids.length - 500))) delete all[old];
  try { localStorage.setItem(TITLES_KEY, JSON.stringify(all)); } catch { /* private mode: titles stay ids */ }
}

function titleOf(job) {
  return titles()[job.id] || `Clip ${job.id.slice(0, 8)}`;
}

function articleTitle(text) {
  const line = text.split("\n").map((l) => l.replace(/^#+\s*/, "").trim()).find((l) => l.length > 0);
  return line || "";
}

function optionsLine(job) {
  const o = job.options || {};
  const parts = [o.template, o.aspect, o.duration ? `${Math.round(o.duration)} s` : null, o.voice];
  return parts.filter(Boolean).join(" · ");
}

// ---------------------------------------------------------------------------------------------- the key

function askForKey() {
  $("key-form").hidden = false;
  $("server-state").textContent = "needs an API key";
  $("key-form").querySelector("input").focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = event.target.querySelector("input[name=key]");
  try {
    await api("/v1/session", { method: "POST", headers: { "X-API-Key": input.value } });
  } catch (error) {
    showAlert(error.status === 401 ? new ApiError(401, error.code, "that key is not accepted", error.hint) : error);
    return;
  }
  input.value = "";
  $("key-form").hidden = true;
  $("forget-key").hidden = false;
  clearError();
  refreshList();
}

async function forgetKey() {
  await api("/v1/session", { method: "DELETE" }).catch(showError);
  $("forget-key").hidden = true;
  askForKey();
}

// ---------------------------------------------------------------------------------------------- the job list

async function refreshList() {
  let jobs;
  try {
    const query = state.filter ? `?status=${encodeURIComponent(state.filter)}&limit=200` : "?limit=200";
    jobs = await api(`/v1/clips${query}`);
  } catch (error) {
    $("server-state").textContent = error.status === 401 ? "needs an API key" : "not reachable";
    if (error.status === 401 || error.status === 0) showError(error);
    return;
  }
  $("server-state").textContent = `${jobs.filter((j) => !FINAL.has(j.status)).length} in progress`;
  renderList(jobs);
  const selected = jobs.find((j) => j.id === state.selected);
  if (selected && !state.source && selected.updated !== (state.job && state.job.updated)) showJob(selected);
}

function renderList(jobs) {
  const list = $("jobs");
  list.replaceChildren(
    ...jobs.map((job) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", "data-id": job.id, "aria-current": String(job.id === state.selected), onclick: () => select(job.id) },
          el("span", { class: `chip ${job.status}`, text: job.status }),
          el("span", { class: "what" }, el("strong", { text: titleOf(job) }), el("span", { text: `${when(job.created)} · ${optionsLine(job)}` })),
        ),
      ),
    ),
  );
  $("jobs-empty").hidden = jobs.length > 0;
}

// ---------------------------------------------------------------------------------------------- one job

async function select(id) {
  if (state.source) state.source.close();
  state.source = null;
  state.selected = id;
  state.shownMedia = null;
  for (const button of $("jobs").querySelectorAll("button")) button.setAttribute("aria-current", String(button.dataset.id === id));
  let job;
  try {
    job = await api(clipPath(id));
  } catch (error) {
    showError(error);
    return;
  }
  showJob(job);
  if (!FINAL.has(job.status)) follow(id);
  if (window.matchMedia(NARROW).matches) $("job").scrollIntoView({ block: "start" });
}

function follow(id) {
  const source = new EventSource(clipPath(id, "/events"));
  state.source = source;
  source.addEventListener("stage", (message) => {
    if (state.selected !== id) return;
    const event = JSON.parse(message.data);
    state.job.progress[event.step] = event;
    renderStages(state.job);
  });
  source.addEventListener("status", async (message) => {
    if (state.selected !== id) return;
    const event = JSON.parse(message.data);
    setStatus(event.status);
    if (FINAL.has(event.status)) {
      source.close();
      if (state.source === source) state.source = null;
      try {
        showJob(await api(clipPath(id)));
      } catch (error) {
        showError(error);
      }
      refreshList();
    }
  });
  source.onerror = () => {
    // the server closes the stream after the final status; a dropped stream falls back to the list's poll
    if (source.readyState === EventSource.CLOSED && state.source === source) state.source = null;
  };
}

function setStatus(status) {
  const chip = $("job-status");
  chip.textContent = status;
  chip.className = `chip push ${status}`;
}

function showJob(job) {
  state.job = job;
  $("detail-empty").hidden = true;
  $("job").hidden = false;
  $("job-title").textContent = titleOf(job);
  setStatus(job.status);
  const position = job.status === "queued" && job.position ? ` · place ${job.position} in the queue` : "";
  $("job-meta").textContent = `${optionsLine(job)} · made ${when(job.created)}${position} · id ${job.id}`;
  renderStages(job);
  if (job.error) fillError($("job-error"), job.error);
  else $("job-error").hidden = true;
  $("review").hidden = job.status !== "review";
  $("running-actions").hidden = !(job.status === "queued" || job.status === "running");
  renderDecision(job);
  renderFiles(job);
}

function renderStages(job) {
  const steps = [...STAGES, ...Object.keys(job.progress || {}).filter((s) => !STAGES.includes(s))];
  $("stages").replaceChildren(
    ...steps.map((step) => {
      const p = (job.progress || {})[step];
      const status = p ? p.status : "waiting";
      let label = status;
      if (status === "done" && p.seconds != null) label = `done · ${p.seconds.toFixed(1)} s`;
      else if (status === "progress" || status === "started") label = `running ${Math.round((p.fraction || 0) * 100)}%`;
      const full = status === "done" || status === "cached" ? 1 : p ? p.fraction || 0 : 0;
      const bar = el("span");
      bar.style.width = `${Math.round(full * 100)}%`;
      return el(
        "li",
        { class: status, "data-step": step, "data-status": status, title: (p && p.message) || "" },
        el("span", { class: "name", text: step }),
        el("span", { class: "state", text: label }),
        el("div", { class: "meter" }, bar),
      );
    }),
  );
}

function renderDecision(job) {
  const box = $("decision");
  if (job.status === "approved") box.textContent = `Approved ${when(job.updated)}.`;
  else if (job.status === "rejected") box.textContent = `Rejected ${when(job.updated)}${job.reason ? `: ${job.reason}` : "."}`;
  else if (job.status === "cancelled") box.textContent = `Cancelled ${when(job.updated)}.`;
  box.className = `decision ${job.status}`;
  box.hidden = !["approved", "rejected", "cancelled"].includes(job.status);
}

function renderFiles(job) {
  const files = job.files || [];
  $("downloads-box").hidden = files.length === 0;
  $("downloads").replaceChildren(
    ...files.map((name) => el("li", {}, el("a", { href: filePath(job.id, name), download: name, text: name }))),
  );
  const video = files.find((n) => n.endsWith(".mp4"));
  const vtt = files.find((n) => n.endsWith(".vtt"));
  const poster = files.find((n) => n.endsWith(".jpg"));
  const manifest = files.find((n) => n.endsWith(".manifest.json"));
  const key = `${job.id}/${files.join(",")}`;
  if (state.shownMedia === key) return;
  state.shownMedia = key;
  $("player").hidden = !video;
  $("subtitles-box").hidden = !vtt;
  $("manifest-box").hidden = !manifest;
  const player = $("video");
  player.replaceChildren();
  if (video) {
    if (vtt) {
      // burned-in subtitles are already in the frames: the track is there to switch on, not shown twice
      const track = { kind: "subtitles", src: filePath(job.id, vtt), srclang: job.options.language || "en", label: "Subtitles" };
      if (job.options.subtitles === false) track.default = "";
      player.append(el("track", track));
    }
    if (poster) player.poster = filePath(job.id, poster); // the headline card while the clip loads
    else player.removeAttribute("poster");
    player.src = filePath(job.id, video);
  } else {
    player.removeAttribute("poster");
    player.removeAttribute("src");
    player.load();
  }
  if (vtt) loadSubtitles(job.id, vtt);
  if (manifest) loadManifest(job, manifest);
}

// ---------------------------------------------------------------------------------------------- subtitles

function parseVtt(text) {
  const cues = [];
  for (const block of text.replace(/\r/g, "").split(/\n\n+/)) {
    const lines = block.split("\n");
    const at = lines.findIndex((l) => l.includes("-->"));
    if (at < 0) continue;
    const [start, end] = lines[at].split("-->").map((t) => seconds(t.trim().split(/\s+/)[0]));
    cues.push({ start, end, text: lines.slice(at + 1).join(" ").trim() });
  }
  return cues;
}

function seconds(stamp) {
  return stamp.split(":").reduce((total, part) => total * 60 + parseFloat(part), 0);
}

const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

async function loadSubtitles(id, name) {
  let text;
  try {
    text = await api(filePath(id, name));
  } catch (error) {
    showError(error);
    return;
  }
  if (state.selected !== id) return;
  $("subtitles").replaceChildren(
    ...parseVtt(text).map((cue) =>
      el(
        "li",
        { "data-start": cue.start, "data-end": cue.end, onclick: () => { $("video").currentTime = cue.start; $("video").play(); } },
        el("time", { text: clock(cue.start) }),
        el("span", { text: cue.text }),
      ),
    ),
  );
}

function markCue() {
  const now = $("video").currentTime;
  for (const li of $("subtitles").children) {
    li.classList.toggle("now", now >= Number(li.dataset.start) && now < Number(li.dataset.end));
  }
}

// ---------------------------------------------------------------------------------------------- the manifest

async function loadManifest(job, name) {
  let manifest;
  try {
    manifest = await api(filePath(job.id, name));
  } catch (error) {
    showError(error);
    return;
  }
  if (state.selected !== job.id) return;
  const steps = manifest.steps || [];
  const script = (steps.find((s) => s.name === "script") || {}).output || {};
  if (script.headline) {
    rememberTitle(job.id, script.headline);
    $("job-title").textContent = script.headline;
    const item = $("jobs").querySelector(`button[data-id="${CSS.escape(job.id)}"] strong`);
    if (item) item.textContent = script.headline;
  }
  const video = ((manifest.artifacts || {}).video || {}).provenance || {};
  const duration = (video.extra || {}).duration;
  const config = manifest.config || {};
  const facts = [
    ["Headline", script.headline || "—"],
    ["Duration", duration != null ? `${Number(duration).toFixed(1)} s` : "—"],
    ["Language", script.language || config.language || "—"],
    ["Aspect", `${(config.aspects || [config.aspect]).filter(Boolean).join(", ") || "—"} · ${config.resolution || ""}p`],
    ["Credentials", manifest.credentials ? "Signed (C2PA content credentials)" : "Not signed"],
    ["Made", manifest.created_at ? new Date(manifest.created_at).toLocaleString() : "—"],
    ["SDK", manifest.sdk_version || "—"],
  ];
  $("manifest").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v, "data-fact": k.toLowerCase() })]));
  $("manifest").dataset.duration = duration != null ? String(duration) : "";
  const models = new Map();
  for (const step of steps) for (const m of step.models || []) models.set(m.id, m.revision || "");
  $("models").replaceChildren(...[...models].map(([id, rev]) => el("li", { text: rev ? `${id} · ${rev}` : id })));
  const warnings = manifest.license_warnings || [];
  $("licence-warnings").replaceChildren(
    ...(warnings.length
      ? warnings.map((w) => el("li", { text: `⚠ ${w}` }))
      : [el("li", { class: "none", text: "No licence restricts commercial use." })]),
  );
  $("licences").tBodies[0].replaceChildren(
    ...(manifest.licenses || []).map((l) => el("tr", {}, el("td", { text: l.what || "" }), el("td", { text: l.id || "" }), el("td", { text: l.license || "unknown" }))),
  );
}

// ---------------------------------------------------------------------------------------------- actions

async function submitClip(event) {
  event.preventDefault();
  clearError();
  const form = event.target;
  const data = new FormData(form);
  const file = data.get("file");
  const article = String(data.get("article") || "").trim();
  if (!article && !(file && file.size)) {
    showError({ code: "InvalidRequestError", message: "paste an article or choose a file", hint: null });
    return;
  }
  const options = { aspect: data.get("aspect"), duration: Number(data.get("duration")), music: data.has("music"), subtitles: data.has("subtitles") };
  for (const name of ["template", "voice", "captions"]) if (data.get(name)) options[name] = data.get(name);
  let request;
  if (file && file.size) {
    const body = new FormData();
    body.append("file", file, file.name);
    for (const [key, value] of Object.entries(options)) body.append(key, String(value));
    request = { method: "POST", body };
  } else {
    request = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ article, ...options }) };
  }
  $("submit").disabled = true;
  try {
    const job = await api("/v1/clips", request);
    rememberTitle(job.id, file && file.size ? file.name : articleTitle(article));
    form.reset();
    await refreshList();
    await select(job.id);
  } catch (error) {
    showError(error);
  } finally {
    $("submit").disabled = false;
  }
}

async function act(path, body) {
  clearError();
  const id = state.selected;
  const request = { method: path ? "POST" : "DELETE" };
  if (body) Object.assign(request, { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  try {
    showJob(await api(clipPath(id, path), request));
    if (!path) select(id);
    refreshList();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", () => {
  $("new-clip").addEventListener("submit", submitClip);
  $("key-form").addEventListener("submit", signIn);
  $("forget-key").addEventListener("click", forgetKey);
  $("alert-close").addEventListener("click", clearError);
  $("approve").addEventListener("click", () => act("/approve"));
  $("cancel").addEventListener("click", () => act(""));
  $("reject-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("/reject", { reason: event.target.reason.value.trim() });
    event.target.reset();
  });
  $("job-filter").addEventListener("change", (event) => {
    state.filter = event.target.value;
    refreshList();
  });
  $("video").addEventListener("timeupdate", markCue);
  refreshList();
  setInterval(() => { if (!document.hidden && $("key-form").hidden) refreshList(); }, LIST_POLL_MS);
});
