// The console in a real browser against a real `audex serve` (started by .ci/console.sh): sign
// in, the audiences by funnel stage with their sizes, an audience's size chart and campaign
// report, the editor's live size and parse errors, saving, and a person lookup — every figure
// checked against the API itself, and no request leaving the server.
//
// env: AUDEX_URL, AUDEX_CLIENT_ID, AUDEX_CLIENT_SECRET, AUDEX_PERSON (a member of the first
// audience), SHOTS (screenshot directory), CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.AUDEX_URL;
const auth = "Basic " + Buffer.from(`${process.env.AUDEX_CLIENT_ID}:${process.env.AUDEX_CLIENT_SECRET}`).toString("base64");
const shots = process.env.SHOTS || "console-shots";
mkdirSync(shots, { recursive: true });

async function api(method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  return { status: r.status, body: j };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let step = "start";
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  step = "sign-in refused";
  await page.goto(base + "/");
  await page.fill("#client-id", process.env.AUDEX_CLIENT_ID);
  await page.fill("#client-secret", "not-the-secret");
  await page.click("#signin");
  await page.getByText("Sign-in failed").waitFor();

  step = "sign in";
  await page.fill("#client-secret", process.env.AUDEX_CLIENT_SECRET);
  await page.click("#signin");
  await page.waitForSelector("table.audiences");
  const { body: list } = await api("GET", "/v1/audiences");
  assert.ok(list.audiences.length >= 2, "the script saved audiences");
  for (const a of list.audiences) {
    const row = page.locator(`tr[data-id="${a.id}"]`);
    assert.equal(await row.locator("td").first().innerText(), a.name);
    assert.equal(await row.locator("td.size").innerText(), a.size.toLocaleString("en-US"), `${a.name} size`);
    const stage = await row.evaluate((el) => el.closest("section").dataset.stage);
    assert.equal(stage, a.funnel_stage || "none", `${a.name} under its funnel stage`);
  }
  await page.screenshot({ path: `${shots}/audiences.png`, fullPage: true });

  step = "audience detail";
  const first = list.audiences.find((a) => a.size > 0) || list.audiences[0];
  await page.click(`tr[data-id="${first.id}"] a`);
  await page.waitForSelector("#size");
  const { body: size } = await api("GET", `/v1/audiences/${first.id}/size`);
  assert.equal(await page.innerText("#size"), size.size.toLocaleString("en-US"));
  const { body: sizes } = await api("GET", `/v1/audiences/${first.id}/sizes`);
  assert.equal(sizes.evaluated.length, 30);
  assert.ok(sizes.days.length >= 1, "recorded since it was saved");
  const d = await page.getAttribute("svg.chart.line path.series.evaluated", "d");
  assert.equal((d.match(/[ML]/g) || []).length, 30, "one point per evaluated day");
  const tops = await page.locator("svg.chart.line circle.point.evaluated title").allTextContents();
  assert.deepEqual(tops.map((t) => t.split(": ")[1]), sizes.evaluated.map((e) => e.size.toLocaleString("en-US")));
  assert.equal(await page.locator("svg.chart.line circle.point.recorded").count(),
    sizes.days.filter((r) => sizes.evaluated.some((e) => e.date === r.date)).length);
  const { body: report } = await api("GET", `/v1/audiences/${first.id}/report`);
  const cells = await page.locator("table.report tbody tr td:first-child").allInnerTexts();
  assert.deepEqual(cells, [...report.campaigns.map((c) => c.campaign_id), "(total)"]);
  if (report.campaigns.some((c) => c.cost_per_order !== null)) {
    assert.ok(await page.locator("svg.chart.bars rect.bar").count() >= 1, "cost per order chart");
  }
  await page.screenshot({ path: `${shots}/audience.png`, fullPage: true });

  step = "editor";
  await page.click('nav a[href="#/new"]');
  await page.fill("#name", "console made");
  await page.fill("#rule", "product_viewed within 30d and");
  await page.waitForFunction(() => document.querySelector("#rule-error").textContent.includes("1:"));
  assert.equal(await page.innerText("#estimate"), "");
  const rule = "product_viewed within 30d and not order_completed within 30d";
  await page.fill("#rule", rule);
  await page.waitForFunction(() => document.querySelector("#estimate").dataset.size !== undefined);
  const { body: est } = await api("POST", "/v1/audiences/estimate-size", { rule });
  assert.equal(await page.getAttribute("#estimate", "data-size"), String(est.size));
  assert.equal(await page.innerText("#rule-error"), "");
  await page.selectOption("#stage", "Consideration");
  await page.screenshot({ path: `${shots}/editor.png`, fullPage: true });
  await page.click("#save");
  await page.waitForFunction(() => location.hash.startsWith("#/audience/aud_"));
  const saved = (await api("GET", "/v1/audiences")).body.audiences.find((a) => a.name === "console made");
  assert.ok(saved, "saved through the console");
  assert.equal(saved.funnel_stage, "Consideration");
  assert.equal(saved.size, est.size);

  step = "person";
  await page.click('nav a[href="#/person"]');
  await page.fill("#who", process.env.AUDEX_PERSON);
  await page.click("#lookup");
  await page.waitForSelector(".member-of, #person .error");
  const { body: theirs } = await api("GET", `/v1/people/${encodeURIComponent(process.env.AUDEX_PERSON)}/audiences`);
  const shown = await page.locator(".member-of li").allInnerTexts();
  assert.deepEqual(shown.sort(), theirs.audiences.map((a) => a.name).sort());
  await page.screenshot({ path: `${shots}/person.png`, fullPage: true });

  step = "nothing leaves the server";
  const elsewhere = requests.filter((u) => !u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(errors, [], "no script errors");
  console.log(`console: ok (${requests.length} requests, all to ${base}); screenshots in ${shots}`);
} catch (e) {
  console.error(`console test failed at "${step}": ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
