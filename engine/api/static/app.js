// The EnMS web dashboard: sign-in, plant overview and one page per SEU, read
// through the HTTP API (/api/v1) with the signed-in user's token. What a
// role may do comes from /api/v1/auth/me; the page only leaves out what the
// API would refuse anyway. Text from the database is always set as text,
// never as HTML.

const API = new URL("../api/v1", document.baseURI).href;
const TOKEN_KEY = "enms.token";
const state = { token: sessionStorage.getItem(TOKEN_KEY), me: null };

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

// --- the API -----------------------------------------------------------------------

async function call(path, { method = "GET", params, json, form } = {}) {
  const url = new URL(API + path);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(url, { method, headers, body });
  if (response.status === 401 && state.token) {
    signOut("Your session has ended: sign in again.");
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

const getJSON = async (path, options) => (await call(path, options)).json();

// --- building the page ---------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) {
      el.append(child instanceof Node ? child : String(child));
    }
  }
  return el;
}

// Missing is never zero: a null prints as "missing".
function num(value, digits = 0, unit = "") {
  if (value === null || value === undefined) return "missing";
  const text = Number(value).toLocaleString("en", {
    minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

const may = (action) => Boolean(state.me && state.me.may.includes(action));

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function card(title, ...body) {
  return h("section", { class: "card" }, h("h2", {}, title), ...body);
}

// A card whose body comes from the API; a refusal or failure shows as its text.
function loading(title, load, attrs = {}) {
  const body = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const section = h("section", { class: "card", ...attrs }, h("h2", {}, title), body);
  load().then((content) => body.replaceChildren(...[content].flat().filter((c) => c !== null)))
    .catch((err) => body.replaceChildren(h("p", { class: "muted" }, `Not shown: ${err.message}`)));
  return section;
}

// A chart drawn by the server (engine.figures) as PNG, fetched with the token.
function chart(path, params, alt) {
  const img = h("img", { class: "chart", alt, "data-chart": path });
  call(path, { params }).then((r) => r.blob()).then((blob) => {
    img.addEventListener("load", () => img.classList.add("loaded"), { once: true });
    img.src = URL.createObjectURL(blob);
  }).catch((err) => img.replaceWith(h("p", { class: "muted" }, `${alt}: ${err.message}`)));
  return img;
}

function table(header, rows, numeric = []) {
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, header.map((t, i) =>
      h("th", { class: numeric.includes(i) ? "num" : null }, t)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, i) =>
      h("td", { class: numeric.includes(i) ? "num" : null }, cell)))))));
}

