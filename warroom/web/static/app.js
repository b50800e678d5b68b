// warroom serve: live updates for the server-rendered page.
// The page is complete without this script. Here we follow /events (Server-Sent Events) and
// rebuild the same elements the server rendered. Text from the record only ever reaches the
// DOM through textContent or createElement; chart markup comes from the server, built from
// numbers only, and is parsed as SVG (XML), never assigned to innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  let started = Date.parse(body.dataset.started);
  let resolved = body.dataset.resolved ? Date.parse(body.dataset.resolved) : null;
  // Server clock minus ours, so T+ matches the responders' clock even if this laptop's drifts.
  let skew = body.dataset.now ? Date.parse(body.dataset.now) - Date.now() : 0;
  let header = null;
  let entries = null;
  let figures = null;
  let kindFilter = new URLSearchParams(location.search).get("kind") || "";
  // Several servers: the page has the servers strip and a row of charts per server instead of
  // the one server's cards (the server decides; see web/page.py).
  const serversMode = body.dataset.servers !== undefined;
  const staleAfterMs = Number(body.dataset.staleAfter || 30) * 1000;

  function pad(n) { return String(n).padStart(2, "0"); }

  function offset(ms) {
    const sign = ms < 0 ? "-" : "+";
    let s = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    return "T" + sign + pad(h) + ":" + pad(m) + ":" + pad(s);
  }

  function duration(ms) {
    let s = Math.floor(Math.max(ms, 0) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const parts = [];
    if (d) parts.push(d + "d");
    if (h) parts.push(h + "h");
    if (m) parts.push(m + "m");
    if (s && !d && !h) parts.push(s + "s");
    return parts.length ? parts.join(" ") : "0s";
  }

  function utcStamp(ms) {
    const t = new Date(ms);
    return t.getUTCFullYear() + "-" + pad(t.getUTCMonth() + 1) + "-" + pad(t.getUTCDate()) +
      " " + pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()) + ":" + pad(t.getUTCSeconds()) +
      " UTC";
  }

  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // -- the clock and everything that ticks --------------------------------------------------

  function tick() {
    const now = Date.now() + skew;
    setText("clock", offset((resolved !== null ? resolved : now) - started));
    if (header) {
      for (const d of header.durations) {
        if (d.ongoing && resolved === null) setText("dur-" + d.name, duration(now - started) + " so far");
      }
    }
    const asOf = $("as-of");
    if (serversMode) {
      tickServers(now);
    } else if (figures && figures.current.as_of) {
      const at = Date.parse(figures.current.as_of);
      const age = now - at;
      let text = "as of " + utcStamp(at);
      if (figures.current.status && figures.current.status !== "up") text += " (database " + figures.current.status + ")";
      if (age > 30000 && resolved === null) text += " · " + duration(age) + " old";
      setText("as-of", text);
    } else if (asOf && figures) {
      setText("as-of", "no samples recorded yet");
    }
  }

  // -- header --------------------------------------------------------------------------------

  function renderHeader(h) {
    header = h;
    started = Date.parse(h.started_at);
    resolved = h.resolved_at ? Date.parse(h.resolved_at) : null;
    setText("title", h.title);
    const sev = $("severity");
    sev.textContent = h.severity;
    sev.className = "badge sev sev-" + h.severity;
    const status = $("status");
    status.textContent = h.status;
    status.className = "badge status status-" + h.status;
    setText("incident-id", h.id);
    document.title = h.severity + " " + h.status + ": " + h.title;
    prose("summary", h.summary, "no summary yet");
    prose("impact", h.impact, "no impact statement yet");
    for (const t of h.times) setText("time-" + t.name, t.text);
    for (const d of h.durations) {
      setText("dur-" + d.name, d.text);
      const dd = $("dur-" + d.name);
      if (dd) dd.classList.toggle("ongoing", d.ongoing);
    }
    const problem = $("problem");
    problem.hidden = !h.problem;
    problem.textContent = h.problem || "";
    tick();
  }

  function prose(id, text, empty) {
    const p = $(id);
    if (text) {
      p.textContent = text;
    } else {
      p.replaceChildren(el("span", "none", empty));
    }
  }

  // -- timeline ------------------------------------------------------------------------------

  function fold(list) {
    // Same rule as the server (warroom/web/view.py fold): runs of 2+ alerts fold together.
    const out = [];
    let run = [];
    const flush = () => {
      if (run.length > 1) out.push(run); else if (run.length === 1) out.push(run[0]);
      run = [];
    };
    for (const e of list) {
      if (e.kind === "alert") { run.push(e); continue; }
      flush();
      out.push(e);
    }
    flush();
    return out;
  }

  // Entry nodes are reused while their entry is unchanged: in hour 8 a new note then costs one
  // new node, not two thousand.
  let nodes = new Map();
  let nextNodes = new Map();

  function entryNode(e) {
    const key = [e.id, e.at, e.offset, e.kind, e.author, e.text].join("\u0000");
    const li = (!nextNodes.has(key) && nodes.get(key)) || buildEntry(e);
    nextNodes.set(key, li);
    return li;
  }

  function buildEntry(e) {
    const li = el("li", "entry kind-" + e.kind);
    li.dataset.kind = e.kind;
    const when = el("span", "when");
    const time = el("time", null, e.time);
    time.setAttribute("datetime", e.at);
    when.append(time, " ", el("span", "offset", e.offset));
    li.append(when, " ", el("span", "kind", e.kind), " ");
    if (e.author) {
      const author = el("span", "author", e.author);
      author.title = e.author;  // shown in full on hover when the column cuts it short
      li.append(author, " ");
    }
    li.append(el("span", "text", e.text));
    return li;
  }

  function groupNode(run) {
    const li = el("li", "fold");
    const details = el("details");
    const summary = el("summary", null,
      run.length + " alerts, " + run[run.length - 1].time + " to " + run[0].time);
    const ol = el("ol", "folded");
    for (const e of run) ol.append(entryNode(e));
    details.append(summary, ol);
    li.append(details);
    return li;
  }

  function renderTimeline() {
    if (!entries) return;
    const shown = kindFilter ? entries.filter((e) => e.kind === kindFilter) : entries;
    const items = fold(shown);
    nextNodes = new Map();
    const list = items.map((item) => Array.isArray(item) ? groupNode(item) : entryNode(item));
    nodes = nextNodes;
    if (!list.length) list.push(el("li", "none", "no entries"));
    // Keep open folds open across updates.
    const open = new Set();
    for (const d of $("timeline").querySelectorAll("details[open] time")) open.add(d.getAttribute("datetime"));
    for (const n of list) {
      const d = n.querySelector && n.querySelector("details");
      if (d && [...d.querySelectorAll("time")].some((t) => open.has(t.getAttribute("datetime")))) d.open = true;
    }
    $("timeline").replaceChildren(...list);
  }

  function setupFilter() {
    const form = $("filter");
    const select = $("kind");
    const go = $("filter-go");
    if (!form || !select) return;
    if (go) go.hidden = true;  // with the script the choice applies at once
    select.value = kindFilter;
    select.addEventListener("change", () => {
      kindFilter = select.value;
      const url = new URL(location.href);
      if (kindFilter) url.searchParams.set("kind", kindFilter); else url.searchParams.delete("kind");
      history.replaceState(null, "", url.pathname + url.search);
      renderTimeline();
    });
    form.addEventListener("submit", (ev) => ev.preventDefault());
  }

  // -- figures -------------------------------------------------------------------------------

  function num(value, unit) {
    if (value === null || value === undefined) return "—";
    let text;
    if (Number.isInteger(value)) text = String(value);
    else text = value >= 100 ? value.toFixed(0) : value.toFixed(1);
    return text + (unit || "");
  }

  function replaceChart(id, markup) {
    const box = $(id);
    if (!box) return;
    const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    const svg = doc.documentElement;
    if (!svg || svg.nodeName !== "svg") return;  // a parse error document: keep the old chart
    box.replaceChildren(document.importNode(svg, true));
  }

  // -- several servers -------------------------------------------------------------------

  // The same rule as the server (warroom/web/view.py server_state).
  function serverState(status, until, now) {
    if (!until) return "stale";
    if (resolved === null && now - Date.parse(until) > staleAfterMs) return "stale";
    if (status === "down") return "DOWN";
    return status === "partial" ? "partial" : "up";
  }

  function tickServers(now) {
    for (const tr of document.querySelectorAll("#servers-rows tr.server")) {
      const state = serverState(tr.dataset.status, tr.dataset.until, now);
      const cell = tr.querySelector("td.state");
      if (cell && cell.textContent !== state) cell.textContent = state;
      const cls = "server state-" + state;
      if (tr.className !== cls) tr.className = cls;
    }
    if (!figures || !figures.as_of) return;
    const at = Date.parse(figures.as_of);
    let text = "as of " + utcStamp(at);
    if (now - at > 30000 && resolved === null) text += " · " + duration(now - at) + " old";
    setText("as-of", text);
  }

  // Header labels of the strip, read once from the server's table so they are said once.
  function stripLabels() {
    return [...document.querySelectorAll("#servers thead th")].map((th) => th.textContent);
  }

  function serverRow(s, i, labels, now) {
    const tr = el("tr");
    tr.id = "server-" + i;
    tr.dataset.status = s.status;
    tr.dataset.until = s.until || "";
    const conn = (s.connections === null ? "—" : String(s.connections)) + " / " +
      (s.usable === null ? "—" : String(s.usable)) +
      (s.saturation === null ? "" : " (" + s.saturation + "%)");
    const lag = (s.lag || "—") + (s.repl_state ? " (" + s.repl_state + ")" : "");
    const state = serverState(s.status, s.until, now);
    tr.className = "server state-" + state;
    const cells = [["name", s.name], ["roles", s.roles], ["conn", conn],
      ["p95", num(s.p95_ms, " ms")], ["lag", lag], ["state", state]];
    cells.forEach(([cls, text], k) => {
      const td = el("td", cls, text);
      if (cls !== "name" && labels[k]) td.dataset.label = labels[k];
      tr.append(td);
    });
    return tr;
  }

  function chartBlock(i) {
    // A server new since the page was drawn: its row of charts copies the first one's layout.
    let block = $("server-charts-" + i);
    if (block) return block;
    const first = $("server-charts-0");
    if (!first) return null;
    block = first.cloneNode(true);
    block.id = "server-charts-" + i;
    for (const box of block.querySelectorAll(".chart-box")) {
      box.id = box.id.replace(/^chart-0-/, "chart-" + i + "-");
      box.replaceChildren();
    }
    $("multiples").append(block);
    return block;
  }

  function renderServers(f) {
    const now = Date.now() + skew;
    const labels = stripLabels();
    $("servers-rows").replaceChildren(...f.servers.map((s, i) => serverRow(s, i, labels, now)));
    f.servers.forEach((s, i) => {
      const block = chartBlock(i);
      if (!block) return;
      const name = block.querySelector(".server-name");
      if (name && name.textContent !== s.name) name.textContent = s.name;
      for (const [chart, markup] of Object.entries(s.charts)) replaceChart("chart-" + i + "-" + chart, markup);
    });
    for (const extra of [...document.querySelectorAll("#multiples > .server-charts")].slice(f.servers.length)) extra.remove();
    tick();
  }

  function renderFigures(f) {
    if (Boolean(f.servers) !== serversMode) {
      // The record went from one server to several (or back): the server draws the new layout.
      location.reload();
      return;
    }
    figures = f;
    if (serversMode) {
      renderServers(f);
      return;
    }
    const c = f.current;
    setText("fig-connections", c.connections === null ? "—" : String(c.connections));
    setText("fig-usable", c.usable === null ? "—" : String(c.usable));
    setText("fig-saturation", c.saturation === null ? "" : c.saturation + "% of usable slots");
    setText("fig-p95", num(c.p95_ms, " ms"));
    setText("fig-refused", num(c.refused_1m));
    const apps = $("apps");
    apps.replaceChildren(...c.apps.map((a) => {
      const li = el("li");
      li.append(el("span", "app", a.name), " ", el("span", "count", num(a.count)));
      return li;
    }));
    replaceChart("chart-connections", f.charts.connections);
    replaceChart("chart-latency", f.charts.latency);
    replaceChart("chart-refusals", f.charts.refusals);
    tick();
  }

  // -- the event stream ----------------------------------------------------------------------

  function live(state) {
    const badge = $("live");
    badge.hidden = false;
    badge.className = "live live-" + state;
    badge.textContent = state === "on" ? "live" : "reconnecting…";
  }

  let source = null;
  let retry = null;

  function connect() {
    if (retry) { clearTimeout(retry); retry = null; }
    source = new EventSource("/events");
    source.addEventListener("open", () => live("on"));
    source.addEventListener("error", () => {
      live("off");
      // EventSource retries by itself unless the answer was not a stream (a proxy's 502 while
      // the server restarts, say); then it gives up, and we start a new one.
      if (source.readyState === EventSource.CLOSED && !retry) retry = setTimeout(connect, 2000);
    });
    source.addEventListener("header", (ev) => renderHeader(JSON.parse(ev.data)));
    source.addEventListener("timeline", (ev) => {
      entries = JSON.parse(ev.data).entries;
      renderTimeline();
    });
    source.addEventListener("figures", (ev) => renderFigures(JSON.parse(ev.data)));
    source.addEventListener("clock", (ev) => {
      skew = Date.parse(JSON.parse(ev.data).now) - Date.now();
      tick();
    });
  }

  // Print what is folded too: open every fold for the printout, close them again after.
  window.addEventListener("beforeprint", () => {
    for (const d of document.querySelectorAll("details:not([open])")) { d.open = true; d.dataset.printOpened = "1"; }
  });
  window.addEventListener("afterprint", () => {
    for (const d of document.querySelectorAll("details[data-print-opened]")) { d.open = false; delete d.dataset.printOpened; }
  });

  setupFilter();
  tick();
  setInterval(tick, 1000);
  connect();
})();
