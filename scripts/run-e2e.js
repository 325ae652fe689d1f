#!/usr/bin/env node
// `npm run test:e2e`: the end-to-end tier (test/e2e) against the cluster in KUBECONFIG, with the
// real pulumi on PATH and the image E2E_IMAGE already on the node. Everything it needs is checked
// first; a missing piece stops it at once with one line naming it and how to get it. It ends with
// "N passed, N failed" like `npm test`.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const KIT = "bash ../shared/cluster-kit/tools.sh && export PATH=$KIT_HOME/bin:$PATH";

function run(command, args) {
  return spawnSync(command, args, { encoding: "utf8", env: process.env, timeout: 60_000 });
}

function missing(what) {
  console.log(`npm run test:e2e: ${what}`);
  process.exit(1);
}

function preflight() {
  for (const [tool, args, fix] of [
    ["kubectl", ["version", "--client"], KIT],
    ["pulumi", ["version"], KIT],
    ["openssl", ["version"], "apt-get install openssl"],
  ]) {
    const result = run(tool, args);
    if (result.error) missing(`${tool} is missing: ${fix}`);
  }
  if (!process.env.KUBECONFIG || !fs.existsSync(process.env.KUBECONFIG))
    missing(
      "KUBECONFIG names no file: start a disposable cluster (bash ../shared/cluster-kit/cluster.sh up, kind, k3d) and export KUBECONFIG",
    );
  const nodes = run("kubectl", ["get", "nodes", "-o", "json"]);
  if (nodes.status !== 0)
    missing(
      `the cluster in ${process.env.KUBECONFIG} does not answer (${(nodes.stderr || "").trim().split("\n").pop()}): start it, e.g. bash ../shared/cluster-kit/cluster.sh up`,
    );
  const image = process.env.E2E_IMAGE;
  if (!image)
    missing(
      "E2E_IMAGE is not set: build app/Dockerfile, load it on the node, and export E2E_IMAGE=<name:tag> (docs/e2e.md)",
    );
  const normalise = (name) => {
    const withTag = /:[^/]+$/.test(name) ? name : `${name}:latest`;
    const first = withTag.split("/")[0];
    const hasRegistry =
      withTag.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
    return hasRegistry ? withTag : `docker.io/${withTag.includes("/") ? "" : "library/"}${withTag}`;
  };
  // The kubelet reports a newly loaded image with its next node status update (about 10 s).
  const deadline = Date.now() + 90_000;
  for (;;) {
    const current = run("kubectl", ["get", "nodes", "-o", "json"]);
    const onNode =
      current.status === 0 &&
      JSON.parse(current.stdout).items.some((node) =>
        (node.status.images || []).some((entry) => (entry.names || []).includes(normalise(image))),
      );
    if (onNode) break;
    if (Date.now() > deadline)
      missing(
        `image ${image} is not on the node: bash ../shared/cluster-kit/image.sh load ${image} (kind load docker-image, k3d image import)`,
      );
    spawnSync("sleep", ["2"]);
  }
}

preflight();

const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "e2e-summary-")), "summary.json");
const mocha = spawnSync(
  path.join(root, "node_modules", ".bin", "mocha"),
  [
    "--config",
    path.join(root, "test/e2e/.mocharc.json"),
    "--reporter",
    path.join(root, "test/support/summary-reporter.js"),
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, MOCHA_SUMMARY_FILE: summaryFile } },
);
let passed = 0;
let failed = 0;
if (fs.existsSync(summaryFile)) {
  const stats = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
  passed = stats.passes;
  failed = stats.failures;
  if (passed + failed === 0) {
    console.log("the e2e tier ran no test: counted as a failure");
    failed = 1;
  }
} else {
  console.log("mocha ended without a summary (crashed before the end): counted as a failure");
  failed = 1;
}
if (mocha.status !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