function figures(pairs) {
  return h("dl", { class: "figures" },
    pairs.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

// "Boiler 1 natural_gas" -> ["Boiler 1", "natural_gas"]: a source's name has no space.
function splitSeu(name) {
  const cut = name.lastIndexOf(" ");
  return [name.slice(0, cut), name.slice(cut + 1)];
}

function seuLink(equipment, source, period, text) {
  const query = period ? `?period=${encodeURIComponent(period)}` : "";
  return h("a", { href: `#/seu/${encodeURIComponent(equipment)}/${encodeURIComponent(source)}${query}` },
    text);
}

// A file from the API saved under the name the server gives it.
async function download(button, path, params) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Preparing…";
  try {
    const response = await call(path, { params });
    const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(await response.blob());
    const a = h("a", { href: url, download: match ? match[1] : "enms.pdf", hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    showError("");
  } catch (err) {
    showError(`${label}: ${err.message}`);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// --- alerts ------------------------------------------------------------------------

function acknowledgeControl(alert, reload) {
  if (alert.status !== "open") {
    const when = alert.acknowledged_at ? alert.acknowledged_at.slice(0, 16).replace("T", " ") : "";
    return h("span", {}, `acknowledged by ${alert.acknowledged_by}, ${when} UTC: ${alert.comment}`);
  }
  if (!may("alerts.acknowledge")) return h("span", { class: "muted" }, "open");
  const comment = h("textarea", { name: "comment", rows: 2, required: true, maxlength: 2000,
    placeholder: "what the investigation found and did" });
  const form = h("form", { class: "ack", hidden: true, "data-alert": alert.id, onsubmit: async (event) => {
    event.preventDefault();
    try {
      await call(`/alerts/${alert.id}/acknowledge`, { method: "POST",
        json: { comment: comment.value.trim() } });
      showError("");
      reload();
    } catch (err) {
      showError(`Alert ${alert.id}: ${err.message}`);
    }
  } }, h("label", {}, "Finding", comment), h("button", { type: "submit" }, "Save acknowledgement"));
  const open = h("button", { type: "button", class: "secondary", "data-alert": alert.id,
    onclick: () => { form.hidden = false; open.hidden = true; comment.focus(); } }, "Acknowledge");
  return h("div", {}, open, form);
}

function alertsCard(title, params, period) {
  const section = loading(title, async () => {
    const found = await getJSON("/alerts", { params });
    if (!found.length) return h("p", { class: "muted" }, "No alerts.");
    const reload = () => section.replaceWith(alertsCard(title, params, period));
    return table(["#", "severity", "subject", "period", "message", "status"], found.map((a) => [
      String(a.id), h("span", { class: `sev-${a.severity}` }, a.severity),
      a.seu ? seuLink(...splitSeu(a.seu), a.period, a.subject) : a.subject,
      a.period, h("span", { class: "message" }, a.message), acknowledgeControl(a, reload)]));
  }, { class: "card wide", id: "alerts" });
  return section;
}

// --- pages -------------------------------------------------------------------------

function showLogin(message) {
  document.getElementById("who").hidden = true;
  const name = h("input", { name: "username", autocomplete: "username", required: true });
  const secret = h("input", { name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "login card", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = await getJSON("/auth/token", { method: "POST",
        form: { username: name.value, password: secret.value } });
      state.token = answer.access_token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      showError("");
      route();
    } catch (err) {
      showError(`Sign-in failed: ${err.message}`);
      submit.disabled = false;
    }
  } }, h("h1", {}, "Sign in"), h("label", {}, "User name", name), h("label", {}, "Password", secret),
  submit);
  document.getElementById("main").replaceChildren(form);
  showError(message || "");
  name.focus();
}

function signOut(message) {
  state.token = null;
  state.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = "#/login";
  showLogin(message);
}

// The days a savings answer covers, as the API's from/to.
const span = (s) => ({ from: s.first, to: s.last });

async function showOverview(params) {
  // No year given: the year of the latest data (the savings' default period).
  const latest = params.get("year") ? null : await getJSON("/savings");
  const year = params.get("year") || latest.first.slice(0, 4);
  const savings = latest && latest.first.startsWith(year) ? Promise.resolve(latest)
    : getJSON("/savings", { params: { period: year } });
  const yearInput = h("input", { type: "number", name: "year", min: 1970, max: 2200, value: year });
  const controls = h("form", { class: "controls", onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/overview?year=${yearInput.value}`;
  } }, h("label", {}, "Year", yearInput), h("button", { type: "submit" }, "Show"));
  const page = h("div", { class: "grid" },
    loading("Savings to date", async () => {
      const s = await savings;
      const t = s.total.period;
      const band = t.uncertainty ? t.uncertainty["95"].band_mwh : null;
      return [figures([
        ["avoided energy", `${num(t.avoided_mwh, 1, "MWh")} ± ${num(band, 1)}`],
        ["of expected", num(t.avoided_pct, 1, "%")],
        ["money", Object.entries(t.money).map(([c, v]) => num(v, 0, c)).join(", ") || "missing"],
        ["CO2", num(t.co2_t, 1, "t")]]),
      h("p", { class: "muted" }, `${s.first} to ${s.last}; positive is energy saved (expected - actual).`),
      chart("/charts/plant/savings", span(s), `Savings to date, ${year}`)];
    }),
    loading("Significant energy uses", async () => {
      const s = await savings;
      const month = s.last.slice(0, 7);
      return table(["SEU", "avoided", "of expected"], s.seus.map((r) => [
        seuLink(r.equipment, r.source, month, r.seu),
        r.status === "ok" ? num(r.period.avoided, 0, r.unit) : r.status,
        r.status === "ok" ? num(r.period.avoided_pct, 1, "%") : ""]), [1, 2]);
    }, { class: "card", id: "seus" }),
    loading("Consumption by SEU", async () => chart("/charts/plant/by-seu", span(await savings),
      `Consumption by SEU, ${year}`)),
    loading("Consumption by energy source", async () => chart("/charts/plant/by-source",
      span(await savings), `Consumption by energy source, ${year}`)),
    may("alerts.read") ? alertsCard("Open alerts", { status: "open" }) : null);
  document.getElementById("main").replaceChildren(h("h1", {}, `Plant overview ${year}`), controls, page);
}

function reportFigures(r) {
  const q = r.data_quality;
  return figures([
    ["actual", num(r.actual, 0, r.unit)],
    ["expected", num(r.expected, 0, r.unit)],
    [`${Math.round(r.confidence * 100)} % interval`, `${num(r.lower, 0)} to ${num(r.upper, 0)} ${r.unit}`],
    ["deviation", `${num(r.deviation, 0, r.unit)} (${num(r.deviation_pct, 1)} %)`],
    ["significant", h("span", { class: r.significant ? "yes" : "no" },
      r.significant ? "yes: outside the interval" : "no")],
    ["SEnPI", num(r.senpi, 3)],
    ["baseline", `version ${r.baseline_version} (${r.baseline_period})`],
    ["data quality", `${num(q.score, 2)} (completeness ${num(q.completeness * 100, 1)} %)`]]);
}

async function showSeu(equipment, source, params) {
  const seu = { seu: equipment, energy_source: source };
  let period = params.get("period");
  if (!period) {  // the latest month with data
    const latest = await getJSON("/savings", { params: { seu: equipment, energy_source: source } });
    period = latest.last.slice(0, 7);
  }
  const year = period.slice(0, 4);
  const monthInput = h("input", { type: "month", name: "period", value: period, required: true });
  const controls = h("form", { class: "controls", onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/seu/${encodeURIComponent(equipment)}/${encodeURIComponent(source)}?period=${monthInput.value}`;
  } }, h("label", {}, "Month", monthInput), h("button", { type: "submit" }, "Show"));
  const pdf = h("button", { type: "button", id: "export-pdf",
    onclick: () => download(pdf, "/reports/seu-performance/pdf", { ...seu, period }) },
  "PDF report");
  const pack = may("audit.export") ? h("button", { type: "button", class: "secondary", id: "export-audit",
    onclick: () => download(pack, "/audit-pack", { year }) }, `Audit package ${year}`) : null;
  const report = getJSON("/reports/seu-performance", { params: { ...seu, period } });
  const months = getJSON("/reports/monthly", { params: { ...seu, year, last_month: Number(period.slice(5, 7)) } });
  const page = h("div", { class: "grid" },
    loading(`Report ${period}`, async () => {
      const r = await report;
      return [reportFigures(r), h("p", { class: "muted" }, `Model: ${r.baseline_model}`),
        r.warnings.length ? h("ul", {}, r.warnings.map((w) => h("li", {}, w))) : null];
    }, { class: "card wide", id: "report" }),
    card("Actual vs expected by day", chart("/charts/seu/daily", { ...seu, period },
      `${equipment} ${source}: actual vs expected by day, ${period}`)),
    card("Actual vs expected by month", chart("/charts/seu/monthly", { ...seu, period },
      `${equipment} ${source}: actual vs expected by month, ${year}`)),
    may("baseline.read") ? loading("Energy vs drivers", async () => {
      const r = await report;
      return [chart("/charts/baseline/drivers", { ...seu, version: r.baseline_version },
        `${equipment} ${source}: energy vs its drivers (baseline ${r.baseline_version})`),
      h("p", { class: "muted" }, `The baseline's training ${r.interval}s (${r.baseline_period}) `
        + "and the fitted model.")];
    }) : null,
    loading("CUSUM", async () => {
      const c = (await report).cusum;
      const unit = (await report).unit;
      const alarms = c.alarms.map((a) => `${a.direction} in the week of ${a.week_of}`).join("; ");
      return [chart("/charts/seu/cusum", { ...seu, period }, `${equipment} ${source}: CUSUM`),
        h("p", { class: "muted" }, `Since ${c.since}: ${num(c.to_date, 0, unit)} (negative: less energy `
          + `than the baseline expects). Limits k = ${c.k}, h = ${c.h}; alarms: ${alarms || "none"}.`)];
    }),
    loading("Data quality", async () => {
      const q = (await report).data_quality;
      return [table(["input", "kind", "score", "completeness"], q.inputs.map((i) => [
        i.name, i.kind, num(i.score, 2), num(i.completeness === null ? null : i.completeness * 100, 1, "%")]),
      [2, 3]), chart("/charts/seu/completeness", { ...seu, period },
        `${equipment} ${source}: data completeness by day, ${year}`)];
    }),
    loading("Reports by month", async () => {
      const m = await months;
      return [table(["month", "actual", "expected", "95 % interval", "deviation", "significant", "SEnPI"],
        m.reports.map((r) => [r.period, num(r.actual, 0, r.unit), num(r.expected, 0, r.unit),
          `${num(r.lower, 0)} to ${num(r.upper, 0)}`, `${num(r.deviation_pct, 1)} %`,
          r.significant ? "yes" : "no", num(r.senpi, 3)]), [1, 2, 3, 4, 6]),
      m.skipped.length ? h("p", { class: "muted" }, "Not reported: " + m.skipped.map(
        (s) => `${s.period} (${s.reason})`).join("; ")) : null];
    }, { class: "card wide", id: "months" }),
    may("alerts.read") ? alertsCard("Alerts", { status: "all", subject: `${equipment} ${source}` }) : null);
  document.getElementById("main").replaceChildren(
    h("p", {}, h("a", { href: "#/overview" }, "← Plant overview")),
    h("h1", {}, `${equipment} ${source}`), controls, h("div", { class: "actions" }, pdf, pack), page);
}

// --- routing -----------------------------------------------------------------------

async function route() {
  if (!state.token) return showLogin();
  try {
    if (!state.me) state.me = await getJSON("/auth/me");
    document.getElementById("user").textContent = `${state.me.name} (${state.me.role.replace("_", " ")})`;
    document.getElementById("who").hidden = false;
    const [path, query] = location.hash.slice(1).split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const params = new URLSearchParams(query || "");
    if (parts[0] === "seu" && parts.length === 3) await showSeu(parts[1], parts[2], params);
    else await showOverview(params);
  } catch (err) {
    if (err.status !== 401) showError(err.message);
  }
}

document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", route);
route();
