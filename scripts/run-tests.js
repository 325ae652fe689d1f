#!/usr/bin/env node
// `npm test`: type-check, lint, format check and every mocha suite, then one closing line
// "N passed, N failed" that CI reads. Each static check counts as one test.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
let passed = 0;
let failed = 0;

// The suites run real tools. Without one, stop here with one line that names it and its install
// command, instead of failing deep inside a suite.
const REQUIRED_TOOLS = [
  {
    name: "helm",
    binary: process.env.HELM_BIN ?? "helm",
    args: ["version", "--short"],
    install:
      "go install helm.sh/helm/v3/cmd/helm@v3.22.0 and put $(go env GOPATH)/bin on PATH (or set HELM_BIN)",
  },
  {
    name: "chromium",
    binary: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--version"],
    install: "apt-get install chromium (or set CHROMIUM_PATH)",
  },
];
for (const tool of REQUIRED_TOOLS) {
  const probe = spawnSync(tool.binary, tool.args, { encoding: "utf8", timeout: 30_000 });
  if (probe.error || probe.status !== 0) {
    console.log(`npm test needs ${tool.name}, which is missing (${tool.binary}): ${tool.install}`);
    process.exit(1);
  }
}

function check(label, command, args, env = {}) {
  console.log(`\n▶ ${label}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  const ok = result.status === 0;
  console.log(ok ? `✔ ${label}` : `✖ ${label} (exit ${result.status ?? result.signal})`);
  return ok;
}

for (const [label, command, args] of [
  ["type-check (tsc --noEmit)", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]],
  ["lint (eslint)", bin("eslint"), ["."]],
  ["format (prettier --check)", bin("prettier"), ["--check", "."]],
]) {
  if (check(label, command, args)) passed += 1;
  else failed += 1;
}

const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mocha-summary-")), "summary.json");
const mochaArgs = [
  "--reporter",
  path.join(root, "test/support/summary-reporter.js"),
  ...process.argv.slice(2),
];
const mochaOk = check("mocha suites", bin("mocha"), mochaArgs, { MOCHA_SUMMARY_FILE: summaryFile });
if (fs.existsSync(summaryFile)) {
  const stats = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
  passed += stats.passes;
  failed += stats.failures;
  if (stats.passes + stats.failures === 0) {
    console.log("mocha ran no test: counted as a failure");
    failed += 1;
  }
} else {
  console.log("mocha ended without a summary (crashed before the end): counted as a failure");
  failed += 1;
}
if (!mochaOk && failed === 0) failed += 1;

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
