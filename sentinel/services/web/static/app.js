// CafeSentinel dashboard: no framework, no build step. Data arrives as server-sent events
// (/events, one JSON picture per change); EventSource reconnects by itself and sends
// Last-Event-ID. Every text from the server is set with textContent, never as HTML.
"use strict";

const state = { csrf: null, source: null, view: "dashboard", picture: null };
const FREE_FORM = new Set(["monitor_settings.pc_names", "schedule_settings.days", "schedule_settings.closed_dates"]);
const WORDS = { up: "Up", failing: "Failing", down: "Down", unknown: "Unknown", unconfigured: "Not set" };

function $(id) { return document.getElementById(id); }

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const resp = await fetch(path, { method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401 && path !== "/api/login") showLogin();
  return { status: resp.status, data };
}

function errorsText(data) {
  return data && data.errors ? data.errors.map(e => (e.path ? e.path + ": " : "") + e.message).join("; ") : "error";
}

// -- views -------------------------------------------------------------------------------

function show(view) {
  state.view = view;
  for (const id of ["login", "dashboard", "settings", "logs"]) $(id).hidden = id !== view;
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.view === view);
  if (view === "settings") loadSettings();
  if (view === "logs") loadLogs();
}

function route() {
  if (!state.csrf) return;
  const view = location.hash.replace("#", "") || "dashboard";
  show(["settings", "logs"].includes(view) ? view : "dashboard");
}

function showLogin() {
  state.csrf = null;
  if (state.source) { state.source.close(); state.source = null; }
  $("nav").hidden = true;
  $("live").hidden = true;
  show("login");
  $("password").focus();
}

function loggedIn(csrf) {
  state.csrf = csrf;
  $("nav").hidden = false;
  connect();
  route();
}

async function start() {
  const { data } = await call("GET", "/api/session");
  if (data && data.logged_in) loggedIn(data.csrf);
  else showLogin();
  if (data && !data.login_available) $("login-error").textContent =
    "No admin password is set up on the cafe PC yet: finish the setup there first.";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { status, data } = await call("POST", "/api/login", { password: $("password").value });
  $("password").value = "";
  if (status === 200) { $("login-error").textContent = ""; loggedIn(data.csrf); }
  else $("login-error").textContent = errorsText(data);
});

$("logout").addEventListener("click", async () => { await call("POST", "/api/logout", {}); showLogin(); });
window.addEventListener("hashchange", route);

// -- live picture ------------------------------------------------------------------------

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource("/events");
  state.source = source;
  source.onopen = () => { $("live").hidden = true; };
  source.onmessage = (event) => {
    $("live").hidden = true;
    state.picture = JSON.parse(event.data);
    render(state.picture);
  };
  source.onerror = async () => {
    if (source.readyState === EventSource.CLOSED) {  // refused (e.g. logged out): ask the session
      const { data } = await call("GET", "/api/session");
      if (data && data.logged_in) setTimeout(connect, 2000); else showLogin();
      return;
    }
    $("live").textContent = "Connection lost - reconnecting...";
    $("live").hidden = false;
  };
}

function render(p) {
  $("shop").textContent = p.shop || "CafeSentinel";
  document.title = (p.shop || "CafeSentinel") + " - CafeSentinel";
  const m = p.monitor;
  renderProblems(p.config_errors || []);
  $("privacy").hidden = !p.privacy_mode;
  $("privacy").textContent = p.privacy_mode ? "Privacy mode is on until " + p.privacy_until + ": no screenshots." : "";
  renderInfra(m);
  renderToday(p.today);
  renderPcs(m);
  renderIncidents(p.incidents || []);
  renderDiscord(p.discord || {});
  $("updated").textContent = m ? "Updated " + m.at + (p.version ? " - CafeSentinel " + p.version : "") : "Waiting for the monitor...";
}

function renderProblems(problems) {
  const box = $("problems");
  box.hidden = problems.length === 0;
  clear(box);
  if (!problems.length) return;
  box.appendChild(el("strong", "", "config.json has problems; the last good config stays in force:"));
  const list = box.appendChild(el("ul"));
  for (const pr of problems) list.appendChild(el("li", "", (pr.path || "(file)") + ": " + pr.message));
}

