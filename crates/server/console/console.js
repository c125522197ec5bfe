// The Audex console: audiences by funnel stage, their sizes over time and campaign reports,
// a live-sized audience editor, and person lookups. Plain DOM over the native JSON API with the
// admin token of /oauth2/token; every text from the API goes in through textContent.
"use strict";

const TOKEN_KEY = "audex.token";
const STAGES = ["Awareness", "Consideration", "Conversion"];
const SVG_NS = "http://www.w3.org/2000/svg";

/** An element with attributes (`on…` functions become listeners) and children. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = new Intl.NumberFormat("en-US");
const num = (x) => (x === null || x === undefined ? "—" : fmt.format(x));
/** Money with the decimals its size needs (ad costs per order can be fractions of a cent). */
const money = (x) => {
  if (x === null || x === undefined) return "—";
  const a = Math.abs(x);
  return a >= 100 ? fmt.format(Math.round(x)) : a >= 1 || a === 0 ? x.toFixed(2) : x.toPrecision(2);
};
const pct = (x) => (x === null || x === undefined ? "—" : (100 * x).toFixed(2) + " %");

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Calls the API with the admin token; a 401 sends the user back to sign in. */
async function api(method, path, body) {
  const headers = { authorization: "Bearer " + (sessionStorage.getItem(TOKEN_KEY) || "") };
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/login";
  }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

const main = () => document.getElementById("main");
/** Incremented at each navigation: a view that finishes loading after the user moved on
 *  must not replace the newer one. */
let routeSeq = 0;
function show(...nodes) {
  main().replaceChildren(...nodes);
}
function showFor(seq, ...nodes) {
  if (seq === routeSeq) show(...nodes);
}
function failure(e) {
  return h("p", { class: "error", role: "alert" }, e.message);
}

// ---------------------------------------------------------------------------------- charts

/** A line chart over `labels` of `series` ({name, values (null = no point), color, line}),
 *  with a y axis from 0 and a legend. */
function lineChart(labels, series, { width = 760, height = 240, label = "" } = {}) {
  const pad = { l: 56, r: 12, t: 26, b: 28 };
  const w = width - pad.l - pad.r, hgt = height - pad.t - pad.b;
  const all = series.flatMap((se) => se.values.filter((v) => v !== null));
  const max = Math.max(1, ...all);
  const x = (i) => pad.l + (labels.length <= 1 ? w / 2 : (i * w) / (labels.length - 1));
  const y = (v) => pad.t + hgt - (v / max) * hgt;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label, class: "chart line" });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), stroke: "#e4e7ec" }),
      s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, fmt.format(Math.round(v))));
  }
  const step = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((l, i) => {
    const last = i === labels.length - 1 && (labels.length - 1) % step >= step / 2;
    if (i % step === 0 || last) svg.append(s("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, l));
  });
  let lx = pad.l;
  for (const se of series) {
    const pts = se.values.map((v, i) => (v === null ? null : [x(i), y(v), v, labels[i]])).filter(Boolean);
    if (se.line && pts.length) {
      const d = pts.map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(" ");
      svg.append(s("path", { d, fill: "none", stroke: se.color, "stroke-width": 2, class: `series ${se.class || ""}` }));
    }
    for (const p of pts) {
      svg.append(s("circle", { cx: p[0], cy: p[1], r: se.line ? 2.5 : 4, fill: se.color, class: `point ${se.class || ""}` },
        s("title", {}, `${se.name}, ${p[3]}: ${fmt.format(p[2])}`)));
    }
    svg.append(s("rect", { x: lx, y: 6, width: 10, height: 10, fill: se.color, rx: 2 }),
      s("text", { x: lx + 14, y: 15 }, se.name));
    lx += 24 + se.name.length * 6.5;
  }
  return svg;
}

/** Horizontal bars of `items` ({label, value}), labelled with `format`. */
function barChart(items, { format = num, width = 760, label = "" } = {}) {
  const row = 24, left = 190, right = 90;
  const height = Math.max(row, items.length * row) + 8;
  const max = Math.max(...items.map((i) => i.value || 0), 0) || 1;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label, class: "chart bars" });
  items.forEach((it, k) => {
    const y0 = 4 + k * row;
    const bw = ((it.value || 0) / max) * (width - left - right);
    svg.append(
      s("text", { x: left - 8, y: y0 + 15, "text-anchor": "end" }, it.label),
      s("rect", { x: left, y: y0 + 4, width: Math.max(bw, 1), height: row - 9, rx: 3, fill: "#d97706", class: "bar" }),
      s("text", { x: left + bw + 6, y: y0 + 15 }, it.value === null || it.value === undefined ? "—" : format(it.value)));
  });
  return svg;
}

