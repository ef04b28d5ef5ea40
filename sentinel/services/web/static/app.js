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
// The desktop Settings' tabs and fields (GET /api/config/form) when the app has them, else every
// key as config.json has it. Validation is the app's own (POST /api/config), shown per field.

const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
              ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const settings = { config: null, fields: [], tabOf: {} };

function get(data, path) { return path.split(".").reduce((node, key) => node == null ? undefined : node[key], data); }

function put(data, path, value) {
  const keys = path.split(".");
  let node = data;
  for (const k of keys.slice(0, -1)) node = node[k] = node[k] && typeof node[k] === "object" ? node[k] : {};
  node[keys[keys.length - 1]] = value;
}

async function loadSettings() {
  const form = clear($("settings-form"));
  $("save-result").textContent = "";
  const [cfg, layout] = await Promise.all([call("GET", "/api/config"), call("GET", "/api/config/form")]);
  if (cfg.status !== 200) { form.appendChild(el("p", "error", errorsText(cfg.data))); return; }
  settings.config = cfg.data;
  settings.fields = [];
  settings.tabOf = {};
  if (layout.status === 200) renderLayout(form, layout.data, cfg.data);
  else for (const [section, values] of Object.entries(cfg.data)) form.appendChild(fieldset(section, values, section));
}

function renderLayout(form, layout, config) {
  const tabs = form.appendChild(el("div", "tabs"));
  tabs.setAttribute("role", "tablist");
  layout.tabs.forEach((tab, index) => {
    const button = tabs.appendChild(el("button", "tab", tab.title));
    button.type = "button";
    button.dataset.tab = index;
    const page = form.appendChild(el("div", "tab-page"));
    page.dataset.tab = index;
    page.hidden = index !== 0;
    button.classList.toggle("active", index === 0);
    button.addEventListener("click", () => showTab(index));
    for (const group of tab.groups) {
      const box = page.appendChild(el("fieldset"));
      box.appendChild(el("legend", "", group.title));
      const grid = box.appendChild(el("div", "fields"));
      for (const f of group.fields) {
        grid.appendChild(layoutField(f, get(config, f.path)));
        settings.tabOf[f.path] = index;
      }
    }
  });
}

function showTab(index) {
  for (const node of document.querySelectorAll("#settings-form .tab")) node.classList.toggle("active", node.dataset.tab == index);
  for (const node of document.querySelectorAll("#settings-form .tab-page")) node.hidden = node.dataset.tab != index;
}

function layoutField(f, value) {
  const wrap = el("div", f.kind === "names" || f.kind === "days" ? "wide" : "");
  let input = null;
  if (f.kind === "bool") {
    input = el("input");
    input.type = "checkbox";
    input.checked = !!value;
    wrap.appendChild(el("label", "check")).append(input, f.label);
  } else {
    const label = wrap.appendChild(el("label", "", f.label));
    label.htmlFor = "f-" + f.path;
    if (f.kind === "days") {
      const days = wrap.appendChild(el("div", "days"));
      for (const [key, name] of DAYS) {
        const day = days.appendChild(el("div"));
        const dayLabel = day.appendChild(el("label", "", name));
        const box = day.appendChild(el("input"));
        box.id = dayLabel.htmlFor = "f-" + f.path + "." + key;
        box.value = value && value[key] !== undefined ? value[key] : "";
        box.dataset.day = key;
      }
      input = days;
    } else if (f.kind === "names") {
      input = el("textarea");
      input.value = Object.entries(value || {}).map(([ip, name]) => ip + " = " + name).join("\n");
    } else if (f.kind === "choice") {
      input = el("select");
      for (const choice of f.choices) input.appendChild(el("option", "", choice)).value = choice;
      input.value = value;
    } else {
      input = el("input");
      input.type = "text";
      if (f.kind === "number") input.inputMode = "decimal";
      input.value = f.kind === "dates" ? (value || []).join(", ") : (value === null || value === undefined ? "" : value);
      if (f.kind === "webhook") input.placeholder = "https://discord.com/api/webhooks/...";
    }
    wrap.appendChild(input);
  }
  input.id = input.id || "f-" + f.path;
  if (f.hint) wrap.appendChild(el("div", "hint", f.hint));
  wrap.appendChild(el("div", "field-error")).id = "e-" + f.path;
  settings.fields.push({ f, input });
  return wrap;
}