function renderInfra(m) {
  const box = clear($("infra"));
  let worst = "unknown";
  if (!m) { box.appendChild(el("p", "muted", "No reading yet.")); }
  else if (!m.configured) { box.appendChild(el("p", "muted", "No targets set: nothing is pinged yet.")); }
  else {
    const rank = { up: 1, unknown: 2, unconfigured: 0, failing: 3, down: 4 };
    worst = "up";
    for (const t of m.targets) {
      const row = box.appendChild(el("div", "row " + t.state));
      row.dataset.component = t.component.toLowerCase();
      row.appendChild(el("span", "dot " + t.state));
      const who = row.appendChild(el("div"));
      who.appendChild(el("div", "name", t.component));
      who.appendChild(el("div", "addr", t.address || "not set"));
      const st = row.appendChild(el("div", "state"));
      st.appendChild(el("div", "word", WORDS[t.state] || t.state));
      const extra = [];
      if (t.latency_ms !== null && t.state === "up") extra.push(t.latency_ms.toFixed(1) + " ms");
      if (t.since) extra.push("since " + short(t.since, m.at));
      st.appendChild(el("div", "since", extra.join(" - ")));
      if ((rank[t.state] || 0) > (rank[worst] || 0)) worst = t.state;
    }
  }
  $("overall").className = "dot " + worst;
  $("link").textContent = m && !m.lan_link_up ? "This PC's own network link is DOWN." :
    (m && m.occupancy_frozen ? "Occupancy is frozen while the network is failing." : "");
}

function renderToday(today) {
  const box = clear($("timeline"));
  if (!today || !today.components || !today.components.length || !today.day_start_wall) {
    box.appendChild(el("p", "muted small", "Nothing watched today yet."));
    $("uptime").textContent = "";
    return;
  }
  const start = today.day_start_wall, span = today.day_end_wall - today.day_start_wall;
  for (const c of today.components) {
    const line = box.appendChild(el("div", "tl"));
    line.dataset.component = c.component;
    line.appendChild(el("span", "", c.label));
    const track = line.appendChild(el("div", "track"));
    track.title = c.blips ? c.blips + " blip(s)" : "";
    for (const [from, to, health] of c.segments) {
      const seg = track.appendChild(el("span", "seg " + (health === "unconfigured" ? "unknown" : health)));
      seg.style.left = (100 * (from - start) / span) + "%";
      seg.style.width = (100 * Math.max(to - from, 0) / span) + "%";
    }
    line.appendChild(el("span", "pct", c.uptime_percent === null ? "-" : c.uptime_percent.toFixed(1) + "%"));
  }
  const internet = today.components.find(c => c.component === "internet");
  $("uptime").textContent = internet && internet.uptime_percent !== null ?
    "internet " + internet.uptime_percent.toFixed(2) + "% up" : "";
}

function renderPcs(m) {
  const box = clear($("pcs"));
  if (!m) return;
  $("pc-count").textContent = m.pcs_in_session + " of " + m.pcs_total + " in session";
  for (const pc of m.pcs) {
    const tile = box.appendChild(el("div", "tile " + pc.state));
    tile.dataset.ip = pc.ip;
    const name = tile.appendChild(el("div", "pc", pc.name));
    if (pc.seen_by && pc.state !== "off") name.appendChild(el("span", "badge", pc.seen_by === "arp" ? "ARP" : "ping"));
    tile.title = pc.ip;
    const word = pc.state === "in_session" ? "since " + clock(pc.since) : pc.state === "seen" ? "just seen" :
      (pc.since ? "last " + clock(pc.since) : "off");
    tile.appendChild(el("div", "info", word));
  }
}

function clock(stamp) { return stamp ? stamp.slice(11, 16) : ""; }

// "14:02" for a time on the picture's own day, "2026-11-30 14:02" for another day.
function short(stamp, at) {
  if (!stamp) return "";
  return at && stamp.slice(0, 10) === at.slice(0, 10) ? stamp.slice(11, 16) : stamp.slice(0, 16);
}

function renderIncidents(rows) {
  const box = clear($("incidents"));
  if (!rows.length) { box.appendChild(el("li", "muted", "No incidents recorded.")); return; }
  for (const r of rows) {
    const li = box.appendChild(el("li"));
    const left = li.appendChild(el("span"));
    left.appendChild(el("strong", "", r.component + " "));
    left.appendChild(el("span", "muted", short(r.start, state.picture && state.picture.monitor && state.picture.monitor.at)));
    li.appendChild(r.ongoing ? el("span", "tag", "ongoing") : el("span", "tag ok", r.duration));
  }
}

