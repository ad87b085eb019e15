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

/** The sample copied into ``dir``, opened in a fake application. */
let sampleDump = null;

function openSample(dir) {
  const file = path.join(dir, path.basename(SAMPLE));
  fs.copyFileSync(SAMPLE, file);
  sampleDump = sampleDump || dumpFile("dump", SAMPLE);
  const book = new Workbook({ ...sampleDump, path: dir }, file);
  return { app: application(book), book, file };
}

module.exports = { ROOT, ADDIN, SAMPLE, python, pyEnv, dumpFile, openSample };