// ---------------------------------------------------------------------------------- views

function loginView() {
  document.getElementById("nav").hidden = true;
  const err = h("p", { class: "error", role: "alert" });
  const id = h("input", { id: "client-id", name: "client_id", autocomplete: "username", required: true });
  const secret = h("input", { id: "client-secret", name: "client_secret", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", {
    class: "card login",
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = "";
      const body = new URLSearchParams({ grant_type: "client_credentials", client_id: id.value.trim(), client_secret: secret.value.trim() });
      try {
        const r = await fetch("/oauth2/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
        const j = await r.json();
        if (!r.ok) throw new Error(j.message || j.error_description || j.error || `HTTP ${r.status}`);
        sessionStorage.setItem(TOKEN_KEY, j.access_token);
        location.hash = "#/audiences";
      } catch (e) {
        err.textContent = "Sign-in failed: " + e.message;
      }
    },
  },
  h("h1", {}, "Sign in"),
  h("p", { class: "muted" }, "The advertiser's admin client id and secret (", h("code", {}, "audex advertiser rotate-secret default"), " prints new ones)."),
  h("label", { for: "client-id" }, "Client id"), id,
  h("label", { for: "client-secret" }, "Client secret"), secret,
  h("p", {}, h("button", { type: "submit", id: "signin" }, "Sign in")), err);
  show(form);
}

async function audiencesView() {
  const seq = routeSeq;
  const { audiences } = await api("GET", "/v1/audiences");
  const max = Math.max(1, ...audiences.map((a) => a.size || 0));
  const groups = [...STAGES, null].map((stage) => ({
    stage, items: audiences.filter((a) => (stage === null ? !STAGES.includes(a.funnel_stage) : a.funnel_stage === stage)),
  })).filter((g) => g.items.length);
  const total = h("p", { class: "muted" }, `${audiences.length} audiences. Sizes are members now.`);
  const sections = groups.map((g) => h("section", { class: "card", "data-stage": g.stage || "none" },
    h("h2", {}, g.stage || "No funnel stage"),
    h("table", { class: "audiences" },
      h("thead", {}, h("tr", {}, h("th", {}, "Audience"), h("th", {}, "Kind"), h("th", { class: "num" }, "Members"), h("th", { style: "width:35%" }, ""))),
      h("tbody", {}, g.items.map((a) => h("tr", { "data-id": a.id },
        h("td", {}, h("a", { href: `#/audience/${encodeURIComponent(a.id)}` }, a.name)),
        h("td", {}, a.kind),
        h("td", { class: "num size" }, num(a.size)),
        h("td", {}, h("div", { class: "bar", style: `width:${(100 * (a.size || 0)) / max}%` }))))))));
  showFor(seq, h("h1", {}, "Audiences"), total, ...(sections.length ? sections : [h("p", {}, "No audiences yet. ", h("a", { href: "#/new" }, "Create one."))]));
}