function renderDiscord(d) {
  const box = clear($("discord"));
  const backlog = d.backlog || {};
  const kinds = Object.keys(backlog);
  const waiting = kinds.reduce((n, k) => n + backlog[k], 0);
  box.appendChild(el("div", "kv")).append(el("span", "", "Waiting to be sent"), el("strong", "", waiting));
  for (const k of kinds) if (backlog[k]) box.appendChild(el("div", "kv small")).append(el("span", "", k), el("span", "", backlog[k]));
  for (const k of d.dead_webhooks || []) box.appendChild(el("p", "error", "The " + k + " webhook was refused by Discord (deleted?)."));
}

// -- settings ------------------------------------------------------------------------------

async function loadSettings() {
  const form = clear($("settings-form"));
  $("save-result").textContent = "";
  const { status, data } = await call("GET", "/api/config");
  if (status !== 200) { form.appendChild(el("p", "error", errorsText(data))); return; }
  for (const [section, values] of Object.entries(data)) form.appendChild(fieldset(section, values, section));
}

function fieldset(title, values, path) {
  const box = el("fieldset");
  box.appendChild(el("legend", "", title.replace(/_/g, " ")));
  const grid = box.appendChild(el("div", "fields"));
  for (const [key, value] of Object.entries(values)) {
    const sub = path + "." + key;
    if (value && typeof value === "object" && !Array.isArray(value) && !FREE_FORM.has(sub)) {
      grid.appendChild(fieldset(key, value, sub));
      continue;
    }
    grid.appendChild(field(key, value, sub));
  }
  return box;
}

function field(key, value, path) {
  const wrap = el("div");
  const title = key.replace(/_/g, " ");
  let input;
  if (typeof value === "boolean") {
    input = el("input");
    input.type = "checkbox";
    input.checked = value;
    wrap.appendChild(el("label", "check")).append(input, title);
  } else {
    if (value !== null && typeof value === "object") {
      input = el("textarea");
      input.value = JSON.stringify(value, null, 1);
      input.dataset.kind = "json";
    } else {
      input = el("input");
      input.type = typeof value === "number" ? "number" : "text";
      if (typeof value === "number") { input.step = "any"; input.dataset.kind = "number"; }
      input.value = value;
    }
    const label = wrap.appendChild(el("label", "", title));
    label.htmlFor = "f-" + path;
    wrap.appendChild(input);
  }
  input.id = "f-" + path;
  input.dataset.path = path;
  wrap.appendChild(el("div", "field-error")).id = "e-" + path;
  return wrap;
}

function collect() {
  const out = {}, local = [];
  for (const input of document.querySelectorAll("#settings-form [data-path]")) {
    const keys = input.dataset.path.split(".");
    let node = out;
    for (const k of keys.slice(0, -1)) node = node[k] = node[k] || {};
    let value = input.type === "checkbox" ? input.checked : input.value;
    if (input.dataset.kind === "number" && value.trim() !== "" && !isNaN(Number(value))) value = Number(value);
    if (input.dataset.kind === "json") {
      try { value = JSON.parse(value); } catch (e) { local.push({ path: input.dataset.path, message: "is not valid JSON" }); }
    }
    node[keys[keys.length - 1]] = value;
  }
  return { config: out, local };
}

function showFieldErrors(errors) {
  for (const node of document.querySelectorAll(".field-error")) node.textContent = "";
  const general = [];
  for (const e of errors) {
    const slot = $("e-" + e.path);
    if (slot) slot.textContent = e.message; else general.push((e.path || "config") + ": " + e.message);
  }
  return general;
}

$("save").addEventListener("click", async () => {
  const result = $("save-result");
  const { config, local } = collect();
  if (local.length) { showFieldErrors(local); result.textContent = "Fix the fields marked in red."; return; }
  result.textContent = "Saving...";
  const { status, data } = await call("POST", "/api/config", config);
  if (status === 200) { showFieldErrors([]); result.textContent = "Saved. The monitor applies it within seconds."; }
  else {
    const general = showFieldErrors((data && data.errors) || []);
    result.textContent = "Not saved: " + (general.length ? general.join("; ") : "fix the fields marked in red.");
  }
});

// -- log viewer ----------------------------------------------------------------------------

async function loadLogs() {
  const { status, data } = await call("GET", "/api/logs?lines=" + $("log-lines").value);
  $("log-text").textContent = status === 200 ? (data.lines.join("\n") || "(the log is empty)") : errorsText(data);
  const pre = $("log-text");
  pre.scrollTop = pre.scrollHeight;
}

$("log-refresh").addEventListener("click", loadLogs);
$("log-lines").addEventListener("change", loadLogs);

start();
