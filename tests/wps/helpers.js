// Shared by the node tests: paths, the Python that runs perfxl, the sample as a fake workbook.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");
const { Workbook, application } = require("./fake-wps.js");

const ROOT = path.resolve(__dirname, "..", "..");
const ADDIN = path.join(ROOT, "perfxl", "addins", "wps", "js");
const SAMPLE = path.join(ROOT, "samples", "乐昌市民政局-2023.xlsx");

function python() {
  if (process.env.PERFXL_PYTHON) return process.env.PERFXL_PYTHON;
  const venv = path.join(ROOT, ".venv", "bin", "python");
  return fs.existsSync(venv) ? venv : "python3";
}

function pyEnv() {
  return { ...process.env, PYTHONPATH: ROOT + (process.env.PYTHONPATH ? path.delimiter + process.env.PYTHONPATH : "") };
}

/** tests/wps/workbook_dump.py's JSON of ``file`` (mode "dump") or of what the CLI writes ("expected"). */
function dumpFile(mode, file, outdir) {
  const args = [path.join(__dirname, "workbook_dump.py"), mode, file].concat(outdir ? [outdir] : []);
  return JSON.parse(execFileSync(python(), args, { env: pyEnv(), maxBuffer: 64 << 20 }).toString("utf8"));
}

/** The sample (or another workbook ``sample``) copied into ``dir``, opened in a fake application. */
const sampleDumps = new Map();

function openSample(dir, sample = SAMPLE) {
  const file = path.join(dir, path.basename(sample));
  fs.copyFileSync(sample, file);
  if (!sampleDumps.has(sample)) sampleDumps.set(sample, dumpFile("dump", sample));
  const book = new Workbook({ ...sampleDumps.get(sample), path: dir }, file);
  return { app: application(book), book, file };
}

/** fetch over a new connection each time. The add-in runs in WPS's Chromium, which retries a
 *  request whose kept-alive socket the server had just closed; node's fetch does not, and the
 *  tests idle for seconds between requests (past uvicorn's keep-alive timeout). The request's
 *  bytes are still built by the standard Request (the multipart body of the FormData). */
async function freshFetch(url, init) {
  const http = require("node:http");
  const req = new Request(url, init);
  const body = Buffer.from(await req.arrayBuffer());
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method: req.method, headers: Object.fromEntries(req.headers), agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks),
                                               { status: res.statusCode, headers: res.headers })));
    });
    r.on("error", (e) => reject(Object.assign(new TypeError("fetch failed"), { cause: e })));
    r.end(body.length ? body : undefined);
  });
}

module.exports = { ROOT, ADDIN, SAMPLE, python, pyEnv, dumpFile, openSample, freshFetch };