function fieldValue({ f, input }) {
  if (f.kind === "bool") return input.checked;
  if (f.kind === "days") {
    const out = {};
    for (const box of input.querySelectorAll("input")) out[box.dataset.day] = box.value.trim();
    return out;
  }
  if (f.kind === "names") {
    const out = {};
    for (const line of input.value.split("\n")) {
      if (!line.trim()) continue;
      const [ip, ...rest] = line.split("=");  // a line without "=" stays a key, so validation names it
      out[ip.trim()] = rest.length ? rest.join("=").trim() : "";
    }
    return out;
  }
  if (f.kind === "dates") return input.value.split(",").map(d => d.trim()).filter(Boolean);
  if (f.kind === "number") {
    const text = input.value.trim();
    return text !== "" && !isNaN(Number(text)) ? Number(text) : text;
  }
  return input.value;
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
    const kind = typeof value === "boolean" ? "bool" : typeof value === "number" ? "number" :
      value !== null && typeof value === "object" ? "json" : "text";
    if (kind === "json") {
      const wrap = grid.appendChild(el("div"));
      wrap.appendChild(el("label", "", key.replace(/_/g, " "))).htmlFor = "f-" + sub;
      const input = wrap.appendChild(el("textarea"));
      input.id = "f-" + sub;
      input.value = JSON.stringify(value, null, 1);
      wrap.appendChild(el("div", "field-error")).id = "e-" + sub;
      settings.fields.push({ f: { path: sub, kind: "json" }, input });
    } else {
      grid.appendChild(layoutField({ path: sub, label: key.replace(/_/g, " "), kind, hint: "" }, value));
    }
  }
  return box;
}

function collect() {
  const out = JSON.parse(JSON.stringify(settings.config));
  const local = [];
  for (const field of settings.fields) {
    let value;
    if (field.f.kind === "json") {
      try { value = JSON.parse(field.input.value); }
      catch (e) { local.push({ path: field.f.path, message: "is not valid JSON", plain: "This is not valid JSON." }); continue; }
    } else value = fieldValue(field);
    put(out, field.f.path, value);
  }
  return { config: out, local };
}

function slotFor(path) {  // a day's hours belong to the "Hours" field
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const slot = $("e-" + p);
    if (slot) return { slot, path: p };
  }
  return null;
}

function showFieldErrors(errors) {
  for (const node of document.querySelectorAll(".field-error")) node.textContent = "";
  const general = [];
  let firstTab = null;
  for (const e of errors) {
    const found = slotFor(e.path);
    const text = e.plain || e.message;
    if (!found) { general.push((e.path || "config") + ": " + text); continue; }
    found.slot.textContent = found.slot.textContent ? found.slot.textContent + " " + text : text;
    if (firstTab === null && settings.tabOf[found.path] !== undefined) firstTab = settings.tabOf[found.path];
  }
  if (firstTab !== null) showTab(firstTab);
  return general;
}

$("save").addEventListener("click", async () => {
  const result = $("save-result");
  const { config, local } = collect();
  if (local.length) { showFieldErrors(local); result.textContent = "Fix the fields marked in red."; return; }
  result.textContent = "Saving...";
  const { status, data } = await call("POST", "/api/config", config);
  if (status === 200) {
    showFieldErrors([]);
    settings.config = data;
    result.textContent = "Saved. The monitor applies it within seconds; the previous file was kept as a backup.";
  } else {
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
