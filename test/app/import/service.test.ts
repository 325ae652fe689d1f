import { expect } from "chai";
import { statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateCsv, phoneFor } from "../../support/contacts";
import { FakeClock } from "../../support/fake-clock";
import { startHarness, waitFor } from "../../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

/** The service in this process against the simulator, on a temporary data dir. */
describe("contact import through the service (simulator, real files)", function () {
  this.timeout(120_000);
  let h: Harness;
  afterEach(async () => h?.close());

  /** Summaries of archived files; the data file is moved in last, so only finished files count. */
  const summaries = () => {
    const names = h.list("archive");
    return names.filter(
      (name) => name.endsWith(".summary.json") && names.includes(name.slice(0, -".summary.json".length)),
    );
  };
  const summary = (file: string) =>
    JSON.parse(
      h.read(
        "archive",
        summaries().find((name) => name.endsWith(`${file}.summary.json`))!,
      ),
    ) as Record<string, unknown>;
  const rejectsOf = (file: string) => {
    const report = h.list("rejects").find((name) => name.endsWith(`${file}.rejects.csv`));
    return report ? h.read("rejects", report) : "";
  };
  const healthy = async () =>
    (await h.service.app.inject({ method: "GET", url: "/healthz" })).statusCode === 200;

  it("imports 100,000 rows: exactly the good rows reach Genesys, every bad row is reported with its line", async () => {
    h = await startHarness();
    const file = generateCsv(100_000, { badEvery: 97, crlf: true });
    h.drop("big.csv", file.content);
    await waitFor(() => summaries().length === 1, "the file to be archived");
    const contacts = h.sim.contacts();
    expect(contacts.size).to.equal(file.goodIds.length);
    for (const id of file.goodIds) expect(contacts.has(id), id).to.equal(true);
    expect(contacts.get("c0")!.data).to.deep.equal({
      id: "c0",
      phone: "+353850000000",
      firstName: "Name, 0",
      note: 'said "hi"',
    });
    expect([...contacts.values()].every((contact) => contact.writes === 1)).to.equal(true);
    const reportedLines = rejectsOf("big.csv")
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((line) => Number(line.split(",")[0]));
    expect(reportedLines).to.deep.equal(file.badLines);
    expect(summary("big.csv")).to.include({
      status: "imported_with_rejects",
      synced: file.goodIds.length,
      rejected: file.badLines.length,
    });
    const metrics = (await h.service.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).to.contain(`import_rows_total{outcome="synced"} ${file.goodIds.length}`);
    expect(metrics).to.contain(`import_rows_total{outcome="rejected"} ${file.badLines.length}`);
    expect(h.list("state").filter((name) => name.endsWith(".journal"))).to.deep.equal([]);
    expect(h.list("processing")).to.deep.equal([]);
  });

  it("imports NDJSON too", async () => {
    h = await startHarness();
    const lines = Array.from({ length: 2_500 }, (_, index) =>
      JSON.stringify({ id: `n${index}`, phone: phoneFor(index), score: index }),
    );
    h.drop("contacts.ndjson", lines.join("\n") + "\n");
    await waitFor(() => summaries().length === 1, "the file to be archived");
    expect(h.sim.contacts().size).to.equal(2_500);
    expect(h.sim.contacts().get("n7")!.data.score).to.equal("7");
  });

  describe("bad input: a clear report, the service still up, nothing good lost", () => {
    beforeEach(async () => {
      h = await startHarness();
    });

    it("an unterminated quote: rows before it sync, the unread rest is kept to fix", async () => {
      h.drop(
        "quote.csv",
        `id,phone\na,${phoneFor(1)}\nb,${phoneFor(2)}\nc,"${phoneFor(3)}\nd,${phoneFor(4)}\n`,
      );
      await waitFor(() => summaries().length === 1, "the file to be archived");
      expect([...h.sim.contacts().keys()].sort()).to.deep.equal(["a", "b"]);
      expect(summary("quote.csv")).to.include({ status: "partial" });
      expect(rejectsOf("quote.csv")).to.contain("line 4 opens a quoted field that is never closed");
      const remainder = h.list("rejects").find((name) => name.endsWith("quote.csv.remainder.csv"))!;
      expect(h.read("rejects", remainder)).to.equal(`id,phone\nc,"${phoneFor(3)}\nd,${phoneFor(4)}\n`);
      expect(await healthy()).to.equal(true);
    });

    it("wrong column counts, non-UTF-8 bytes and duplicate ids: those rows reported, the rest synced", async () => {
      const content = Buffer.concat([
        Buffer.from(
          `id,phone,name\nok1,${phoneFor(1)},A\nwide,${phoneFor(2)},B,extra\nnarrow,${phoneFor(3)}\nbin,${phoneFor(4)},`,
        ),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(`\nok1,${phoneFor(5)},again\nok2,${phoneFor(6)},C\n`),
      ]);
      h.drop("mixed.csv", content);
      await waitFor(() => summaries().length === 1, "the file to be archived");
      expect([...h.sim.contacts().keys()].sort()).to.deep.equal(["ok1", "ok2"]);
      expect(h.sim.contacts().get("ok1")!.data.name).to.equal("A");
      const report = rejectsOf("mixed.csv");
      expect(report).to.contain("line 3 has 4 fields where the header has 3");
      expect(report).to.contain("line 4 has 2 fields where the header has 3");
      expect(report).to.contain("line 5 is not valid UTF-8");
      expect(report).to.contain("line 6 repeats id ok1 from line 2; the first row was kept");
    });

    it("an empty file is refused with the reason beside it; a header-only file is archived with 0 rows", async () => {
      h.drop("empty.csv", "");
      h.drop("header.csv", "id,phone\r\n");
      await waitFor(
        () => summaries().length === 1 && h.list("rejects").length >= 2,
        "both files to be handled",
      );
      const reason = h.list("rejects").find((name) => name.endsWith("empty.csv.reason.txt"))!;
      expect(h.read("rejects", reason)).to.contain("the file is empty");
      expect(summary("header.csv")).to.include({ status: "imported", rowsRead: 0 });
      expect(h.capture.text()).to.contain("file had a header but no rows");
    });

    it("a 10 MB single line: reported, rows before it synced, the service stays up", async () => {
      h.drop(
        "huge.csv",
        `id,phone,note\na,${phoneFor(1)},x\nb,${phoneFor(2)},${"y".repeat(10 * 1024 * 1024)}\n`,
      );
      h.drop(
        "huge.ndjson",
        `{"id":"n1","phone":"${phoneFor(3)}"}\n${"z".repeat(10 * 1024 * 1024)}\n{"id":"n3","phone":"${phoneFor(4)}"}\n`,
      );
      await waitFor(() => summaries().length === 2, "both files to be archived");
      expect([...h.sim.contacts().keys()].sort()).to.deep.equal(["a", "n1", "n3"]);
      expect(rejectsOf("huge.csv")).to.contain("line 3 starts a record longer than 1048576 bytes");
      expect(rejectsOf("huge.ndjson")).to.contain("line 2 is longer than 1048576 bytes");
      expect(await healthy()).to.equal(true);
    });

    it("a header with an unknown or missing column refuses the whole file, naming the fix", async () => {
      h.drop("nophone.csv", "id,email\n1,a@b.c\n");
      await waitFor(
        () => h.list("rejects").some((name) => name.endsWith("nophone.csv.reason.txt")),
        "the file to be refused",
      );
      const reason = h.list("rejects").find((name) => name.endsWith("nophone.csv.reason.txt"))!;
      expect(h.read("rejects", reason)).to.contain("none of the phone columns phone (IMPORT_PHONE_COLUMNS)");
      expect(h.sim.contacts().size).to.equal(0);
    });

    it("a name with '..' and a symlink in inbox/ are refused, not followed", async () => {
      writeFileSync(path.join(h.dataDir, "secret.csv"), `id,phone\nleak,${phoneFor(9)}\n`);
      symlinkSync(path.join(h.dataDir, "secret.csv"), path.join(h.dataDir, "inbox", "link.csv"));
      h.drop("x..y.csv", `id,phone\nz,${phoneFor(1)}\n`);
      await waitFor(
        () => h.list("rejects").filter((name) => name.endsWith(".reason.txt")).length === 2,
        "both to be refused",
      );
      const reasons = h
        .list("rejects")
        .filter((name) => name.endsWith(".reason.txt"))
        .map((name) => h.read("rejects", name))
        .join("\n");
      expect(reasons).to.contain("symbolic links are not imported");
      expect(reasons).to.contain('contains ".."');
      expect(h.sim.contacts().size).to.equal(0);
    });

    it("contacts Genesys refuses are found by splitting the batch; the rest of the batch syncs", async () => {
      h.sim.faults.refuseContacts((contact) =>
        (contact.data as Record<string, string> | undefined)?.name === "refuse me"
          ? "contact.invalid: the name is not allowed"
          : undefined,
      );
      const rows = Array.from(
        { length: 600 },
        (_, index) => `r${index},${phoneFor(index)},${index === 123 || index === 456 ? "refuse me" : "fine"}`,
      );
      h.drop("refused.csv", `id,phone,name\n${rows.join("\n")}\n`);
      await waitFor(() => summaries().length === 1, "the file to be archived");
      expect(h.sim.contacts().size).to.equal(598);
      const report = rejectsOf("refused.csv");
      expect(report).to.contain("line 125 was refused by Genesys Cloud");
      expect(report).to.contain("line 458 was refused by Genesys Cloud");
    });
  });

  it("a file still being written is left alone until it stops changing", async () => {
    // Scans run on the fake clock: each write below is followed by exactly the scans the test asks for.
    const clock = new FakeClock(Date.now());
    h = await startHarness({ env: { IMPORT_SETTLE_SECONDS: "1" }, clock });
    const scanned = async () => {
      const before = h.service.importer.status().lastScanAt;
      await clock.advance(100); // IMPORT_SCAN_INTERVAL_SECONDS of the harness
      await waitFor(() => h.service.importer.status().lastScanAt !== before, "a scan");
    };
    const target = path.join(h.dataDir, "inbox", "slow.csv");
    writeFileSync(target, `id,phone\n`);
    await waitFor(() => h.service.importer.status().lastScanAt !== undefined, "the first scan");
    for (let index = 0; index < 10; index += 1) {
      writeFileSync(target, `s${index},${phoneFor(index)}\n`, { flag: "a" });
      await scanned();
      expect(h.list("processing"), `while row ${index} was being written`).to.deep.equal([]);
      expect(h.list("inbox")).to.deep.equal(["slow.csv"]);
    }
    const lastWriteMs = statSync(target).mtimeMs;
    // Unchanged since the last scan, it is taken once it is also a second old on the service's clock.
    for (let scans = 0; scans < 50 && h.list("inbox").length > 0; scans += 1) await scanned();
    expect(h.service.importer.status().lastScanAt! - lastWriteMs).to.be.at.least(1_000);
    await waitFor(() => summaries().length === 1, "the file to be archived");
    expect(h.sim.contacts().size).to.equal(10);
  });

  it("waits out a Retry-After longer than the cap instead of losing the batch", async () => {
    h = await startHarness({ env: { GENESYS_MAX_RETRY_AFTER_SECONDS: "1" } });
    h.sim.faults.rateLimitStorm(2, 2);
    const file = generateCsv(3_000);
    h.drop("deferred.csv", file.content);
    await waitFor(() => summaries().length === 1, "the file to be archived");
    expect(h.sim.contacts().size).to.equal(3_000);
    expect(h.sim.received.earlyRetries).to.deep.equal([]);
  });

  it("reports not ready until the first token, then ready, and not ready again while shutting down", async () => {
    h = await startHarness({ beforeService: (sim) => sim.faults.tokenServerErrors(2) });
    const early = await h.service.app.inject({ method: "GET", url: "/readyz" });
    expect(early.statusCode).to.equal(503);
    expect(early.json().reasons).to.include("no valid Genesys Cloud access token yet");
    expect(await healthy()).to.equal(true);
    await waitFor(() => h.service.client.hasValidToken(), "a token after the login server recovers", 30_000);
    expect((await h.service.app.inject({ method: "GET", url: "/readyz" })).statusCode).to.equal(200);
    const shutdown = h.service.shutdown();
    const late = await h.service.app.inject({ method: "GET", url: "/readyz" }).catch(() => undefined);
    await shutdown;
    expect(late === undefined || late.statusCode === 503).to.equal(true);
  });
});
