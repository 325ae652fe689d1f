import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { Registry } from "prom-client";
import type { Leadership } from "../../../app/src/cluster/leader-election";
import { GenesysClient } from "../../../app/src/genesys/client";
import { genesysDispatcher, type ProxySettings } from "../../../app/src/genesys/dispatcher";
import { downloadIdOf } from "../../../app/src/genesys/list-export-api";
import { ListSnapshotMetrics } from "../../../app/src/export/metrics";
import {
  describeSchedule,
  latestDailySlot,
  ListSnapshots,
  snapshotSchedule,
  snapshotsOf,
  type SnapshotRoute,
  type SnapshotSchedule,
} from "../../../app/src/export/snapshots";
import { renderSnapshotSection, snapshotErrors } from "../../../app/src/console/snapshots-view";
import { escapeHtml } from "../../../app/src/console/page";
import { downloadHosts, downloadUrlProblem } from "../../../app/src/shared/download-hosts";
import { systemClock, type Clock } from "../../../app/src/time/clock";
import { capturedLogger } from "../../support/capture";
import { startConnectProxy, type ConnectProxy } from "../../support/connect-proxy";
import { FakeClock } from "../../support/fake-clock";

/** The dialer's system columns Genesys adds to a list's export, per contact and per phone column. */
const SYSTEM_COLUMNS = (phone: string) => [
  "ContactCallable",
  "ZipCodeAutomaticTimeZone",
  `CallRecordLastAttempt-${phone}`,
  `CallRecordLastResult-${phone}`,
  `CallRecordLastAgentWrapup-${phone}`,
  `Callable-${phone}`,
];

/** A list's export as CSV rows, streamed: `inin-outbound-id`, the list's columns, the system columns. */
function exportCsv(contacts: number): Readable {
  return Readable.from(
    (function* rows() {
      yield `"inin-outbound-id","id","phone","name",${SYSTEM_COLUMNS("phone")
        .map((c) => `"${c}"`)
        .join(",")}\n`;
      let batch = "";
      for (let i = 0; i < contacts; i += 1) {
        batch += `"oid-${i}","c-${i}","+3538500${String(i).padStart(6, "0")}","Contact ${i}",true,"Europe/Dublin","2026-11-20T10:00:00Z","ININ-OUTBOUND-NO-ANSWER","",${i % 7 !== 0}\n`;
        if (batch.length > 64 * 1024) {
          yield batch;
          batch = "";
        }
      }
      if (batch !== "") yield batch;
    })(),
    { objectMode: false },
  );
}

interface ListState {
  contacts: number;
  /** The export Genesys answers now, if any. */
  ready: { uri: string; exportTimestamp: string } | undefined;
  /** Reads of GET .../export before a started export is answered. */
  readsUntilReady: number;
  pending: boolean;
}

/**
 * Genesys' export side on loopback: the API and login on one port, the download host on another
 * (signed URLs with no token, expiring), with faults: a cut download, an export never ready, a
 * redirect, a download host elsewhere. Records every request with its headers.
 */
class FakeExports {
  readonly lists = new Map<string, ListState>();
  readonly requests: Array<{
    host: "api" | "download";
    method: string;
    url: string;
    authorization?: string;
  }> = [];
  /** Downloads to cut after this many bytes, counted down per download. */
  cutDownloads = 0;
  cutAfterBytes = 2_000;
  neverReady = false;
  /** Reads of a started export answered 404 before it is ready. */
  readsBeforeReady = 1;
  /** Answer the signed URL on this origin instead of the download server's. */
  signedOrigin: string | undefined;
  redirectTo: string | undefined;
  /** Milliseconds between 64 KB chunks of a download (a slow download host). */
  chunkDelayMs = 0;
  private counter = 0;
  private readonly api = http.createServer((req, res) => this.onApi(req, res));
  private readonly files = http.createServer((req, res) => this.onDownload(req, res));
  apiBaseUrl = "";
  downloadOrigin = "";