async function audienceView(id) {
  const seq = routeSeq;
  const [a, size, sizes, report] = await Promise.all([
    api("GET", `/v1/audiences/${encodeURIComponent(id)}`),
    api("GET", `/v1/audiences/${encodeURIComponent(id)}/size`),
    api("GET", `/v1/audiences/${encodeURIComponent(id)}/sizes`),
    api("GET", `/v1/audiences/${encodeURIComponent(id)}/report`),
  ]);
  const evaluated = sizes.evaluated || [];
  const recorded = new Map((sizes.days || []).map((d) => [d.date, d.size]));
  const chart = evaluated.length
    ? lineChart(evaluated.map((d) => d.date.slice(5)), [
      { name: "definition evaluated on each day", values: evaluated.map((d) => d.size), color: "#3056d3", line: true, class: "evaluated" },
      { name: "recorded membership", values: evaluated.map((d) => (recorded.has(d.date) ? recorded.get(d.date) : null)), color: "#d97706", line: false, class: "recorded" },
    ], { label: `Members of ${a.name} by day` })
    : h("p", { class: "muted" }, "No sizes yet.");
  const rows = [...report.campaigns, report.total];
  const reportTable = h("table", { class: "report" },
    h("thead", {}, h("tr", {}, ["Campaign", "Reached", "Impressions", "Clicks", "Cost", "CPM", "CTR", "Qualified visits", "Cost / q. visit", "Orders", "Cost / order", "ROAS"]
      .map((t, i) => h("th", { class: i ? "num" : "" }, t)))),
    h("tbody", {}, rows.map((c) => h("tr", { class: c.campaign_id === "(total)" ? "total" : "" },
      h("td", {}, c.campaign_id), h("td", { class: "num" }, num(c.reached)), h("td", { class: "num" }, num(c.impressions)),
      h("td", { class: "num" }, num(c.clicks)), h("td", { class: "num" }, money(c.cost)), h("td", { class: "num" }, money(c.cpm)),
      h("td", { class: "num" }, pct(c.ctr)), h("td", { class: "num" }, num(c.qualified_visits)),
      h("td", { class: "num" }, money(c.cost_per_qualified_visit)), h("td", { class: "num" }, num(c.orders)),
      h("td", { class: "num" }, money(c.cost_per_order)), h("td", { class: "num" }, money(c.roas))))));
  const cpo = report.campaigns.filter((c) => c.cost_per_order !== null);
  const download = h("button", {
    class: "secondary", type: "button", id: "download",
    onclick: async () => {
      const r = await fetch(`/v1/audiences/${encodeURIComponent(id)}/members?format=csv`, { headers: { authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) } });
      const blob = await r.blob();
      const link = h("a", { href: URL.createObjectURL(blob), download: `${a.name}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
    },
  }, "Download members (CSV)");
  showFor(seq,
    h("h1", {}, a.name, " ", h("span", { class: "stage" }, a.funnel_stage || "no stage")),
    h("div", { class: "card" },
      h("div", { class: "stats" },
        h("div", { class: "stat" }, h("b", { id: "size" }, num(size.size)), "members now"),
        h("div", { class: "stat" }, h("b", {}, num(report.reached)), "reached by ads"),
        h("div", { class: "stat" }, h("b", {}, money(report.total.cost_per_order)), "cost per order"),
        h("div", { class: "stat" }, h("b", {}, a.kind), "kind")),
      h("label", {}, "Rule"), h("div", { class: "rule" }, a.rule || JSON.stringify(a.definition)),
      h("p", {}, download)),
    h("section", { class: "card" }, h("h2", {}, "Members by day"),
      h("p", { class: "muted" }, "Blue: the definition evaluated at the end of each of the last 30 days, on the data as it is now. Orange: membership as recorded (entries minus exits) since the audience was saved."),
      chart),
    h("section", { class: "card" }, h("h2", {}, "Campaigns"),
      h("p", { class: "muted" }, `Among the members: orders are credited to the last ad touch within ${report.attribution_days} days; a qualified visit is a day with a click and product browsing.`),
      report.campaigns.length ? h("div", { class: "scroll" }, reportTable) : h("p", { class: "muted" }, "No member has seen an ad."),
      cpo.length ? h("div", {}, h("h2", {}, "Cost per order"), barChart(cpo.map((c) => ({ label: c.campaign_id, value: c.cost_per_order })), { format: money, label: "Cost per order by campaign" })) : null));
}

function newView() {
  const name = h("input", { id: "name", required: true, placeholder: "cart abandoners" });
  const stage = h("select", { id: "stage" }, STAGES.map((st) => h("option", { value: st }, st)));
  stage.value = "Conversion";
  const rule = h("textarea", { id: "rule", spellcheck: "false", placeholder: "product_added within 7d and not order_completed within 7d" });
  const estimate = h("p", { id: "estimate", class: "muted", "aria-live": "polite" }, "Type a rule to see its size.");
  const err = h("p", { id: "rule-error", class: "error", role: "alert" });
  let timer = null, seq = 0;
  /** The offset in `text` of 1-based line and column. */
  const offset = (text, line, col) => text.split("\n").slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + col - 1;
  const check = async () => {
    const mine = ++seq;
    const text = rule.value.trim();
    if (!text) { estimate.textContent = "Type a rule to see its size."; err.textContent = ""; return; }
    try {
      const r = await api("POST", "/v1/audiences/estimate-size", { rule: rule.value });
      if (mine !== seq) return;
      err.textContent = "";
      estimate.textContent = `${num(r.size)} people now`;
      estimate.dataset.size = r.size;
    } catch (e) {
      if (mine !== seq) return;
      estimate.textContent = "";
      delete estimate.dataset.size;
      err.textContent = e.message;
      const m = /(\d+):(\d+):/.exec(e.message);
      if (m && document.activeElement !== rule) {
        const at = offset(rule.value, +m[1], +m[2]);
        rule.setSelectionRange(at, at + 1);
      }
    }
  };
  rule.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  const form = h("form", {
    class: "card",
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const a = await api("POST", "/v1/audiences", { name: name.value.trim(), rule: rule.value, funnel_stage: stage.value });
        location.hash = `#/audience/${encodeURIComponent(a.id)}`;
      } catch (e) {
        err.textContent = e.message;
      }
    },
  },
  h("div", { class: "row" }, h("div", {}, h("label", { for: "name" }, "Name"), name), h("div", {}, h("label", { for: "stage" }, "Funnel stage"), stage)),
  h("label", { for: "rule" }, "Rule"), rule,
  h("p", { class: "muted" }, "For example ", h("code", {}, "order_completed within 30d and not visit within 7d on app"), ", ",
    h("code", {}, "category 1604 within 30d"), ", ", h("code", {}, "near (48.8566, 2.3522) within 10km"), ", ", h("code", {}, "tag new_parent"), "."),
  estimate, err, h("p", {}, h("button", { type: "submit", id: "save" }, "Save audience")));
  show(h("h1", {}, "New audience"), form);
  rule.focus();
}

