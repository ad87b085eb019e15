// The add-in's buttons against a real `perfxl serve` (started here) and the fake object model:
// what /api/check's edits do to the open sample must equal what `perfxl check --mark` +
// `perfxl score` write into the file, cell by cell.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const net = require("node:net");
const path = require("node:path");
const { spawn, execFileSync } = require("node:child_process");
const { ADDIN, ROOT, SAMPLE, python, pyEnv, dumpFile, openSample, freshFetch } = require("./helpers.js");
const { fileSystem, shown } = require("./fake-wps.js");
const Actions = require(path.join(ADDIN, "actions.js"));
const Client = require(path.join(ADDIN, "client.js"));
const A = require(path.join(ADDIN, "apply.js"));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "perfxl-wps-srv-"));
let server, base, token, log;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function perfxl(args, input) {
  return execFileSync(python(), ["-m", "perfxl", ...args], { env: pyEnv(), cwd: ROOT, input }).toString("utf8");
}

test.before(async () => {
  const data = path.join(tmp, "data");
  perfxl(["user", "add", "clerk", "--role", "clerk", "--dept", "乐昌市民政局", "--data", data, "--password-stdin"],
         "correct-horse-9\n");
  token = perfxl(["user", "token", "clerk", "--data", data]).trim().split("\n").pop();
  const port = await freePort();
  base = "http://127.0.0.1:" + port;
  log = fs.openSync(path.join(tmp, "server.log"), "a");
  server = spawn(python(), ["-m", "perfxl", "serve", "--port", String(port), "--data", data, "--log-level", "warning"],
                 { env: { ...pyEnv(), PERFXL_WORKERS: "1" }, cwd: ROOT, stdio: ["ignore", log, log] });
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(base + "/healthz")).ok) return; } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("perfxl serve did not start: " + fs.readFileSync(path.join(tmp, "server.log"), "utf8"));
});

test.after(() => {
  if (server) server.kill();
  if (process.env.PERFXL_KEEP_TMP) console.log("kept " + tmp);
  else fs.rmSync(tmp, { recursive: true, force: true });
});

function env(app, answers = {}) {
  const shownText = [];
  const stored = { server: base, token };
  return {
    shown: shownText,
    app, fs: fileSystem,
    client: Client.createClient({ server: answers.server ?? base, token: answers.token ?? token, fetch: freshFetch }),
    ui: { alert: (t) => shownText.push(t), confirm: () => answers.confirm ?? true,
          prompt: (q) => (answers.prompts || []).shift() ?? null },
    settings: { get: () => stored, set: (s) => Object.assign(stored, s, { saved: true }) }
  };
}

const norm = (f) => String(f).replace(/\b_xl(?:fn|ws)\./g, "");

/** Cell by cell: every sheet, value, formula, note, mark, link and name of ``want`` in ``got``. */
function assertSameWorkbook(got, want) {
  assert.deepEqual(got.sheets.map((s) => [s.name, s.visible]), want.sheets.map((s) => [s.name, s.visible]));
  let cells = 0;
  want.sheets.forEach((ws, i) => {
    const gs = got.sheets[i];
    const wantCells = Object.fromEntries(Object.entries(ws.cells).map(([k, c]) =>
      [k, c.f !== undefined ? { f: norm(c.f) } : { v: shown(c).v }]));
    const gotCells = Object.fromEntries(Object.entries(gs.cells).map(([k, c]) =>
      [k, c.f !== undefined ? { f: norm(c.f) } : { v: c.v }]));
    assert.deepEqual(gotCells, wantCells, "cells of " + ws.name);
    cells += Object.keys(wantCells).length;
    assert.deepEqual(gs.comments, ws.comments, "notes of " + ws.name);
    assert.deepEqual(gs.links, ws.links, "links of " + ws.name);
    const marks = (list, color) => list.map((m) => [m.ref, m.formula, color(m.color)]).sort();
    assert.deepEqual(marks(gs.marks, (c) => c), marks(ws.marks, (c) => A.bgr(c)), "marks of " + ws.name);
  });
  const strip = (names) => Object.fromEntries(Object.entries(names).map(([k, v]) => [k, v.replace(/^=/, "")]));
  assert.deepEqual(strip(got.names), strip(want.names));
  return cells;
}