  async start(): Promise<this> {
    for (const server of [this.api, this.files])
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    this.apiBaseUrl = `http://127.0.0.1:${(this.api.address() as AddressInfo).port}`;
    this.downloadOrigin = `http://127.0.0.1:${(this.files.address() as AddressInfo).port}`;
    return this;
  }

  get downloadHost(): string {
    return new URL(this.downloadOrigin).host;
  }

  list(id: string, contacts: number): void {
    this.lists.set(id, { contacts, ready: undefined, readsUntilReady: 0, pending: false });
  }

  apiRequests(pattern: RegExp) {
    return this.requests.filter((request) => request.host === "api" && pattern.test(request.url));
  }

  downloads() {
    return this.requests.filter((request) => request.host === "download");
  }

  async close(): Promise<void> {
    for (const server of [this.api, this.files]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private onApi(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.apiBaseUrl);
    this.requests.push({
      host: "api",
      method: req.method ?? "",
      url: url.pathname + url.search,
      authorization: req.headers.authorization,
    });
    req.resume();
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (url.pathname === "/oauth/token")
      return json(200, { access_token: "token-1", token_type: "bearer", expires_in: 86_400 });
    const exportMatch = /^\/api\/v2\/outbound\/contactlists\/([^/]+)\/export$/.exec(url.pathname);
    const list = exportMatch ? this.lists.get(exportMatch[1]!) : undefined;
    if (exportMatch && !list) return json(404, { code: "not.found", message: "contact list not found" });
    if (exportMatch && req.method === "POST") {
      list!.pending = true;
      list!.readsUntilReady = this.neverReady ? Infinity : this.readsBeforeReady;
      return json(200, { id: exportMatch[1] });
    }
    if (exportMatch && req.method === "GET") return this.readExport(list!, json);
    const download = /^\/api\/v2\/downloads\/([^/]+)$/.exec(url.pathname);
    if (download) {
      if (url.searchParams.get("issueRedirect") !== "false")
        return json(400, { message: "test wants issueRedirect=false" });
      const origin = this.signedOrigin ?? this.downloadOrigin;
      this.counter += 1;
      return json(200, {
        url: `${origin}/signed/${download[1]}?X-Amz-Signature=s${this.counter}&X-Amz-Expires=60`,
      });
    }
    json(404, { code: "not.found" });
  }

  private readExport(list: ListState, json: (status: number, body: unknown) => void): void {
    if (list.pending) {
      list.readsUntilReady -= 1;
      if (list.readsUntilReady < 0) {
        this.counter += 1;
        const id = `dl${this.counter}`;
        list.ready = {
          uri: `${this.apiBaseUrl}/api/v2/downloads/${id}`,
          exportTimestamp: new Date(1_800_000_000_000 + this.counter).toISOString(),
        };
        list.pending = false;
      }
    }
    if (list.ready) return json(200, list.ready);
    json(404, { code: "no.available.list.export.uri", message: "no export yet" });
  }

  private onDownload(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.downloadOrigin);
    this.requests.push({
      host: "download",
      method: req.method ?? "",
      url: url.pathname,
      authorization: req.headers.authorization,
    });
    if (this.redirectTo) {
      res.writeHead(302, { location: this.redirectTo }).end();
      return;
    }
    const downloadId = /^\/signed\/([^/]+)$/.exec(url.pathname)?.[1];
    const list = [...this.lists.values()].find((candidate) =>
      candidate.ready?.uri.endsWith(`/${downloadId}`),
    );
    if (!list || !url.searchParams.get("X-Amz-Signature")) {
      res.writeHead(403).end("<Error><Code>AccessDenied</Code></Error>");
      return;
    }
    res.writeHead(200, { "content-type": "text/csv" });
    res.flushHeaders();
    const cut = this.cutDownloads > 0;
    if (cut) this.cutDownloads -= 1;
    let sent = 0;
    let broken = false;
    const body = exportCsv(list.contacts);
    body.on("data", (chunk: Buffer) => {
      if (broken) return;
      if (cut && sent + chunk.length >= this.cutAfterBytes) {
        broken = true;
        body.destroy();
        // Cut once the first part is on the wire: the client has the headers and some of the body.
        res.write(chunk.subarray(0, Math.max(0, this.cutAfterBytes - sent)), () =>
          setTimeout(() => res.socket?.destroy(), 20),
        );
        return;
      }
      sent += chunk.length;
      if (!res.write(chunk) || this.chunkDelayMs > 0) {
        body.pause();
        const go = () =>
          this.chunkDelayMs > 0 ? setTimeout(() => body.resume(), this.chunkDelayMs) : body.resume();
        if (res.writableNeedDrain) res.once("drain", go);
        else go();
      }
    });
    // A destroyed source may still end (what it had read): a cut response is never ended.
    body.on("end", () => broken || res.end());
    res.on("close", () => body.destroy());
  }
}