function personView() {
  const who = h("input", { id: "who", placeholder: "userId, anonymousId, email or phone" });
  const out = h("div", { id: "person" });
  const look = async (ev) => {
    ev.preventDefault();
    const id = encodeURIComponent(who.value.trim());
    if (!id) return;
    out.replaceChildren(h("p", { class: "muted" }, "Looking up…"));
    try {
      const [p, aud, recs] = await Promise.all([
        api("GET", `/v1/people/${id}`),
        api("GET", `/v1/people/${id}/audiences`),
        api("GET", `/v1/people/${id}/recommendations`).catch(() => ({ recommendations: [] })),
      ]);
      const d = p.demographics || {};
      out.replaceChildren(
        h("div", { class: "card" }, h("div", { class: "stats" },
          h("div", { class: "stat" }, h("b", {}, num(p.events)), "events"),
          h("div", { class: "stat" }, h("b", {}, num(p.orders)), "orders"),
          h("div", { class: "stat" }, h("b", {}, money(p.spend)), "spend"),
          h("div", { class: "stat" }, h("b", {}, [d.gender, d.age, d.income].filter((x) => x !== null && x !== undefined).join(", ") || "—"), "declared"),
          h("div", { class: "stat" }, h("b", {}, p.location ? `${p.location.lat}, ${p.location.lon}` : "—"), p.location ? `location (${p.location.source})` : "location"),
          h("div", { class: "stat" }, h("b", {}, p.country || "—"), "country")),
        h("p", { class: "muted" }, `First seen ${p.first_seen}, last seen ${p.last_seen}.`)),
        h("section", { class: "card" }, h("h2", {}, "Audiences"),
          (aud.audiences || []).length
            ? h("ul", { class: "member-of" }, aud.audiences.map((a) => h("li", {}, h("a", { href: `#/audience/${encodeURIComponent(a.id)}` }, a.name))))
            : h("p", { class: "muted" }, "In no saved audience.")),
        h("section", { class: "card" }, h("h2", {}, "Recommended products"),
          (recs.recommendations || []).length
            ? h("ol", { class: "recommendations" }, recs.recommendations.map((r) => h("li", {}, r.title || r.product_id,
                (r.reasons || []).length ? h("span", { class: "muted" }, ` — ${r.reasons.join(", ")}`) : null)))
            : h("p", { class: "muted" }, "None.")),
        h("section", { class: "card" }, h("h2", {}, "Identifiers"),
          h("ul", {}, (p.identifiers || []).map((i) => h("li", {}, h("code", {}, i.type), " ", i.value)))));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  };
  show(h("h1", {}, "Person"), h("form", { class: "card row", onsubmit: look }, who, h("button", { type: "submit", id: "lookup" }, "Look up")), out);
  who.focus();
}

// ---------------------------------------------------------------------------------- routing

async function route() {
  const seq = ++routeSeq;
  const hash = location.hash || "#/audiences";
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  if (!signedIn || hash === "#/login") return loginView();
  document.getElementById("nav").hidden = false;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", hash.startsWith(a.getAttribute("href")));
  }
  try {
    if (hash.startsWith("#/audience/")) await audienceView(decodeURIComponent(hash.slice("#/audience/".length)));
    else if (hash === "#/new") newView();
    else if (hash === "#/person") personView();
    else await audiencesView();
  } catch (e) {
    if (e.status !== 401) showFor(seq, failure(e));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/login";
  });
  route();
});
