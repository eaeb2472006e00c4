// The live page: polls the read API (GET /signals every second) and the local /ui endpoints; renders
// with DOM nodes and textContent only, so tickers, reasons and details from alerts are never parsed as HTML.
"use strict";

(() => {
  const FEED_MS = 1000;
  const STATE_MS = 2000;
  const SUMMARY_MS = 2000;
  const PORTFOLIO_MS = 3000;
  const STATUSES = ["RECEIVED", "ENQUEUED", "SIZED", "QUEUED", "SUBMITTED", "FILLED", "COMPLETED", "REJECTED", "ENTRY_NOT_FILLED"];
  const STATES = ["ACTIVE", "REDUCING", "HALTED"];
  const TICKER = /^[A-Z0-9.-]{1,12}$/;
  const COLORS = {
    RECEIVED: "#90cdf4", ENQUEUED: "#63b3ed", SIZED: "#4299e1", QUEUED: "#6b46c1",
    SUBMITTED: "#2b6cb0", FILLED: "#1f8a4c", COMPLETED: "#68d391", REJECTED: "#c0392b", ENTRY_NOT_FILLED: "#b7791f",
  };

  const $ = (id) => document.getElementById(id);
  const seen = new Map(); // signal_id -> status shown
  const equitySamples = { x: [], y: [] };
  const drawn = new Map(); // chart id -> JSON of what it shows (redraw only on change)
  let selected = null;
  let feedLoaded = false;

  // The operator token arrives in the URL fragment (`tradepipe local` prints the address with it), which the
  // browser never sends anywhere; it is kept for this tab only and sent as a header on every API request.
  const TOKEN_KEY = "tradepipe-operator-token";
  (() => {
    const found = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (found) {
      window.sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(found[1]));
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  })();
  const operatorToken = () => window.sessionStorage.getItem(TOKEN_KEY) || "";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function badge(text, className) {
    return el("span", "badge " + className, text);
  }

  // Class names come from fixed lists, never from data.
  const statusClass = (s) => (STATUSES.includes(s) ? "st-" + s.toLowerCase() : "st-other");
  const modeClass = (m) => (m === "live" ? "mode-live" : "mode-paper");
  const sideClass = (s) => (s === "BUY" || s === "SELL" ? "side-" + s : "");

  function clock(iso) {
    const at = new Date(iso);
    return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour12: false });
  }

  function plain(text) {
    // Plotly reads a few HTML-like tags in labels; symbols come from the broker, but keep them inert.
    return String(text).replace(/[<>&]/g, "");
  }

  async function api(path, options) {
    const headers = { Accept: "application/json", "X-Tradepipe-Token": operatorToken() };
    if (options && options.headers) Object.assign(headers, options.headers);
    const response = await fetch(path, Object.assign({ cache: "no-store" }, options, { headers }));
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && body.errors ? body.errors.map((e) => e.field + ": " + e.message).join("; ") : response.status;
      throw new Error(String(message));
    }
    return body;
  }

  function connected(ok, what) {
    const conn = $("conn");
    conn.classList.toggle("down", !ok);
    conn.textContent = ok ? "live · updated " + new Date().toLocaleTimeString([], { hour12: false })
      : "cannot reach the local API (" + what + "): retrying";
  }

  function every(ms, task) {
    // Chained timeouts: a slow answer never piles up requests behind it.
    const run = async () => {
      try {
        await task();
      } finally {
        window.setTimeout(run, ms);
      }
    };
    run();
  }

  // --- feed -------------------------------------------------------------------------------------------

  function feedQuery() {
    const params = new URLSearchParams({ limit: "50" });
    const mode = $("f-mode").value;
    const status = $("f-status").value;
    const ticker = $("f-ticker").value.trim().toUpperCase();
    if (mode) params.set("mode", mode);
    if (status) params.set("status", status);
    $("filter-hint").textContent = ticker && !TICKER.test(ticker) ? "ticker: letters, digits, . or -" : "";
    if (ticker && TICKER.test(ticker)) params.set("ticker", ticker);
    return "/signals?" + params.toString();
  }

  function size(item) {
    if (item.filled_qty) return item.filled_qty + " @ " + item.filled_avg_price;
    return item.qty || "–";
  }

  function reason(item) {
    if (!item.reject_reason) return "";
    return item.reject_detail ? item.reject_reason + ": " + item.reject_detail : item.reject_reason;
  }

  function row(item) {
    const tr = el("tr");
    tr.dataset.signalId = item.signal_id;
    tr.dataset.status = item.status;
    if (feedLoaded && !seen.has(item.signal_id)) tr.classList.add("fresh");
    if (item.signal_id === selected) tr.classList.add("selected");
    const time = el("td", "mono", clock(item.received_at));
    time.title = item.received_at;
    const side = el("td", sideClass(item.side), item.side || item.action || "");
    const status = el("td");
    status.append(badge(item.status, statusClass(item.status)));
    const why = el("td", "reason", reason(item));
    const mode = el("td");
    if (item.mode) mode.append(badge(item.mode, modeClass(item.mode)));
    tr.append(time, el("td", "", item.ticker || "?"), side, el("td", "", size(item)), status, why, mode);
    tr.addEventListener("click", () => openTrail(item.signal_id));
    return tr;
  }

  async function refreshFeed() {
    let page;
    try {
      page = await api(feedQuery());
    } catch (error) {
      connected(false, error.message);
      return;
    }
    connected(true);
    $("signal-rows").replaceChildren(...page.items.map(row));
    $("feed-empty").hidden = page.items.length > 0;
    let selectedChanged = false;
    for (const item of page.items) {
      if (item.signal_id === selected && seen.get(item.signal_id) !== item.status) selectedChanged = true;
      seen.set(item.signal_id, item.status);
    }
    feedLoaded = true;
    if (selectedChanged) openTrail(selected);
  }

  // --- trail ------------------------------------------------------------------------------------------

  function orderRow(order) {
    const fill = order.filled_qty ? order.filled_qty + " @ " + order.filled_avg_price : order.reject_code || "";
    const cells = [order.client_order_id + " (" + order.purpose + ")", order.broker_order_id || "–",
      order.side, order.qty, order.status, fill, order.submitted_at ? clock(order.submitted_at) : "",
      order.filled_at ? clock(order.filled_at) : ""];
    const tr = el("tr");
    cells.forEach((text, i) => tr.append(el("td", i < 2 ? "mono" : "", text)));
    return tr;
  }

  async function openTrail(signalId) {
    selected = signalId;
    for (const tr of $("signal-rows").children) tr.classList.toggle("selected", tr.dataset.signalId === signalId);
    let trail;
    try {
      trail = await api("/signals/" + encodeURIComponent(signalId));
    } catch (error) {
      $("trail-head").textContent = "could not read the trail: " + error.message;
      return;
    }
    if (trail.signal_id !== selected) return; // another row was clicked meanwhile
    $("trail").hidden = false;
    $("trail-id").textContent = trail.signal_id;
    const head = $("trail-head");
    head.replaceChildren(badge(trail.status, statusClass(trail.status)));
    const words = [trail.action, trail.side, trail.ticker, trail.mode, trail.strategy, trail.qty ? "qty " + trail.qty : ""];
    head.append(" " + words.filter(Boolean).join(" · "));
    if (trail.risk_caps && trail.risk_caps.length) {
      const caps = trail.risk_caps.map((c) => c.cap + ": qty " + c.qty_before + " → " + c.qty_after + " (" + c.limit + ")");
      head.append(el("div", "hint", "caps: " + caps.join("; ")));
    }
    $("trail-steps").replaceChildren(...trail.trail.map((step) => {
      const li = el("li");
      const at = el("time", "", step.at);
      at.dateTime = step.at;
      li.append(at, badge(step.status, statusClass(step.status)));
      const why = [step.reason, step.detail].filter(Boolean).join(": ");
      if (why) li.append(" " + why);
      return li;
    }));
    $("trail-errors").replaceChildren(...(trail.errors || []).map((e) => el("li", "", e.field + ": " + e.message)));
    $("trail-order-rows").replaceChildren(...trail.orders.map(orderRow));
    $("trail-orders").hidden = trail.orders.length === 0;
  }

  // --- trading state ----------------------------------------------------------------------------------

  function showState(body) {
    const account = body.account;
    const state = STATES.includes(body.state) ? body.state : "?";
    const badgeNode = $("state-" + account);
    badgeNode.textContent = state;
    badgeNode.className = "state " + (STATES.includes(state) ? state : "");
    const why = [body.rule, body.detail].filter(Boolean).join(": ");
    $("why-" + account).textContent = why + (body.changed_at ? " (since " + clock(body.changed_at) + ")" : "");
    $("halt-" + account).disabled = state === "HALTED";
    const resume = $("resume-" + account);
    if (resume) resume.disabled = state === "ACTIVE";
  }

  async function refreshState() {
    for (const account of ["paper", "live"]) {
      try {
        showState(await api("/trading-state/" + account));
      } catch (error) {
        $("state-message").textContent = account + ": " + error.message;
      }
    }
  }

  async function switchState(account, to, question) {
    // The same authenticated action as `tradepipe halt` / `tradepipe resume`, after a confirm step.
    if (!window.confirm(question)) return;
    try {
      const body = await api("/trading-state/" + account, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ state: to, reason: "from the live page", by: "live page" }),
      });
      showState(body);
      $("state-message").textContent = account + " is now " + body.state;
    } catch (error) {
      $("state-message").textContent = "failed: " + error.message;
    }
  }

  // --- today and the account ----------------------------------------------------------------------------

  function draw(id, traces, layout) {
    if (!window.Plotly) return;
    const key = JSON.stringify([traces, layout]);
    if (drawn.get(id) === key) return;
    drawn.set(id, key);
    const base = { margin: { l: 72, r: 8, t: 28, b: 36 }, font: { size: 11 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };
    window.Plotly.react($(id), traces, Object.assign(base, layout), { displayModeBar: false, responsive: true });
  }

  async function refreshSummary() {
    let today;
    try {
      today = await api("/ui/summary");
    } catch (error) {
      return;
    }
    $("today").textContent = today.day + " UTC";
    $("c-received").textContent = today.received;
    $("c-accepted").textContent = today.accepted;
    $("c-duplicates").textContent = today.duplicates === null ? "n/a" : today.duplicates;
    $("c-filled").textContent = today.filled;
    $("c-open").textContent = today.open;
    const reasons = Object.entries(today.rejected);
    $("rejected").replaceChildren(...(reasons.length ? reasons.map(([why, n]) => el("li", "", why + ": " + n))
      : [el("li", "hint", "none")]));
    $("live-flag").textContent = today.live_trading_enabled ? "Live trading is ENABLED in this stack's config."
      : "Live trading is off in this stack's config.";
    const minutes = Object.keys(today.per_minute);
    const traces = STATUSES.filter((s) => minutes.some((m) => today.per_minute[m][s]))
      .map((s) => ({ type: "bar", name: s, marker: { color: COLORS[s] }, width: 50000,
        x: minutes.map((m) => today.day + " " + m), y: minutes.map((m) => today.per_minute[m][s] || 0) }));
    // The last hour, in UTC like the server's minutes (Plotly does not shift zone-less times).
    const utcMinute = (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
    const now = Date.now();
    draw("chart-signals", traces, { title: { text: "Signals per minute by status, last hour (UTC)" },
      barmode: "stack", xaxis: { type: "date", tickformat: "%H:%M", range: [utcMinute(now - 3600000), utcMinute(now + 60000)] },
      yaxis: { rangemode: "tozero", dtick: traces.length ? undefined : 1 }, legend: { orientation: "h", y: -0.2 } });
  }

  async function refreshPortfolio() {
    let book;
    try {
      book = await api("/ui/portfolio?account=paper");
    } catch (error) {
      return;
    }
    $("p-why").textContent = book.available ? "" : book.why;
    if (!book.available) return;
    const equity = Number(book.equity);
    const change = equity - Number(book.last_equity);
    $("p-equity").textContent = equity.toLocaleString(undefined, { maximumFractionDigits: 2 });
    const changeNode = $("p-change");
    changeNode.textContent = (change >= 0 ? "+" : "") + change.toFixed(2);
    changeNode.className = change >= 0 ? "up" : "down";
    $("p-bp").textContent = Number(book.buying_power).toLocaleString(undefined, { maximumFractionDigits: 0 });
    $("position-rows").replaceChildren(...book.positions.map((p) => {
      const tr = el("tr");
      [p.symbol, p.qty, p.avg_entry_price, p.market_value].forEach((text) => tr.append(el("td", "", text)));
      return tr;
    }));
    const held = book.positions;
    draw("chart-positions", [{ type: "bar", x: held.map((p) => plain(p.symbol)),
      y: held.map((p) => Number(p.market_value)),
      marker: { color: held.map((p) => (Number(p.qty) >= 0 ? "#1f8a4c" : "#c0392b")) } }],
    { title: { text: "Positions: market value (short < 0)" }, xaxis: { type: "category", visible: held.length > 0 },
      yaxis: { visible: held.length > 0 },
      annotations: held.length ? [] : [{ text: "no open positions", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] });
    equitySamples.x.push(new Date().toISOString());
    equitySamples.y.push(equity);
    if (equitySamples.x.length > 1200) { equitySamples.x.shift(); equitySamples.y.shift(); }
    draw("chart-equity", [{ type: "scatter", mode: "lines", x: equitySamples.x.slice(), y: equitySamples.y.slice(),
      line: { color: "#2b6cb0" } }], { title: { text: "Equity while this page is open" }, xaxis: { type: "date" },
      yaxis: { tickformat: ",.2f" } });
  }

  // --- wiring -------------------------------------------------------------------------------------------

  function start() {
    $("charts-note").hidden = Boolean(window.Plotly);
    for (const id of ["f-mode", "f-status"]) $(id).addEventListener("change", refreshFeed);
    $("f-ticker").addEventListener("input", refreshFeed);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("trail-close").addEventListener("click", () => {
      selected = null;
      $("trail").hidden = true;
      for (const tr of $("signal-rows").children) tr.classList.remove("selected");
    });
    $("halt-paper").addEventListener("click", () => switchState("paper", "HALTED",
      "Halt paper trading?\n\nEvery alert (entries and exits) will be rejected with TRADING_HALTED until someone resumes."));
    $("resume-paper").addEventListener("click", () => switchState("paper", "ACTIVE",
      "Resume paper trading?\n\nThe risk engine will let alerts through again (and the losing streak is cleared)."));
    $("halt-live").addEventListener("click", () => switchState("live", "HALTED",
      "Halt LIVE trading?\n\nEvery live alert will be rejected until someone resumes it from a terminal."));
    every(FEED_MS, refreshFeed);
    every(STATE_MS, refreshState);
    every(SUMMARY_MS, refreshSummary);
    every(PORTFOLIO_MS, refreshPortfolio);
  }

  start();
})();