test("一键完成 on the open sample equals check --mark + score on the file, and writes the report", async () => {
  const dir = fs.mkdtempSync(path.join(tmp, "all-"));
  const { app, book, file } = openSample(dir);
  const e = env(app);
  const text = await Actions.run(e, "perfxlRunAll");
  assert.match(text, /校验完成：错误 \d+ 条、警告 \d+ 条/);
  assert.match(text, /总分 98\.31 分，等级 优/);
  assert.match(text, /已生成 Word 报告：.*-自评报告\.docx/);
  assert.match(text, /尚未保存/);
  assert.deepEqual(e.shown, [text]);
  const report = path.join(dir, "乐昌市民政局-2023-自评报告.docx");
  assert.equal(fs.readFileSync(report).subarray(0, 2).toString(), "PK");
  const want = dumpFile("expected", SAMPLE, path.join(tmp, "expected-all"));
  const cells = assertSameWorkbook(book.dump(), want);
  assert.ok(cells > 900, "compared " + cells + " cells");
  assert.ok(want.sheets.some((s) => s.marks.length), "the sample has marked cells");
  assert.equal(fs.readFileSync(file).equals(fs.readFileSync(SAMPLE)), true, "the workbook file is not saved");
});

test("校验数据 then 计算得分 give the same workbook as 一键完成's edits", async () => {
  const { app, book } = openSample(fs.mkdtempSync(path.join(tmp, "two-")));
  const e = env(app);
  const checked = await Actions.run(e, "perfxlCheck");
  assert.match(checked, /校验完成/);
  assert.doesNotMatch(checked, /总分/);
  assert.ok(book.sheets.some((s) => s.Name === "校验结果"));
  const scored = await Actions.run(e, "perfxlScore");
  assert.match(scored, /总分 98\.31 分/);
  assertSameWorkbook(book.dump(), dumpFile("expected", SAMPLE, path.join(tmp, "expected-two")));
});

test("the snapshot path checks what is on screen when the bytes cannot be read", async () => {
  const { app, book } = openSample(fs.mkdtempSync(path.join(tmp, "snap-")));
  book.SaveCopyAs = () => { throw new Error("locked"); };
  book.Saved = false;
  const text = await Actions.run(env(app), "perfxlCheck");
  assert.match(text, /校验完成/);
  assert.match(text, /按屏幕上的内容校验/);
  const viaFile = await Client.createClient({ server: base, token, fetch: freshFetch }).check(fs.readFileSync(SAMPLE), "乐昌市民政局-2023.xlsx");
  const res = await freshFetch(base + "/api/check-snapshot", { method: "POST", headers: { Authorization: "Bearer " + token },
                                                           body: JSON.stringify(require(path.join(ADDIN, "snapshot.js")).readSnapshot(openSample(fs.mkdtempSync(path.join(tmp, "snap2-"))).book)) });
  const viaSnapshot = await res.json();
  assert.equal(viaSnapshot.total, viaFile.total);
  assert.deepEqual(viaSnapshot.findings.map((f) => [f.code, f.ref]), viaFile.findings.map((f) => [f.code, f.ref]));
  assert.deepEqual(viaSnapshot.edits, viaFile.edits);
});

test("a national-framework workbook is scored by its own pack, from the file and from the screen", async () => {
  const national = path.join(ROOT, "samples", "乐昌市民政局-2023-national.xlsx");
  const out = path.join(fs.mkdtempSync(path.join(tmp, "nat-cli-")), "scored.xlsx");
  const want = JSON.parse(perfxl(["score", national, "-o", out, "--json"]));  // the CLI, no --rules
  const shownTotal = want.score_total.toFixed(2).replace(/\.?0+$/, "");
  const { app } = openSample(fs.mkdtempSync(path.join(tmp, "nat-")), national);
  assert.match(await Actions.run(env(app), "perfxlScore"), new RegExp("总分 " + shownTotal.replace(".", "\\.") + " 分"));
  const snap = require(path.join(ADDIN, "snapshot.js")).readSnapshot(openSample(fs.mkdtempSync(path.join(tmp, "nat2-")), national).book);
  const res = await freshFetch(base + "/api/check-snapshot", { method: "POST", headers: { Authorization: "Bearer " + token },
                                                           body: JSON.stringify(snap) });
  const viaSnapshot = await res.json();
  assert.equal(viaSnapshot.pack, "national-framework");
  assert.equal(viaSnapshot.total, want.score_total);
  assert.deepEqual(Object.keys(viaSnapshot.indicators).sort(), Object.keys(want.indicators).sort());
});

