import { expect } from "chai";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { generateCsv } from "../../support/contacts";
import { startHarness, waitFor } from "../../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

/**
 * The inbox as other systems use it: files that fail, files that keep growing after they were
 * claimed or archived, files removed under the service, files of bad rows. The service in this
 * process against the simulator, on real files; processes.test.ts runs it as uid 500.
 */
describe("a hostile inbox (simulator, real files)", function () {
  this.timeout(120_000);
  let h: Harness;
  afterEach(async () => h?.close());

  // Paced at 10 batches a second so that the test can act in the middle of a file.
  const SLOW = { GENESYS_RATE_LIMIT_PER_WINDOW: "10", GENESYS_RATE_LIMIT_WINDOW_MS: "1000" };
  const reasons = () =>
    Object.fromEntries(
      h
        .list("rejects")
        .filter((name) => name.endsWith(".reason.txt"))
        .map((name): [string, string] => [name, h.read("rejects", name)])
        .filter(([, text]) => text !== ""), // still being written
    );
  const archivedData = () =>
    h.list("archive").filter((name) => !name.endsWith(".summary.json") && !name.endsWith(".rejects.csv"));
  /** Where this service holds a claimed file: processing/<replica>/<name>. */
  const claimed = (name: string): string | undefined => {
    const processing = path.join(h.dataDir, "processing");
    for (const folder of readdirSync(processing)) {
      const candidate = path.join(processing, folder, name);
      if (readdirSync(path.join(processing, folder)).includes(name)) return candidate;
    }
    return undefined;
  };
  const metrics = async () => (await h.service.app.inject({ method: "GET", url: "/metrics" })).body;

  it("one file that fails every time never holds back the files behind it, and is logged once", async () => {
    h = await startHarness();
    // An operator's mistake that makes a.csv fail at its journal: a folder where the journal goes.
    mkdirSync(path.join(h.dataDir, "state", "a.csv.journal"));
    h.drop("a.csv", generateCsv(10).content);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a.csv is the older, tried first
    h.drop("b.csv", generateCsv(10, { idPrefix: "b-" }).content);
    await waitFor(() => archivedData().some((name) => name.endsWith("-b.csv")), "b.csv to be imported");
    // Several scans later a.csv is still waiting in the inbox (not stuck in processing/), logged once.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(h.list("inbox")).to.deep.equal(["a.csv"]);
    const failures = h.capture.lines
      .map((line) => JSON.parse(line) as { msg?: string; file?: string })
      .filter((line) => line.msg?.startsWith("a file could not be handled") && line.file === "a.csv");
    expect(failures, JSON.stringify(failures.slice(0, 3))).to.have.length(1);
    expect(await metrics()).to.match(/import_file_failures_total\{step="import"\} ([2-9]|\d\d+)/);
  });

  it("lists at most IMPORT_MAX_REJECTED_ROWS rows in a report, counts the rest, and stops a file that is mostly bad", async () => {
    h = await startHarness({ env: { IMPORT_MAX_REJECTED_ROWS: "100" } });
    const someBad = generateCsv(2_000, { badEvery: 5 });
    h.drop("some-bad.csv", someBad.content);
    await waitFor(() => archivedData().length === 1, "some-bad.csv to be archived");
    const summaryName = h.list("archive").find((name) => name.endsWith("some-bad.csv.summary.json"))!;
    const summary = JSON.parse(h.read("archive", summaryName)) as Record<string, number>;
    expect(summary.rejected).to.equal(someBad.badLines.length);
    expect(summary.rejectedNotListed).to.equal(someBad.badLines.length - 100);
    const report = h.list("rejects").find((name) => name.endsWith("some-bad.csv.rejects.csv"))!;
    expect(h.read("rejects", report).trimEnd().split("\n")).to.have.length(1 + 100);
    expect(h.sim.contacts().size).to.equal(someBad.goodIds.length);

    // 3,000 rows of one id: the first is sent, every other one is a duplicate.
    const duplicates = ["id,phone", ...Array.from({ length: 3_000 }, () => "same,+353851234567")].join("\n");
    h.drop("duplicates.csv", `${duplicates}\n`);
    await waitFor(() => Object.keys(reasons()).some((name) => name.includes("duplicates.csv")), "a refusal");
    const reason = Object.entries(reasons()).find(([name]) => name.includes("duplicates.csv"))![1];
    expect(reason).to.match(/^mostly bad: 100 of the first 101 rows were refused/);
    expect(reason).to.contain("1 good row(s) read before that were sent");
    const duplicatesReport = h.list("rejects").find((name) => name.endsWith("duplicates.csv.rejects.csv"))!;
    expect(h.read("rejects", duplicatesReport).trimEnd().split("\n")).to.have.length(1 + 100);
    expect(h.list("state").filter((name) => name.endsWith(".journal"))).to.deep.equal([]);
  });

  it("says what is wrong with a header row that cannot be parsed, not that the file is empty", async () => {
    h = await startHarness();
    h.drop("broken-header.csv", 'id,"phone\n1,0851234567\n');
    await waitFor(() => Object.keys(reasons()).length === 1, "the file to be refused");
    const reason = Object.values(reasons())[0]!;
    expect(reason).to.contain("the header row (line 1)");
    expect(reason).to.contain("never closed");
    expect(reason).to.not.contain("empty");
  });

  it("a file deleted from processing/ mid-import ends with a reason and a count, not ENOENT", async () => {
    h = await startHarness({ env: { ...SLOW, IMPORT_CLAIM_TIMEOUT_SECONDS: "1" } });
    h.drop("doomed.csv", generateCsv(20_000).content);
    await waitFor(() => h.sim.contacts().size >= 2_000, "part of the file to be imported");
    rmSync(claimed("doomed.csv")!);
    await waitFor(() => Object.keys(reasons()).length === 1, "the file to be reported");
    expect(Object.values(reasons())[0]).to.match(
      /deleted from processing\/ while it was being imported .*; \d+ row\(s\) had been sent/,
    );
    expect(h.capture.text()).to.not.contain("ENOENT");
    expect(h.list("state").filter((name) => name.endsWith(".journal"))).to.deep.equal([]);
  });

  it("a file written to after its claim is put aside with the reason; the rows sent before stay", async () => {
    h = await startHarness({ env: { ...SLOW, IMPORT_CLAIM_TIMEOUT_SECONDS: "1" } });
    const first = generateCsv(20_000);
    h.drop("growing.csv", first.content);
    await waitFor(() => h.sim.contacts().size >= 2_000, "part of the file to be imported");
    // The writer did not rename: it goes on appending to the file it already handed over.
    appendFileSync(claimed("growing.csv")!, "late-1,+353851111111,Late,x\n");
    await waitFor(() => Object.keys(reasons()).length === 1, "the file to be put aside");
    const reason = Object.values(reasons())[0]!;
    expect(reason).to.match(/^the file changed after it was claimed \(it grew from \d+ to \d+ bytes\)/);
    expect(reason).to.contain("write-then-rename");
    const sent = Number(/(\d+) row\(s\) read before the change were sent/.exec(reason)![1]);
    expect(sent).to.be.at.least(2_000);
    expect(h.sim.contacts().size).to.be.at.least(sent);
    // The whole file, late row included, is in rejects/ to be dropped again.
    const kept = h.list("rejects").find((name) => name.endsWith("-growing.csv"))!;
    expect(h.read("rejects", kept)).to.contain("late-1");
    expect(archivedData()).to.deep.equal([]);
  });

  it("a file written to after it was imported and archived is moved to rejects/ with the reason", async () => {
    h = await startHarness();
    h.drop("paused-writer.csv", generateCsv(6).content);
    await waitFor(() => archivedData().length === 1, "the first 6 rows to be imported");
    const archived = path.join(h.dataDir, "archive", archivedData()[0]!);
    appendFileSync(archived, "late-1,+353851111111,Late,x\nlate-2,+353851111112,Late,y\n");
    await waitFor(() => Object.keys(reasons()).length === 1, "the archived file to be moved to rejects/");
    expect(Object.values(reasons())[0]).to.match(
      /^the file changed after it was claimed \(it grew from \d+ to \d+ bytes, after it was imported and archived\)/,
    );
    expect(Object.values(reasons())[0]).to.contain("6 row(s) read before the change were sent");
    expect(archivedData()).to.deep.equal([]);
    expect(
      readFileSync(
        path.join(
          h.dataDir,
          "rejects",
          h.list("rejects").find((n) => n.endsWith("-paused-writer.csv"))!,
        ),
        "utf8",
      ),
    ).to.contain("late-2");
    expect(await metrics()).to.contain('import_files_total{outcome="changed_after_import"} 1');
  });
});
