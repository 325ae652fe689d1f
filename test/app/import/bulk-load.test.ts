import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateCsv, phoneFor } from "../../support/contacts";
import { FakeClock } from "../../support/fake-clock";
import { startHarness } from "../../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

const CONTACTS = "POST /api/v2/outbound/contactlists/{id}/contacts";
const CLEAR = "POST /api/v2/outbound/contactlists/{id}/clear";

/**
 * Whole-list loads through Genesys' bulk upload (inbox/bulk/, inbox/replace/), against the
 * simulator's multipart upload and import-status progression, on a fake clock so the polling and
 * the waits are stepped, not slept.
 */
describe("bulk contact-list loads (simulator, fake clock)", function () {
  this.timeout(120_000);
  let h: Harness;
  let clock: FakeClock;
  afterEach(async () => h?.close());

  const archived = (name: string) => h.list("archive").find((entry) => entry.endsWith(`-${name}`));
  const summaryOf = (folder: string, name: string) =>
    JSON.parse(
      h.read(folder, `${h.list(folder).find((entry) => entry.endsWith(`-${name}`))}.summary.json`),
    ) as {
      status: string;
      rowsRead: number;
      accepted: number;
      rejected: number;
      synced: number;
      mode: string;
      bulk: {
        cleared: boolean;
        uploads: number;
        totalRecords: number;
        completedRecords: number;
        failureReason?: string;
      };
      rejectsReport?: string;
      reason?: string;
    };

  const metricsText = async () => (await h.service.app.inject({ method: "GET", url: "/metrics" })).body;

  /** The reasons written beside refused files (each written just after its file is moved). */
  const reasons = () =>
    h
      .list("rejects")
      .filter((name) => name.endsWith(".reason.txt"))
      .map((name) => h.read("rejects", name))
      .filter((text) => text !== "");

  async function start(env: Record<string, string> = {}, recordsPerSecond = 1_000) {
    clock = new FakeClock(Date.now());
    h = await startHarness({
      clock,
      sim: { clock, uploadRecordsPerSecond: recordsPerSecond },
      env: { IMPORT_BULK_UNSEEN_SECONDS: "20", ...env },
    });
    await clock.advanceUntil(() => h.service.client.hasValidToken(), "the first token");
  }

  it("loads a whole file in one upload, reports Genesys' progress, and keeps the rows refused locally", async () => {
    // 200 records a second: Genesys takes about 25 s of the fake clock over the file, several polls.
    await start({}, 200);
    const listId = h.sim.contactListIds[0]!;
    const file = generateCsv(5_000, { badEvery: 100 });
    h.drop("bulk/nightly.csv", file.content);

    let sawProgress = false;
    await clock.advanceUntil(() => {
      const current = h.service.importer.status().current;
      if (
        current?.phase === "importing" &&
        (current.percentComplete ?? 0) > 0 &&
        current.percentComplete! < 100
      )
        sawProgress = true;
      return archived("nightly.csv") !== undefined;
    }, "the bulk load to finish");
    expect(sawProgress, "progress between 0 and 100 % while Genesys imports").to.equal(true);

    expect(h.sim.uploads.received).to.have.length(1);
    expect(h.sim.uploads.received[0]!.records).to.equal(file.goodIds.length);
    expect(h.sim.count(CONTACTS, 200), "no contact went through the 1,000-per-request route").to.equal(0);
    const contacts = h.sim.contacts(listId);
    expect(contacts.size).to.equal(file.goodIds.length);
    expect(contacts.get("c0")!.data.phone, "phone numbers go in E.164").to.equal(
      `+353${phoneFor(0).slice(1)}`,
    );

    const summary = summaryOf("archive", "nightly.csv");
    expect(summary).to.deep.include({
      status: "imported_with_rejects",
      mode: "bulk",
      rowsRead: 5_000,
      accepted: file.goodIds.length,
      rejected: file.badLines.length,
      synced: file.goodIds.length,
    });
    expect(summary.bulk).to.deep.equal({
      cleared: false,
      uploads: 1,
      totalRecords: file.goodIds.length,
      completedRecords: file.goodIds.length,
    });
    const report = readFileSync(summary.rejectsReport!, "utf8").trim().split("\n");
    expect(report.slice(1).map((line) => Number(line.split(",")[0]))).to.deep.equal(file.badLines);
    await clock.advanceUntil(
      () => !h.list("state").some((name) => name.includes(".bulk.")),
      "the journal and the staged file removed",
    );
    const logs = h.capture.lines.map((line) => JSON.parse(line) as { msg: string; percentComplete?: number });
    expect(logs.some((line) => line.msg === "Genesys is importing the file")).to.equal(true);
    const metrics = await metricsText();
    expect(metrics).to.contain('import_bulk_uploads_total{outcome="sent"} 1');
  });

  it("refuses inbox/replace/ unless clearing is allowed, and with it clears the list once before loading", async () => {
    await start();
    const listId = h.sim.contactListIds[0]!;
    h.drop("replace/list.csv", generateCsv(100, { idPrefix: "new" }).content);
    await clock.advanceUntil(() => reasons().length === 1, "the refusal");
    expect(reasons()[0]).to.contain("IMPORT_BULK_ALLOW_CLEAR=true");
    expect(h.sim.uploads.received).to.have.length(0);
    expect(h.sim.count(CLEAR, 204)).to.equal(0);
    await h.close();

    await start({ IMPORT_BULK_ALLOW_CLEAR: "true" });
    const list = h.sim.contactListIds[0]!;
    h.drop("old.csv", generateCsv(300, { idPrefix: "old" }).content);
    await clock.advanceUntil(() => archived("old.csv") !== undefined, "the delta import");
    h.drop("replace/list.csv", generateCsv(200, { idPrefix: "new" }).content);
    await clock.advanceUntil(() => archived("list.csv") !== undefined, "the replacement");
    const ids = [...h.sim.contacts(list).keys()];
    expect(ids).to.have.length(200);
    expect(ids.every((id) => id.startsWith("new"))).to.equal(true);
    expect(h.sim.count(CLEAR, 204)).to.equal(1);
    expect(summaryOf("archive", "list.csv").bulk.cleared).to.equal(true);
    expect(listId).to.be.a("string");
  });

  it("takes files oldest first across the folders: a delta dropped after a replacement survives its clear", async () => {
    await start({ IMPORT_BULK_ALLOW_CLEAR: "true" });
    const list = h.sim.contactListIds[0]!;
    // Written delta first, but dated after the replacement: the order they came in is the mtime.
    h.drop("delta.csv", generateCsv(30, { idPrefix: "delta" }).content);
    h.drop("replace/list.csv", generateCsv(100, { idPrefix: "new" }).content);
    const earlier = new Date(clock.now() - 60_000);
    utimesSync(path.join(h.dataDir, "inbox", "replace", "list.csv"), earlier, earlier);
    await clock.advanceUntil(
      () => archived("list.csv") !== undefined && archived("delta.csv") !== undefined,
      "both files",
    );
    const ids = [...h.sim.contacts(list).keys()];
    expect(
      ids.filter((id) => id.startsWith("delta")),
      "the delta, loaded after the clear",
    ).to.have.length(30);
    expect(ids).to.have.length(130);
  });

  it("a 504 to the upload leaves its fate unknown: the import status decides, and it is sent again only when unseen", async () => {
    await start();
    h.sim.faults.serverErrors(1, 504, "POST /uploads/v2/contactlist");
    const file = generateCsv(500);
    h.drop("bulk/gateway.csv", file.content);
    await clock.advanceUntil(() => archived("gateway.csv") !== undefined, "the bulk load to finish");
    expect(h.sim.uploads.received, "the 504 took nothing; the second upload was taken").to.have.length(1);
    expect(summaryOf("archive", "gateway.csv").bulk.uploads).to.equal(2);
    const metrics = await metricsText();
    expect(metrics).to.contain('import_bulk_uploads_total{outcome="unknown"} 1');
    expect(
      h.capture.lines.some((line) => line.includes("shows no sign of the interrupted upload")),
      "re-sent only after the unseen window",
    ).to.equal(true);
  });

  it("refuses NDJSON and a file it cannot read to the end, sending nothing", async () => {
    await start();
    h.drop("bulk/events.ndjson", '{"id":"a","phone":"0851234567"}\n');
    h.drop("bulk/broken.csv", 'id,phone\na,0851234567\nb,"0851234568\n');
    await clock.advanceUntil(() => reasons().length === 2, "both refusals");
    expect(reasons().join("\n")).to.contain("a bulk load takes CSV");
    expect(reasons().join("\n")).to.contain("takes the whole file, so nothing was sent");
    expect(h.sim.uploads.received).to.have.length(0);
  });

  it("an upload whose answer is lost is found in the import status and followed, never sent again", async () => {
    await start();
    h.sim.faults.loseUploadAnswers(1);
    const file = generateCsv(3_000);
    h.drop("bulk/lost-answer.csv", file.content);
    await clock.advanceUntil(() => archived("lost-answer.csv") !== undefined, "the bulk load to finish");
    expect(h.sim.uploads.received, "Genesys got the file once").to.have.length(1);
    expect(summaryOf("archive", "lost-answer.csv").bulk.uploads).to.equal(1);
    expect(h.sim.contacts(h.sim.contactListIds[0]!).size).to.equal(file.goodIds.length);
    const metrics = await metricsText();
    expect(metrics).to.contain('import_bulk_uploads_total{outcome="unknown"} 1');
  });

  it("a connection broken before the whole file was sent: cut short, sent again without the unseen wait", async () => {
    // An hour's unseen window: only an upload known not to have arrived can be re-sent in time.
    await start({ IMPORT_BULK_UNSEEN_SECONDS: "3600" });
    h.sim.faults.connectionResets(1, "POST /uploads/v2/contactlist");
    const file = generateCsv(100_000); // 4.6 MB: more than the socket takes before the reset
    h.drop("bulk/reset.csv", file.content);
    const droppedAt = clock.now();
    await clock.advanceUntil(() => archived("reset.csv") !== undefined, "the bulk load to finish");
    expect(clock.now() - droppedAt, "well within the unseen window").to.be.below(600_000);
    expect(h.sim.uploads.received).to.have.length(1);
    expect(summaryOf("archive", "reset.csv").bulk.uploads).to.equal(2);
    expect(h.sim.contacts(h.sim.contactListIds[0]!).size).to.equal(file.goodIds.length);
    const metrics = await metricsText();
    expect(metrics).to.contain('import_bulk_uploads_total{outcome="cut_short"} 1');
    expect(metrics).to.contain('import_bulk_uploads_total{outcome="sent"} 1');
  });

  it("a refused upload (503, 429) is sent again: Genesys answered, so it does not have the file", async () => {
    await start();
    h.sim.faults.serverErrors(1, 503, "POST /uploads/v2/contactlist");
    const file = generateCsv(1_000);
    h.drop("bulk/refused.csv", file.content);
    await clock.advanceUntil(() => archived("refused.csv") !== undefined, "the bulk load to finish");
    expect(h.sim.uploads.received).to.have.length(1);
    // The client resends it itself: Genesys answered, so the body is known not to have been taken.
    expect(h.sim.count("POST /uploads/v2/contactlist", 503)).to.equal(1);
    expect(h.sim.count("POST /uploads/v2/contactlist", 200)).to.equal(1);
    expect(h.sim.contacts(h.sim.contactListIds[0]!).size).to.equal(file.goodIds.length);
  });

  it("a load Genesys cannot import ends in rejects/ with its failureReason and the fix, the rejects report kept", async () => {
    await start();
    h.sim.faults.failUploadImports("MISSING_CUSTOM_ID");
    const file = generateCsv(500, { badEvery: 50 });
    h.drop("bulk/keyed.csv", file.content);
    await clock.advanceUntil(() => reasons().length === 1, "the failure");
    expect(reasons()[0]).to.contain("Genesys could not import the file (MISSING_CUSTOM_ID)");
    expect(reasons()[0]).to.contain("IMPORT_ID_COLUMN");
    const summary = summaryOf("rejects", "keyed.csv");
    expect(summary.status).to.equal("failed");
    expect(summary.bulk.failureReason).to.equal("MISSING_CUSTOM_ID");
    expect(summary.synced).to.equal(0);
    expect(readFileSync(summary.rejectsReport!, "utf8").trim().split("\n")).to.have.length(
      file.badLines.length + 1,
    );
    const metrics = await metricsText();
    expect(metrics).to.contain('import_files_total{outcome="failed"} 1');
  });

  it("an OAuth client without the upload permission: the bulk file is refused with the fix, deltas keep going", async () => {
    await start();
    const listId = h.sim.contactListIds[0]!;
    h.sim.faults.contactListFailure(listId, 403, "outbound:contactList:upload");
    h.drop("bulk/nightly.csv", generateCsv(200).content);
    await clock.advanceUntil(() => reasons().length === 1, "the refusal");
    expect(reasons()[0]).to.contain("outbound:contactList:upload");
    expect(reasons()[0]).to.contain("drop the file in inbox/bulk/ again");
    expect(h.service.importer.status().blocked, "the list is not blocked for the API path").to.equal(
      undefined,
    );
    const delta = generateCsv(50, { idPrefix: "d" });
    h.drop("delta.csv", delta.content);
    await clock.advanceUntil(() => archived("delta.csv") !== undefined, "the delta import");
    expect(h.sim.contacts(listId).size).to.equal(delta.goodIds.length);
  });

  it("a journal left at `done` finishes its own file without an upload, and is ignored for an identical file dropped later (inode)", async () => {
    await start();
    const file = generateCsv(300);
    /** Drops `name` with a journal at `done` for the same content, whose inode is this file's or another's. */
    const dropWithDoneJournal = (name: string, sameInode: boolean) => {
      const folder = path.join(h.dataDir, "inbox", "bulk");
      const temporary = path.join(folder, `.${name}.tmp`);
      writeFileSync(temporary, file.content);
      const { size, ino } = statSync(temporary);
      const head = Buffer.from(file.content).subarray(0, 65_536);
      const identity = {
        name,
        size,
        headSha256: createHash("sha256").update(head).digest("hex"),
        ino: sameInode ? ino : ino + 1,
      };
      const accepted = file.goodIds.length;
      mkdirSync(path.join(h.dataDir, "state"), { recursive: true });
      writeFileSync(
        path.join(h.dataDir, "state", `${name}.bulk.json`),
        JSON.stringify({
          identity,
          phase: "done",
          counts: { rowsRead: 300, accepted, rejected: 0 },
          cleared: false,
          uploads: 1,
          result: { totalRecords: accepted, completedRecords: accepted, percentComplete: 100 },
        }),
      );
      renameSync(temporary, path.join(folder, name));
    };

    // Killed after the journal said `done`, before the file was archived: it is archived, not sent.
    dropWithDoneJournal("resumed.csv", true);
    await clock.advanceUntil(() => archived("resumed.csv") !== undefined, "the resumed load to finish");
    expect(h.sim.uploads.received, "the journal's file is not sent again").to.have.length(0);
    expect(summaryOf("archive", "resumed.csv").bulk.uploads).to.equal(1);

    // Killed after archiving, before the journal was removed; then the same content is dropped
    // again as a new file: another inode, so a load of its own.
    dropWithDoneJournal("again.csv", false);
    await clock.advanceUntil(() => archived("again.csv") !== undefined, "the new load to finish");
    expect(h.sim.uploads.received, "the new file is uploaded").to.have.length(1);
    expect(h.sim.contacts(h.sim.contactListIds[0]!).size).to.equal(file.goodIds.length);
    expect(summaryOf("archive", "again.csv").bulk.uploads).to.equal(1);
  });

  it("a shutdown mid-upload cuts it short: the journal steps back, and the restart sends it again at once", async () => {
    clock = new FakeClock(Date.now());
    // 100 KB/s on the fake clock: the upload is still going when the service shuts down. The
    // unseen window is an hour: the restart must not need it.
    h = await startHarness({
      clock,
      sim: { clock, uploadBytesPerSecond: 100_000 },
      env: { IMPORT_BULK_UNSEEN_SECONDS: "3600" },
    });
    await clock.advanceUntil(() => h.service.client.hasValidToken(), "the first token");
    // 4.6 MB: more than the socket's buffers can take while the simulator reads slowly.
    const file = generateCsv(100_000);
    h.drop("bulk/big.csv", file.content);
    await clock.advanceUntil(() => h.sim.uploads.stats().uploadBytesInFlight > 0, "the upload to begin");
    await h.service.shutdown();
    expect(h.list("inbox/bulk"), "the file is back in its folder").to.deep.equal(["big.csv"]);
    expect(h.list("state")).to.include.members(["big.csv.bulk.json", "big.csv.bulk.csv"]);
    const journal = JSON.parse(h.read("state", "big.csv.bulk.json")) as { phase: string; uploads: number };
    expect(journal, "the file was not all sent, so Genesys cannot have it").to.deep.include({
      phase: "staged",
      uploads: 1,
    });
    expect(h.sim.uploads.received).to.have.length(0);

    // The same data dir, a new service: the journal says `staged`, so it uploads without waiting.
    const restartedAt = clock.now();
    await h.restart();
    await clock.advanceUntil(() => archived("big.csv") !== undefined, "the load after the restart");
    expect(clock.now() - restartedAt, "well within the unseen window").to.be.below(600_000);
    expect(h.sim.uploads.received, "one upload arrived: the first never did").to.have.length(1);
    expect(h.sim.contacts(h.sim.contactListIds[0]!).size).to.equal(file.goodIds.length);
    expect(summaryOf("archive", "big.csv").bulk.uploads).to.equal(2);
    expect(h.capture.lines.some((line) => line.includes("shows no sign of the interrupted upload"))).to.equal(
      false,
    );
    expect(path.basename(archived("big.csv")!)).to.match(/-big\.csv$/);
  });
});