test("生成报告 writes beside the workbook, or into the temporary folder when it was never saved", async () => {
  const dir = fs.mkdtempSync(path.join(tmp, "rep-"));
  const { app, book } = openSample(dir);
  const beside = await Actions.run(env(app), "perfxlReport");
  assert.equal(beside, "已生成 Word 报告：" + path.join(dir, "乐昌市民政局-2023-自评报告.docx"));
  book.Path = "";
  const temp = await Actions.run(env(app), "perfxlReport");
  const where = path.join(os.tmpdir(), "乐昌市民政局-2023-自评报告.docx");
  assert.match(temp, /还没有保存到文件夹，报告已放在临时文件夹/);
  assert.ok(temp.includes(where) && fs.statSync(where).size > 10000);
  fs.rmSync(where);
  assert.match(await Actions.run(env(app), "perfxlSubmitNow"), /还没有保存到电脑上的文件夹/);
});

test("正式报送 submits the saved file and says which version", async () => {
  const { app } = openSample(fs.mkdtempSync(path.join(tmp, "sub-")));
  const first = await Actions.run(env(app), "perfxlSubmitNow");
  assert.match(first, /已正式报送：乐昌市民政局 2023 年度，第 1 版。/);
  const second = await Actions.run(env(app), "perfxlSubmitNow");
  assert.match(second, /第 2 版/);
  assert.equal(await Actions.run(env(app, { confirm: false }), "perfxlSubmitNow"), "");
  app.ActiveWorkbook.Saved = false;
  assert.match(await Actions.run(env(app), "perfxlSubmitNow"), /请先保存/);
});

test("refusals are the service's Chinese sentences; nothing is changed", async () => {
  const { app, book } = openSample(fs.mkdtempSync(path.join(tmp, "bad-")));
  const before = JSON.stringify(book.dump());
  assert.match(await Actions.run(env(app, { token: "wrong" }), "perfxlCheck"), /令牌/);
  assert.match(await Actions.run(env(app, { server: "http://127.0.0.1:9" }), "perfxlCheck"), /无法连接绩效自评服务 http:\/\/127\.0\.0\.1:9/);
  assert.match(await Actions.run(env(app, { server: "" }), "perfxlCheck"), /请先点“设置”/);
  const notBook = path.join(tmp, "not-a-workbook.xlsx");
  fs.writeFileSync(notBook, "a,b\n1,2\n");
  book.file = notBook;
  const said = await Actions.run(env(app), "perfxlCheck");
  assert.match(said, /不是 Excel 工作簿/);
  assert.equal(JSON.stringify(book.dump()), before);
});

test("设置 keeps a valid address and token, refuses anything else", async () => {
  const { app } = openSample(fs.mkdtempSync(path.join(tmp, "set-")));
  const e = env(app, { prompts: ["http://10.0.0.5:8000/", "tok-123"] });
  assert.equal(await Actions.run(e, "perfxlSettings"), "设置已保存。");
  assert.deepEqual({ ...e.settings.get() }, { server: "http://10.0.0.5:8000", token: "tok-123", saved: true });
  const bad = env(app, { prompts: ["10.0.0.5", "x"] });
  assert.match(await Actions.run(bad, "perfxlSettings"), /http:\/\//);
  assert.match(await Actions.run(env(app), "perfxlShowHelp"), /错误浅红/);
});

test("the service hosts the add-in, the list WPS reads and the offline zip", async () => {
  const fetch = freshFetch;
  const list = await (await fetch(base + "/jsplugins.xml")).text();
  assert.match(list, new RegExp('<jspluginonline name="perfxl" type="et" url="' + base + '/wps/"'));
  for (const f of ["ribbon.xml", "main.js", "js/apply.js", "js/ribbon.js"]) {
    const r = await fetch(base + "/wps/" + f);
    assert.equal(r.status, 200, f);
    assert.equal(await r.text(), fs.readFileSync(path.join(ADDIN, "..", f), "utf8"), f);
  }
  assert.equal((await fetch(base + "/wps/../pyproject.toml")).status, 404);
  // an add-in installed offline calls from another origin: the preflight allows the token, no cookies
  const pre = await fetch(base + "/api/check", { method: "OPTIONS", headers: {
    Origin: "http://wps-addin.local", "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization" } });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  assert.equal(pre.headers.get("access-control-allow-credentials"), null);
  const zip = Buffer.from(await (await fetch(base + "/addins/perfxl-wps.zip")).arrayBuffer());
  assert.equal(zip.subarray(0, 2).toString(), "PK");
  assert.ok(zip.includes(Buffer.from("perfxl_")) && zip.includes(Buffer.from("ribbon.xml")));
});
