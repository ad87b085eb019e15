// The add-in as WPS loads it: main.js writes a <script> per file, the files run as plain browser
// scripts (globals, no require), and ribbon.xml's callbacks exist on window.ribbon.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { ADDIN, ROOT, openSample } = require("./helpers.js");

const DIR = path.join(ADDIN, "..");

function loadAddin(extra = {}) {
  const shown = [];
  const written = [];
  const storage = new Map();
  const ctx = {
    document: { write: (html) => written.push(/src="([^"]+)"/.exec(html)[1]) },
    location: { protocol: "file:", origin: "null" },
    alert: (t) => shown.push(t), confirm: () => false, prompt: () => null,
    localStorage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, String(v)) },
    Promise, Uint8Array, JSON, Date, Error, Object, String, Number, Array, RegExp, Math, parseInt,
    ...extra
  };
  ctx.window = ctx;
  ctx.self = ctx;
  vm.createContext(ctx);
  vm.runInContext(fs.readFileSync(path.join(DIR, "main.js"), "utf8"), ctx, { filename: "main.js" });
  for (const src of written) vm.runInContext(fs.readFileSync(path.join(DIR, src), "utf8"), ctx, { filename: src });
  return { ctx, shown, written, storage };
}

function ribbonXml() { return fs.readFileSync(path.join(DIR, "ribbon.xml"), "utf8"); }

test("main.js loads every js/ file, and each runs as a browser script", () => {
  const { ctx, written } = loadAddin();
  const files = fs.readdirSync(path.join(DIR, "js")).map((f) => "js/" + f).sort();
  assert.deepEqual([...written].sort(), files);
  assert.equal(written[written.length - 1], "js/ribbon.js", "the callbacks load last, after what they use");
  for (const g of ["PerfxlApply", "PerfxlSnapshot", "PerfxlMessages", "PerfxlClient", "PerfxlSettings", "PerfxlActions"]) {
    assert.equal(typeof ctx[g], "object", g);
  }
  assert.equal(fs.existsSync(path.join(DIR, "index.html")), false, "WPS makes index.html itself");
});

test("every callback ribbon.xml names exists on window.ribbon; every button has an action", () => {
  const { ctx } = loadAddin();
  const xml = ribbonXml();
  const callbacks = [...xml.matchAll(/(?:onLoad|onAction|get\w+)="([\w.]+)"/g)].map((m) => m[1]);
  assert.ok(callbacks.length >= 8);
  for (const cb of callbacks) {
    const [obj, fn] = cb.split(".");
    assert.equal(typeof ctx[obj][fn], "function", cb);
  }
  const ids = [...xml.matchAll(/<button id="(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids.sort(), Object.keys(ctx.PerfxlActions.BUTTONS).sort());
});

test("the WPS tab has the Excel tab's buttons, labels and tooltips", () => {
  const excel = fs.readFileSync(path.join(ROOT, "macros", "customUI.xml"), "utf8");
  const buttons = (xml) => Object.fromEntries([...xml.matchAll(/<button id="(\w+)"[^>]*?label="([^"]+)"[\s\S]*?supertip="([^"]+)"/g)]
    .map((m) => [m[1], m[2]]));
  const wps = buttons(ribbonXml());
  const xl = buttons(excel);
  for (const [id, label] of Object.entries(wps)) assert.equal(xl[id], label, id);
  assert.deepEqual(Object.keys(xl).filter((id) => !(id in wps)).sort(), ["perfxlNewBlank", "perfxlOpenOutput"]);
  assert.match(/绩效自评/.exec(ribbonXml())[0], /绩效自评/);
  assert.match(ribbonXml(), /错误浅红、警告浅橙、提示浅黄/);
  assert.doesNotMatch(ribbonXml(), /黄色/);
});

test("a click without settings asks for them, in Chinese; 设置 stores them for the next click", async () => {
  const answers = ["http://10.0.0.9:8000/", "tok-1"];
  const { ctx, shown, storage } = loadAddin({ prompt: () => answers.shift() });
  const { app } = openSample(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "perfxl-br-")));
  ctx.Application = app;
  ctx.ribbon.OnAction({ Id: "perfxlCheck" });
  await new Promise((r) => setTimeout(r, 50));
  assert.match(shown.pop(), /请先点“设置”/);
  ctx.ribbon.OnAction({ Id: "perfxlSettings" });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(shown.pop(), "设置已保存。");
  assert.deepEqual(JSON.parse(storage.get("perfxl.settings")), { server: "http://10.0.0.9:8000", token: "tok-1" });
});

test("loaded from the service (online mode), the service's own address is used", () => {
  const { ctx } = loadAddin({ location: { protocol: "http:", origin: "http://10.0.0.7:8000" } });
  let asked = null;
  ctx.fetch = (url) => { asked = url; return new Promise(() => {}); };
  const { app } = openSample(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "perfxl-br-")));
  ctx.Application = app;
  ctx.FormData = FormData; ctx.Blob = Blob;
  ctx.Application.FileSystem = require("./fake-wps.js").fileSystem;
  ctx.ribbon.OnAction({ Id: "perfxlCheck" });
  assert.equal(asked, "http://10.0.0.7:8000/api/check");
});