class Lead implements Leadership {
  private listeners: Array<(leading: boolean) => void> = [];
  constructor(private leading = true) {}
  isLeader(): boolean {
    return this.leading;
  }
  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }
  set(leading: boolean): void {
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}

interface Setup {
  snapshots: ListSnapshots;
  client: GenesysClient;
  registry: Registry;
  outbox: string;
  lists: string;
  lead: Lead;
  shutdown: AbortController;
  logs: () => string;
}

/** Runs `promise` while moving the fake clock on, letting loopback I/O settle between steps. */
async function drive<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined);
  await clock.advanceUntil(() => settled, "the snapshot", { stepMs: 250, maxSteps: 40_000 });
  return tracked;
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const found = (await registry.getSingleMetric(name)?.get())?.values.find((value) =>
    Object.entries(labels).every(([key, expected]) => value.labels[key] === expected),
  );
  return found?.value;
}

describe("contact-list snapshots (outbox/lists/<route>-<UTC time>.csv)", function () {
  this.timeout(120_000);
  let fake: FakeExports;
  const setups: Setup[] = [];

  beforeEach(async () => {
    fake = await new FakeExports().start();
    fake.list("list-a", 25);
    fake.list("list-b", 10);
  });
  afterEach(async () => {
    for (const setup of setups.splice(0)) {
      setup.shutdown.abort();
      await setup.snapshots.stopped();
      await setup.client.close();
    }
    await fake.close();
  });

  const ROUTES: SnapshotRoute[] = [
    { name: "default", contactListId: "list-a" },
    { name: "campaign-b", contactListId: "list-b" },
  ];

  function setUp(
    clock: Clock,
    options: {
      schedule?: SnapshotSchedule;
      keep?: number;
      routes?: SnapshotRoute[];
      lead?: Lead;
      allowedHosts?: string[];
      proxy?: ProxySettings;
      outbox?: string;
      readyTimeoutMs?: number;
    } = {},
  ): Setup {
    const dispatcher = genesysDispatcher(options.proxy);
    const captured = capturedLogger("debug");
    const client = new GenesysClient({
      endpoints: {
        domain: undefined,
        apiBaseUrl: fake.apiBaseUrl,
        loginBaseUrl: fake.apiBaseUrl,
        appsBaseUrl: fake.apiBaseUrl,
      },
      clientId: "client",
      clientSecret: "secret",
      dispatcher,
      clock,
      logger: captured.logger,
      rateLimit: { requestsPerWindow: 10_000 },
    });
    client.start();
    const registry = new Registry();
    const outbox = options.outbox ?? mkdtempSync(path.join(tmpdir(), "snapshots-"));
    const lead = options.lead ?? new Lead(true);
    const shutdown = new AbortController();
    const snapshots = new ListSnapshots({
      client,
      dispatcher,
      routes: () => options.routes ?? ROUTES,
      leadership: lead,
      outboxDir: outbox,
      schedule: options.schedule ?? { kind: "interval", intervalMs: 3_600_000 },
      keep: options.keep ?? 7,
      readyTimeoutMs: options.readyTimeoutMs ?? 600_000,
      allowedHosts: options.allowedHosts ?? [fake.downloadHost],
      metrics: new ListSnapshotMetrics(registry),
      clock,
      random: () => 0.5,
      logger: captured.logger,
      signal: shutdown.signal,
    });
    const setup = {
      snapshots,
      client,
      registry,
      outbox,
      lists: path.join(outbox, "lists"),
      lead,
      shutdown,
      logs: captured.text,
    };
    setups.push(setup);
    return setup;
  }

  it("publishes each route's list with the system columns, fetched without the token from the download host", async () => {
    const clock = new FakeClock();
    const { snapshots, lists, registry } = setUp(clock);
    await drive(clock, snapshots.runDue());

    const files = readdirSync(lists).sort();
    expect(files).to.have.length(2);
    expect(files[0]).to.match(/^campaign-b-2026-11-21T08-00-\d\d-\d{3}Z\.csv$/);
    expect(files[1]).to.match(/^default-2026-11-21T08-00-\d\d-\d{3}Z\.csv$/);
    const csv = readFileSync(path.join(lists, files[1]!), "utf8").trimEnd().split("\n");
    expect(csv).to.have.length(26);
    for (const column of ["inin-outbound-id", "phone", ...SYSTEM_COLUMNS("phone")])
      expect(csv[0]).to.contain(`"${column}"`);
    // The API calls carry the bearer token; the signed URL is fetched with none.
    expect(
      fake.apiRequests(/^\/api\/v2\/downloads\//).every((r) => r.authorization === "Bearer token-1"),
    ).to.equal(true);
    expect(fake.apiRequests(/issueRedirect=false&redirectToAuth=false/)).to.have.length(2);
    expect(fake.downloads()).to.have.length(2);
    expect(fake.downloads().every((r) => r.authorization === undefined)).to.equal(true);
    expect(
      await metric(registry, "export_list_snapshots_total", { route: "default", outcome: "ok" }),
    ).to.equal(1);
    const status = snapshots.status();
    expect(status.routes.map((route) => route.last?.file)).to.deep.equal([files[1], files[0]]);
    expect(
      await metric(registry, "export_list_snapshot_last_success_timestamp_seconds", { route: "campaign-b" }),
    ).to.equal(status.routes[1]!.last!.atMs / 1000);
    expect(status.routes[0]!.nextDueMs).to.equal(status.routes[0]!.last!.atMs + 3_600_000);
  });

  it("keeps at most N snapshots per route, removing the oldest, and snapshots again only when the interval has passed", async () => {
    const clock = new FakeClock();
    const { snapshots, lists } = setUp(clock, { keep: 2, routes: [ROUTES[0]!] });
    for (let run = 0; run < 3; run += 1) {
      await drive(clock, snapshots.runDue());
      await drive(clock, snapshots.runDue()); // not due again yet: nothing happens
      await clock.advance(3_600_000);
    }
    const kept = readdirSync(lists).sort();
    expect(kept).to.have.length(2);
    expect(kept[0]).to.match(/^default-2026-11-21T09-00-/);
    expect(kept[1]).to.match(/^default-2026-11-21T10-00-/);
    expect(fake.apiRequests(/\/export$/).filter((r) => r.method === "POST")).to.have.length(3);
  });

  it("a download cut midway is retried with a new signed URL; cut every time, it leaves no file, counts a failure and is tried again at the next interval", async () => {
    const clock = new FakeClock();
    const { snapshots, lists, registry } = setUp(clock, { routes: [ROUTES[0]!] });
    fake.cutDownloads = 1;
    await drive(clock, snapshots.runDue());
    const first = readdirSync(lists);
    expect(first).to.have.length(1);
    expect(first[0]).to.match(/^default-2026-11-21T08-00-/);
    expect(fake.downloads()).to.have.length(2);

    await clock.advance(3_600_000);
    fake.cutDownloads = 100;
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists), "no partial, no second file").to.deep.equal(first);
    expect(fake.downloads()).to.have.length(6);
    expect(
      await metric(registry, "export_list_snapshots_total", { route: "default", outcome: "failed" }),
    ).to.equal(1);
    const failed = snapshots.status().routes[0]!;
    expect(failed.lastError?.code).to.equal("EXPORT_LIST_DOWNLOAD_FAILED");
    // The failed attempt's start, plus the interval: the next one is an hour after it.
    expect(failed.nextDueMs).to.be.within(
      Date.parse("2026-11-21T10:00:00Z"),
      failed.lastError!.atMs + 3_600_000,
    );
    expect(snapshotErrors(snapshots.status())[0]).to.match(
      /^contact-list snapshot of route default: the download broke off after 2000 bytes/,
    );

    fake.cutDownloads = 0;
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists)).to.have.length(1); // not due: the failure is retried at the next interval
    await clock.advance(3_600_000);
    await drive(clock, snapshots.runDue());
    const after = readdirSync(lists).sort();
    expect(after).to.have.length(2);
    expect(after[1]).to.match(/^default-2026-11-21T10-0/);
    expect(snapshots.status().routes[0]!.lastError).to.equal(undefined);
  });

  it("waits for the export on the clock, and gives up after the ready timeout with not_ready", async () => {
    const clock = new FakeClock();
    const { snapshots, lists, registry } = setUp(clock, { routes: [ROUTES[0]!], readyTimeoutMs: 300_000 });
    fake.neverReady = true;
    const started = clock.now();
    const result = await drive(clock, snapshots.snapshotRoute(ROUTES[0]!));
    expect(result.outcome).to.equal("not_ready");
    expect(clock.now() - started).to.be.within(300_000, 310_000);
    expect(fake.apiRequests(/\/export\?download=false$/).length).to.be.within(6, 40);
    expect(readdirSync(lists)).to.deep.equal([]);
    expect(
      await metric(registry, "export_list_snapshots_total", { route: "default", outcome: "not_ready" }),
    ).to.equal(1);
    expect(result.error?.message).to.match(/was not ready after 300 s/);
  });

  it("takes the export it started, not one made before that Genesys still answers", async () => {
    const clock = new FakeClock();
    const { snapshots, lists } = setUp(clock, { routes: [ROUTES[0]!] });
    const old = {
      uri: `${fake.apiBaseUrl}/api/v2/downloads/old-one`,
      exportTimestamp: "2026-01-01T00:00:00.000Z",
    };
    fake.lists.get("list-a")!.ready = old;
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists)).to.have.length(1);
    expect(fake.apiRequests(/\/downloads\/old-one/)).to.deep.equal([]);
  });

  it("does nothing on a replica that does not lead: no request, no file", async () => {
    const clock = new FakeClock();
    const { snapshots, lists } = setUp(clock, { lead: new Lead(false) });
    await drive(clock, snapshots.runDue());
    expect(fake.requests.filter((r) => r.url !== "/oauth/token")).to.deep.equal([]);
    expect(readdirSync(lists)).to.deep.equal([]);
  });

  it("every replica, leader or not, reports the newest snapshot on the volume as the last success, and counts each outcome from zero", async () => {
    const clock = new FakeClock();
    const outbox = mkdtempSync(path.join(tmpdir(), "snapshots-"));
    mkdirSync(path.join(outbox, "lists"));
    // What an earlier process (or another replica) published: this one has not snapshotted yet.
    writeFileSync(path.join(outbox, "lists", "default-2026-11-20T08-00-00-000Z.csv"), "id\n");
    writeFileSync(path.join(outbox, "lists", "default-2026-11-21T06-30-00-000Z.csv"), "id\n");
    const { snapshots, registry } = setUp(clock, { outbox, lead: new Lead(false) });
    await drive(clock, snapshots.runDue());
    expect(
      await metric(registry, "export_list_snapshot_last_success_timestamp_seconds", { route: "default" }),
    ).to.equal(Date.parse("2026-11-21T06:30:00.000Z") / 1000);
    expect(
      await metric(registry, "export_list_snapshot_last_success_timestamp_seconds", { route: "campaign-b" }),
      "no snapshot of campaign-b yet",
    ).to.equal(undefined);
    for (const route of ROUTES)
      for (const outcome of ["ok", "not_ready", "failed"])
        expect(
          await metric(registry, "export_list_snapshots_total", { route: route.name, outcome }),
        ).to.equal(0);
  });

  it("losing the lead abandons the snapshot under way: no file, no failure counted", async () => {
    const clock = new FakeClock();
    fake.list("list-a", 200_000);
    fake.chunkDelayMs = 5;
    const lead = new Lead(true);
    const { snapshots, lists, registry } = setUp(clock, { lead, routes: [ROUTES[0]!] });
    const run = snapshots.snapshotRoute(ROUTES[0]!);
    await clock.advanceUntil(
      () => (snapshots.status().running?.bytes ?? 0) > 100_000,
      "the download under way",
    );
    lead.set(false);
    const result = await drive(clock, run);
    expect(result.outcome).to.equal("abandoned");
    expect(readdirSync(lists)).to.deep.equal([]);
    expect(
      await metric(registry, "export_list_snapshots_total", { route: "default", outcome: "failed" }),
    ).to.equal(undefined);
  });

  it("refuses a signed URL on a host it does not download from, naming the host, and fetches nothing", async () => {
    const clock = new FakeClock();
    const { snapshots, lists } = setUp(clock, {
      routes: [ROUTES[0]!],
      allowedHosts: ["api-downloads.mypurecloud.ie"],
    });
    const result = await drive(clock, snapshots.snapshotRoute(ROUTES[0]!));
    expect(result.outcome).to.equal("failed");
    expect((result.error as { code?: string }).code).to.equal("EXPORT_LIST_DOWNLOAD_REFUSED");
    expect(result.error?.message).to.contain(`points at ${fake.downloadHost}`);
    expect(result.error?.message).to.contain("EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS");
    expect(result.error?.message).to.not.contain("X-Amz-Signature");
    expect(fake.downloads()).to.deep.equal([]);
    expect(readdirSync(lists)).to.deep.equal([]);
  });

  it("does not follow a redirect from the download host", async () => {
    const clock = new FakeClock();
    const { snapshots } = setUp(clock, { routes: [ROUTES[0]!] });
    fake.redirectTo = "https://attacker.example.net/steal";
    const result = await drive(clock, snapshots.snapshotRoute(ROUTES[0]!));
    expect((result.error as { code?: string }).code).to.equal("EXPORT_LIST_DOWNLOAD_REFUSED");
    expect(result.error?.message).to.contain("a redirect to attacker.example.net, which is not followed");
    expect(fake.downloads()).to.have.length(1);
  });

  it("removes the partial files a crash left before its first snapshot as leader, and not as a follower", async () => {
    const clock = new FakeClock();
    const outbox = mkdtempSync(path.join(tmpdir(), "snapshots-"));
    mkdirSync(path.join(outbox, "lists"));
    const orphan = path.join(outbox, "lists", ".default-2026-11-20T08-00-00-000Z.csv.partial");
    writeFileSync(orphan, "half a file");
    const lead = new Lead(false);
    const { snapshots, lists } = setUp(clock, { outbox, lead, routes: [ROUTES[0]!] });
    await drive(clock, snapshots.runDue());
    expect(existsSync(orphan), "a follower leaves it: the leader may be writing it").to.equal(true);
    lead.set(true);
    await drive(clock, snapshots.runDue());
    const left = readdirSync(lists);
    expect(left).to.have.length(1);
    expect(left[0]).to.match(/^default-2026-11-21T08-0.*\.csv$/);
  });

  it("daily at a UTC time: catches up on a missed slot at once, then waits for the next day's", async () => {
    const clock = new FakeClock(Date.parse("2026-11-21T08:00:00Z"));
    const { snapshots, lists } = setUp(clock, {
      schedule: { kind: "daily", minuteOfDay: 2 * 60 + 30 },
      routes: [ROUTES[0]!],
    });
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists)[0]).to.match(/^default-2026-11-21T08-00-/);
    expect(snapshots.status().routes[0]!.nextDueMs).to.equal(Date.parse("2026-11-22T02:30:00Z"));
    await clock.advance(Date.parse("2026-11-22T02:29:00Z") - clock.now());
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists)).to.have.length(1);
    await clock.advance(60_000);
    await drive(clock, snapshots.runDue());
    expect(readdirSync(lists).sort().at(-1)).to.match(/^default-2026-11-22T02-30-/);
  });

  it("the loop runs on its own: start() takes the due snapshots, stopped() ends it", async () => {
    const clock = new FakeClock();
    const { snapshots, lists, shutdown } = setUp(clock, { routes: [ROUTES[0]!] });
    const count = () =>
      existsSync(lists) ? readdirSync(lists).filter((name) => name.endsWith(".csv")).length : 0;
    snapshots.start();
    await clock.advanceUntil(() => count() === 1, "the first snapshot");
    await clock.advanceUntil(() => count() === 2, "the next hour's", { stepMs: 10_000, maxSteps: 2_000 });
    shutdown.abort();
    await snapshots.stopped();
  });

  it("the download goes through the forward proxy the client uses, and direct to a NO_PROXY host", async () => {
    let proxy: ConnectProxy | undefined;
    try {
      proxy = await startConnectProxy();
      fake.readsBeforeReady = 0;
      const through = setUp(systemClock, {
        routes: [ROUTES[0]!],
        proxy: { httpsProxy: proxy.url, httpProxy: proxy.url, noProxy: [] },
      });
      expect((await through.snapshots.snapshotRoute(ROUTES[0]!)).outcome).to.equal("ok");
      expect(proxy.tunnelsTo(fake.downloadHost)).to.be.greaterThan(0);

      const tunnels = proxy.tunnels.length;
      const direct = setUp(systemClock, {
        routes: [ROUTES[0]!],
        proxy: { httpsProxy: proxy.url, httpProxy: proxy.url, noProxy: [fake.downloadHost] },
      });
      expect((await direct.snapshots.snapshotRoute(ROUTES[0]!)).outcome).to.equal("ok");
      expect(proxy.tunnels.slice(tunnels).map((tunnel) => tunnel.target)).to.not.include(fake.downloadHost);
    } finally {
      await proxy?.close();
    }
  });
});

