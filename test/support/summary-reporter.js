// Mocha's spec output for people, plus the counts written to a file for scripts/run-tests.js,
// which prints the repository-wide "N passed, N failed" line (mocha's own summary is not read by CI).
"use strict";
const fs = require("node:fs");
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const target = process.env.MOCHA_SUMMARY_FILE;
      if (!target) return;
      const { passes, failures, pending } = runner.stats;
      fs.writeFileSync(target, JSON.stringify({ passes, failures, pending }));
    });
  }
}

module.exports = SummaryReporter;