describe("contact-list snapshots: schedule, names and hosts", () => {
  it("reads the schedule from the settings: an interval, a daily UTC time, or off", () => {
    expect(snapshotSchedule({ listSnapshotIntervalSeconds: 0 })).to.deep.equal({ kind: "off" });
    expect(snapshotSchedule({ listSnapshotIntervalSeconds: 21_600 })).to.deep.equal({
      kind: "interval",
      intervalMs: 21_600_000,
    });
    expect(snapshotSchedule({ listSnapshotIntervalSeconds: 0, listSnapshotDailyAt: "02:30" })).to.deep.equal({
      kind: "daily",
      minuteOfDay: 150,
    });
    expect(describeSchedule({ kind: "daily", minuteOfDay: 150 })).to.equal("daily at 02:30 UTC");
    expect(describeSchedule({ kind: "interval", intervalMs: 21_600_000 })).to.equal("every 6 h");
    expect(describeSchedule({ kind: "interval", intervalMs: 90_000 })).to.equal("every 90 s");
  });

  it("finds the latest daily slot not after now, across midnight", () => {
    expect(latestDailySlot(150, Date.parse("2026-11-21T08:00:00Z"))).to.equal(
      Date.parse("2026-11-21T02:30:00Z"),
    );
    expect(latestDailySlot(150, Date.parse("2026-11-21T02:30:00Z"))).to.equal(
      Date.parse("2026-11-21T02:30:00Z"),
    );
    expect(latestDailySlot(150, Date.parse("2026-11-21T01:00:00Z"))).to.equal(
      Date.parse("2026-11-20T02:30:00Z"),
    );
  });

  it("tells a route's snapshots from another route's whose name starts the same", () => {
    const names = [
      "a-2026-11-21T08-00-00-000Z.csv",
      "a-b-2026-11-21T07-00-00-000Z.csv",
      ".a-2026-11-21T09-00-00-000Z.csv.partial",
      "a-2026-11-20T08-00-00-000Z.csv",
    ];
    expect(snapshotsOf(names, "a").map((found) => found.file)).to.deep.equal([
      "a-2026-11-20T08-00-00-000Z.csv",
      "a-2026-11-21T08-00-00-000Z.csv",
    ]);
    expect(snapshotsOf(names, "a-b").map((found) => found.file)).to.deep.equal([
      "a-b-2026-11-21T07-00-00-000Z.csv",
    ]);
  });

  it("takes the download id from the export's uri", () => {
    expect(downloadIdOf("https://api.mypurecloud.ie/api/v2/downloads/5a1b2c3d4e5f6a7b")).to.equal(
      "5a1b2c3d4e5f6a7b",
    );
    expect(downloadIdOf("https://api-downloads.mypurecloud.de/api/v2/downloads/abc?x=1")).to.equal("abc");
    expect(() => downloadIdOf("https://api.mypurecloud.ie/api/v2/outbound/contactlists/x/export")).to.throw(
      /names no/,
    );
  });

  it("downloads from the region's api-downloads host and the extra hosts only, https only (http on loopback)", () => {
    const allowed = downloadHosts({ region: "eu-west-1", extraHosts: ["Bucket.S3.eu-west-1.amazonaws.com"] });
    expect(allowed).to.deep.equal(["api-downloads.mypurecloud.ie", "bucket.s3.eu-west-1.amazonaws.com"]);
    expect(downloadHosts({ apiBaseUrl: "https://api.euw2.pure.cloud" })).to.deep.equal([
      "api-downloads.euw2.pure.cloud",
    ]);
    expect(downloadUrlProblem("https://api-downloads.mypurecloud.ie/x?X-Amz-Signature=1", allowed)).to.equal(
      undefined,
    );
    expect(downloadUrlProblem("https://api-downloads.mypurecloud.de/x", allowed)).to.contain(
      "points at api-downloads.mypurecloud.de",
    );
    expect(downloadUrlProblem("http://api-downloads.mypurecloud.ie/x", allowed)).to.contain("only https");
    expect(downloadUrlProblem("http://127.0.0.1:8080/x", ["127.0.0.1:8080"])).to.equal(undefined);
    expect(downloadUrlProblem("http://127.0.0.1:8081/x", ["127.0.0.1:8080"])).to.contain("127.0.0.1:8081");
  });

  it("renders the console's section: schedule, each route's last snapshot, a failure in red", () => {
    const html = renderSnapshotSection(
      {
        enabled: true,
        schedule: "every 6 h",
        leader: true,
        running: undefined,
        routes: [
          {
            route: "default",
            contactListId: "list-a",
            last: { file: "default-x.csv", atMs: 0, bytes: 2_000_000 },
            lastError: undefined,
            nextDueMs: 10,
          },
          {
            route: "b<x>",
            contactListId: "list-b",
            last: undefined,
            lastError: { message: "boom <b>", atMs: 5 },
            nextDueMs: 10,
          },
        ],
      },
      5,
      escapeHtml,
    );
    expect(html).to.contain("every 6 h, in outbox/lists/; this replica takes them (leader).");
    expect(html).to.contain("default-x.csv<br><small>1970-01-01 00:00:00 UTC, 1.9 MB</small>");
    expect(html).to.contain('<span class="bad">failed 1970-01-01 00:00:00 UTC: boom &lt;b&gt;</span>');
    expect(html).to.contain("b&lt;x&gt;");
    expect(renderSnapshotSection(undefined, 0, escapeHtml)).to.equal("");
  });
});
