import { expect } from "chai";
import { parse } from "csv-parse/sync";
import { request } from "undici";
import { GenesysClient } from "../../app/src/genesys/client";
import type { GenesysHttpError } from "../../app/src/genesys/errors";
import { resolveEndpoints } from "../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../simulator/simulator";
import { capturedLogger } from "../support/capture";
import { FakeClock } from "../support/fake-clock";

const LIST = "7a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
const EXPORT = `/api/v2/outbound/contactlists/${LIST}/export`;
const COLUMNS = ["id", "name", "phone", "mobile"];
const PHONE_COLUMNS = [
  { columnName: "phone", type: "cell" },
  { columnName: "mobile", type: "cell" },
];
const perPhone = (column: string) =>
  [
    "CallRecordLastAttempt",
    "CallRecordLastResult",
    "CallRecordLastAgentWrapup",
    "SmsLastAttempt",
    "SmsLastResult",
    "Callable",
    "ContactableByVoice",
    "ContactableBySms",
    "AutomaticTimeZone",
  ].map((name) => `${name}-${column}`);
const HEADER = [
  "inin-outbound-id",
  ...COLUMNS,
  "ContactCallable",
  "ContactableByVoice",
  "ContactableBySms",
  "ContactableByEmail",
  "ZipCodeAutomaticTimeZone",
  ...perPhone("phone"),
  ...perPhone("mobile"),
];

/**
 * Contact-list exports (genesys-cloud-facts.md, "Contact-level results"): POST the export, GET it
 * until ready, a Genesys download that redirects to a signed URL on a second host, and the CSV
 * with the dialer's system columns, streamed.
 */
describe("Genesys Cloud simulator: contact-list exports and the download host", () => {
  let clock: FakeClock;
  let sim: GenesysSimulator;
  let bearer: string;

  async function start(options: SimulatorOptions = {}) {
    clock = new FakeClock();
    sim = await startSimulator({
      clock,
      contactLists: [{ id: LIST, name: "Spring", columnNames: COLUMNS, phoneColumns: PHONE_COLUMNS }],
      listExportReadyMs: 2_000,
      ...options,
    });
    const { clientId, clientSecret } = sim.clients[0]!;
    const login = await request(`${sim.loginBaseUrl}/oauth/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    bearer = ((await login.body.json()) as { access_token: string }).access_token;
  }

  beforeEach(() => start());
  afterEach(() => sim.close());

  /** An API call (path below the API host, or a whole URL on it) with the bearer token. */
  async function api(method: "GET" | "POST", pathOrUrl: string, body?: unknown) {
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${sim.apiBaseUrl}${pathOrUrl}`;
    const response = await request(url, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      body: (text ? JSON.parse(text) : undefined) as Record<string, string> | undefined,
    };
  }

  /** The download host, as a client reaches it: no token. Read as bytes: `text()` would drop the BOM. */
  async function fetchFile(url: string) {
    const response = await request(url);
    const bytes = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, bytes, text: bytes.toString("utf8") };
  }

  /** Starts an export, waits for it and answers its uri (a Genesys download on the API host). */
  async function exportNow(path = EXPORT): Promise<{ uri: string; exportTimestamp: string }> {
    expect((await api("POST", path)).status).to.equal(200);
    await clock.advance(2_000);
    const ready = await api("GET", `${path}?download=false`);
    expect(ready.status).to.equal(200);
    return ready.body as unknown as { uri: string; exportTimestamp: string };
  }

  async function signedUrl(uri: string): Promise<string> {
    const answer = await api("GET", `${uri}?issueRedirect=false`);
    expect(answer.status).to.equal(200);
    return answer.body!.url!;
  }

  const rowsOf = (text: string) => parse(text, { bom: true }) as string[][];

  async function addContacts(ids: readonly string[]) {
    const contacts = ids.map((id, index) => ({
      id,
      contactListId: LIST,
      data: { id, name: `Name ${index}`, phone: `+35385100000${index}`, mobile: `+35387100000${index}` },
    }));
    expect((await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts`, contacts)).status).to.equal(
      200,
    );
  }

  describe("export readiness", () => {
    it("answers 404 until the export is ready, then the uri of a Genesys download and its timestamp", async () => {
      const started = await api("POST", EXPORT);
      expect(started.status).to.equal(200);
      expect(started.body!.id).to.be.a("string");
      const early = await api("GET", `${EXPORT}?download=false`);
      expect([early.status, early.body!.code]).to.deep.equal([404, "no.available.list.export.uri"]);
      await clock.advance(1_999);
      expect((await api("GET", `${EXPORT}?download=false`)).status).to.equal(404);
      await clock.advance(1);
      const ready = await api("GET", `${EXPORT}?download=false`);
      expect(ready.status).to.equal(200);
      expect(ready.body!.uri).to.match(new RegExp(`^${sim.apiBaseUrl}/api/v2/downloads/[0-9a-f-]{36}$`));
      expect(ready.body!.exportTimestamp).to.equal(new Date(clock.now()).toISOString());
      const redirect = await api("GET", `${EXPORT}?download=true`);
      expect([redirect.status, redirect.headers.location]).to.deep.equal([303, ready.body!.uri]);
    });

    it("answers 404 for a list never exported, and not.found for a list that does not exist", async () => {
      expect((await api("GET", EXPORT)).body!.code).to.equal("no.available.list.export.uri");
      const missing = "/api/v2/outbound/contactlists/00000000-0000-4000-8000-000000000000/export";
      expect((await api("POST", missing)).body!.code).to.equal("not.found");
      expect((await api("GET", missing)).body!.code).to.equal("not.found");
    });

    it("holds the list as it was when the export started; while a newer one runs, the GET gives the older file", async () => {
      await addContacts(["a"]);
      const first = await exportNow();
      await addContacts(["b"]);
      expect((await api("POST", EXPORT)).status).to.equal(200);
      await clock.advance(1_000);
      const meanwhile = await api("GET", EXPORT);
      expect(meanwhile.body).to.deep.equal(first);
      await clock.advance(1_000);
      const second = await api("GET", EXPORT);
      expect(second.body!.uri).not.to.equal(first.uri);
      expect(Date.parse(second.body!.exportTimestamp!)).to.be.greaterThan(Date.parse(first.exportTimestamp));
      const ids = async (uri: string) =>
        rowsOf((await fetchFile(await signedUrl(uri))).text)
          .slice(1)
          .map((row) => row[0]);
      expect(await ids(first.uri)).to.deep.equal(["a"]);
      expect(await ids(second.body!.uri!)).to.deep.equal(["a", "b"]);
    });

    it("exports only the contacts named by contactIds, and refuses filters it does not simulate", async () => {
      await addContacts(["a", "b", "c"]);
      expect((await api("POST", EXPORT, { contactIds: ["c", "a", "zzz"] })).status).to.equal(200);
      await clock.advance(2_000);
      const { text } = await fetchFile(await signedUrl((await api("GET", EXPORT)).body!.uri!));
      expect(rowsOf(text).map((row) => row[0])).to.deep.equal(["inin-outbound-id", "c", "a"]);
      expect((await api("POST", EXPORT, { contactListFilterId: "f" })).status).to.equal(400);
    });
  });

  describe("the CSV", () => {
    it("holds the list's columns and the system columns, filled from the simulated call records", async () => {
      await addContacts(["a", "b", "c"]);
      const at = Date.parse("2026-11-21T07:30:00Z");
      sim.recordCall(LIST, "a", {
        column: "phone",
        atMs: at,
        result: "ININ-OUTBOUND-NO-ANSWER",
        callable: false,
      });
      sim.recordCall(LIST, "a", { column: "mobile", atMs: at + 60_000, result: "Sale", wrapupCode: "Sale" });
      sim.recordCall(LIST, "c", {
        column: "phone",
        atMs: at,
        result: "ININ-OUTBOUND-DNC-SKIPPED",
        contactCallable: false,
      });
      expect(() => sim.recordCall(LIST, "a", { column: "name", atMs: at, result: "x" })).to.throw(
        /phone column/,
      );
      const { uri } = await exportNow();
      const file = await fetchFile(await signedUrl(uri));
      expect(file.status).to.equal(200);
      expect(file.headers["content-type"]).to.equal("text/csv; charset=utf-8");
      expect(file.text.startsWith('\ufeff"inin-outbound-id","id","name"')).to.equal(true);
      expect(Number(file.headers["content-length"])).to.equal(file.bytes.length);
      const [header, a, b, c] = rowsOf(file.text);
      expect(header).to.deep.equal(HEADER);
      const row = (values: string[]) =>
        Object.fromEntries(HEADER.map((column, index) => [column, values[index]]));
      expect(row(a!)).to.deep.include({
        "inin-outbound-id": "a",
        phone: "+353851000000",
        ContactCallable: "1",
        "CallRecordLastAttempt-phone": "2026-11-21T07:30:00.000Z",
        "CallRecordLastResult-phone": "ININ-OUTBOUND-NO-ANSWER",
        "CallRecordLastAgentWrapup-phone": "",
        "Callable-phone": "0",
        "CallRecordLastAttempt-mobile": "2026-11-21T07:31:00.000Z",
        "CallRecordLastResult-mobile": "Sale",
        "CallRecordLastAgentWrapup-mobile": "Sale",
        "Callable-mobile": "1",
      });
      expect(row(b!)).to.deep.include({
        "inin-outbound-id": "b",
        ContactCallable: "1",
        "CallRecordLastAttempt-phone": "",
        "Callable-phone": "1",
      });
      expect(row(c!)).to.deep.include({
        ContactCallable: "0",
        "CallRecordLastResult-phone": "ININ-OUTBOUND-DNC-SKIPPED",
      });
    });

    it("shows call records on a contact as Genesys' CallRecord, kept by an upsert unless clearSystemData=true", async () => {
      await addContacts(["a"]);
      sim.recordCall(LIST, "a", {
        column: "phone",
        atMs: Date.parse("2026-11-21T07:30:00Z"),
        result: "Busy",
        wrapupCode: "W",
      });
      const read = await api("GET", `/api/v2/outbound/contactlists/${LIST}/contacts/a`);
      expect(read.body!.callRecords).to.deep.equal({
        phone: { lastAttempt: "2026-11-21T07:30:00.000Z", lastResult: "Busy" },
      });
      await addContacts(["a"]);
      expect(sim.contacts(LIST).get("a")!.callRecords).to.have.property("phone");
      await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts?clearSystemData=true`, [
        { id: "a", contactListId: LIST, data: { id: "a" } },
      ]);
      expect(sim.contacts(LIST).get("a")!.callRecords).to.equal(undefined);
    });

    it("exports a list nobody defined with the columns its contacts were written with", async () => {
      await sim.close();
      await start({ contactLists: undefined, contactListIds: [LIST] });
      await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts`, [
        { id: "a", contactListId: LIST, data: { ref: "a", tel: "+353851000001" } },
        { id: "b", contactListId: LIST, data: { ref: "b", note: 'said "no"' } },
      ]);
      const { text } = await fetchFile(await signedUrl((await exportNow()).uri));
      const [header, , b] = rowsOf(text);
      expect(header).to.deep.equal([
        "inin-outbound-id",
        "ref",
        "tel",
        "note",
        "ContactCallable",
        "ContactableByVoice",
        "ContactableBySms",
        "ContactableByEmail",
        "ZipCodeAutomaticTimeZone",
      ]);
      expect(b!.slice(0, 4)).to.deep.equal(["b", "b", "", 'said "no"']);
    });
  });

  describe("the Genesys download and the second host", () => {
    it("redirects (303) or answers {url} to a signed URL on the download host, which needs no token", async () => {
      const { uri } = await exportNow();
      expect(sim.downloadBaseUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.downloadBaseUrl).not.to.equal(sim.apiBaseUrl);
      const redirect = await api("GET", uri);
      expect(redirect.status).to.equal(303);
      const location = redirect.headers.location as string;
      expect(location.startsWith(`${sim.downloadBaseUrl}/exports/`)).to.equal(true);
      expect(new URL(location).searchParams.get("X-Amz-Expires")).to.equal("600");
      const json = await api("GET", `${uri}?issueRedirect=false`);
      expect(Object.keys(json.body!)).to.deep.equal(["url"]);
      expect((await fetchFile(location)).status).to.equal(200);
      expect((await fetchFile(json.body!.url!)).status).to.equal(200);
      const withoutToken = await request(uri);
      expect(withoutToken.statusCode).to.equal(401);
      await withoutToken.body.dump();
      expect(sim.stats()).to.include({ downloadsCompleted: 2, downloadsWithAuthorization: 0 });
      expect(sim.clientAddresses("GET /exports/{downloadId}/{file}")).to.deep.equal(["127.0.0.1"]);
      const missing = await api("GET", "/api/v2/downloads/00000000-0000-4000-8000-000000000000");
      expect([missing.status, missing.body!.code]).to.deep.equal([404, "not.found"]);
    });

    it("refuses a signed URL once it expired, or altered, with S3's 403; a fresh one works", async () => {
      const { uri } = await exportNow();
      const url = await signedUrl(uri);
      const longer = new URL(url);
      longer.searchParams.set("X-Amz-Expires", "86400");
      const altered = await fetchFile(longer.toString());
      expect(altered.status).to.equal(403);
      expect(altered.text).to.contain("<Code>SignatureDoesNotMatch</Code>");
      await clock.advance(600_000);
      expect((await fetchFile(url)).status).to.equal(200);
      await clock.advance(1_000);
      const expired = await fetchFile(url);
      expect([expired.status, expired.headers["content-type"]]).to.deep.equal([403, "application/xml"]);
      expect(expired.text).to.contain("<Code>AccessDenied</Code><Message>Request has expired</Message>");
      expect((await fetchFile(await signedUrl(uri))).status).to.equal(200);
      expect(sim.stats()).to.include({ downloadsRefused: 2, downloadsCompleted: 2 });
    });

    it("counts the API calls against the token's budget, and not the downloads", async () => {
      await sim.close();
      await start({ rateLimit: { requestsPerWindow: 4, windowMs: 60_000 } });
      const { uri } = await exportNow();
      const url = await signedUrl(uri);
      for (let round = 0; round < 5; round += 1) expect((await fetchFile(url)).status).to.equal(200);
      expect((await api("GET", uri)).status).to.equal(303);
      expect((await api("GET", uri)).status).to.equal(429);
      expect(sim.count("POST /api/v2/outbound/contactlists/{id}/export", 200)).to.equal(1);
      expect(sim.count("GET /api/v2/outbound/contactlists/{id}/export", 200)).to.equal(1);
      expect(sim.count("GET /api/v2/downloads/{downloadId}", 200)).to.equal(1);
      expect(sim.count("GET /api/v2/downloads/{downloadId}", 303)).to.equal(1);
      expect(sim.stats()).to.include({ apiRequests: 5, rateLimited: 1, downloadsCompleted: 5 });
    });

    it("counts a download that came with an Authorization header: a Genesys token should not go there", async () => {
      const url = await signedUrl((await exportNow()).uri);
      const leaked = await request(url, { headers: { authorization: `Bearer ${bearer}` } });
      await leaked.body.dump();
      expect(sim.stats().downloadsWithAuthorization).to.equal(1);
    });
  });

  describe("faults", () => {
    it("keeps an export from ever becoming ready while exportsNeverReady is on", async () => {
      sim.faults.exportsNeverReady(true);
      await api("POST", EXPORT);
      await clock.advance(3_600_000);
      expect((await api("GET", EXPORT)).status).to.equal(404);
      sim.faults.exportsNeverReady(false);
      await clock.advance(3_600_000);
      expect((await api("GET", EXPORT)).status).to.equal(404);
      await exportNow();
    });

    it("cuts the next downloads after N bytes of the body; the client sees a short, broken body", async () => {
      await addContacts(["a", "b", "c"]);
      const url = await signedUrl((await exportNow()).uri);
      sim.faults.cutDownloads(1, 100);
      const response = await request(url);
      const declared = Number(response.headers["content-length"]);
      let received = 0;
      const broken = await (async () => {
        for await (const chunk of response.body as AsyncIterable<Buffer>) received += chunk.length;
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(broken).to.be.instanceOf(Error);
      expect(received).to.equal(100);
      expect(declared).to.be.greaterThan(100);
      const whole = await fetchFile(url);
      expect(whole.bytes.length).to.equal(declared);
      expect(sim.stats()).to.include({ downloadsCut: 1, downloadsCompleted: 1 });
    });

    it("sends no faster than downloadBytesPerSecond on the simulator's clock, so a test can stop a client mid-way", async () => {
      await sim.close();
      await start({ downloadBytesPerSecond: 1_000 });
      await addContacts(["a", "b", "c", "d", "e", "f", "g", "h"]);
      const url = await signedUrl((await exportNow()).uri);
      let received = 0;
      let declared = 0;
      let done = false;
      void request(url).then(async (response) => {
        declared = Number(response.headers["content-length"]);
        for await (const chunk of response.body as AsyncIterable<Buffer>) received += chunk.length;
        done = true;
      });
      const startedMs = clock.now();
      await clock.advanceUntil(() => received > 0, "the first slice", { stepMs: 100 });
      await clock.advance(1_000);
      await clock.settleIo();
      expect(received).to.be.within(1_000, 1_300);
      await clock.advanceUntil(() => done, "the whole file", { stepMs: 100 });
      expect(received).to.equal(declared);
      expect(clock.now() - startedMs).to.be.within(declared - 200, declared + 300);
    });

    it("refuses an export of a list the client may not read (403 naming the permission) or that was deleted", async () => {
      sim.faults.contactListFailure(LIST, 403, "outbound:contact:view");
      const forbidden = await api("POST", EXPORT);
      expect([forbidden.status, forbidden.body!.code]).to.deep.equal([403, "missing.permissions"]);
      expect(forbidden.body!.message).to.contain("outbound:contact:view");
      sim.faults.contactListFailure(LIST, 403, "outbound:contactList:view");
      expect((await api("GET", EXPORT)).status).to.equal(403);
      sim.faults.contactListFailure(LIST, 403, "outbound:contact:add");
      expect((await api("POST", EXPORT)).status).to.equal(200);
      sim.faults.contactListFailure(LIST, 404);
      expect((await api("GET", EXPORT)).body!.code).to.equal("not.found");
    });
  });

  describe("a DNC list's export", () => {
    it("exports a DNC list's entries with their expiry through the same download", async () => {
      const dnc = sim.createDncList({ name: "Opt-outs", dncSourceType: "rds", contactMethod: "Phone" });
      await api(
        "POST",
        `/api/v2/outbound/dnclists/${dnc}/phonenumbers?expirationDateTime=2027-01-01T00:00Z`,
        ["+353851000001"],
      );
      const { uri } = await exportNow(`/api/v2/outbound/dnclists/${dnc}/export`);
      expect(rowsOf((await fetchFile(await signedUrl(uri))).text)).to.deep.equal([
        ["Value", "Kind", "ExpirationDateTime"],
        ["+353851000001", "phonenumbers", "2027-01-01T00:00:00.000Z"],
      ]);
      expect(sim.count("POST /api/v2/outbound/dnclists/{id}/export", 200)).to.equal(1);
    });
  });

  describe("a synthetic million-row export", () => {
    it("streams 1,000,000 made-up contacts with one chunk in flight, without holding the file", async function () {
      this.timeout(120_000);
      await sim.close();
      await start({ retainContacts: false, syntheticExportRows: 1_000_000 });
      const url = await signedUrl((await exportNow()).uri);
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const response = await request(url);
      const declared = Number(response.headers["content-length"]);
      let bytes = 0;
      let lines = 0;
      let first = "";
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (first === "") first = chunk.subarray(0, 2_000).toString("utf8");
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
      expect(lines).to.equal(1_000_001);
      expect(bytes).to.equal(declared);
      const [header, c0] = rowsOf(first.split("\n").slice(0, 2).join("\n"));
      expect(header).to.deep.equal(HEADER);
      expect(c0!.slice(0, 6)).to.deep.equal(["c0", "id-0", "name-0", "+15550000000", "+15550000000", "1"]);
      // The file is about 170 MB; the simulator never buffers more than a chunk of it, and the
      // process (client and simulator together) grows by well under the file's size.
      expect(sim.stats().peakDownloadBufferBytes).to.be.lessThan(256 * 1024);
      expect(peakRss - rssBefore).to.be.lessThan(bytes * 0.75);
    });
  });

  describe("through the service's GenesysClient", () => {
    it("starts, polls, resolves the download and fetches the file from the second host", async () => {
      const real = await startSimulator({
        contactLists: [{ id: LIST, name: "Spring", columnNames: COLUMNS, phoneColumns: PHONE_COLUMNS }],
        listExportReadyMs: 300,
      });
      const client = new GenesysClient({
        endpoints: resolveEndpoints({ apiBaseUrl: real.apiBaseUrl, loginBaseUrl: real.loginBaseUrl }),
        clientId: real.clients[0]!.clientId,
        clientSecret: real.clients[0]!.clientSecret,
        logger: capturedLogger().logger,
      });
      client.start();
      try {
        await client.whenReady();
        await client.request({ method: "POST", path: EXPORT });
        let polls = 0;
        let ready: { uri: string } | undefined;
        while (!ready) {
          polls += 1;
          ready = await client
            .request<{ uri: string }>({ method: "GET", path: EXPORT, query: { download: false } })
            .catch((error: unknown) => {
              expect((error as GenesysHttpError).status).to.equal(404);
              return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50));
            });
        }
        expect(polls).to.be.greaterThan(1);
        const path = new URL(ready.uri).pathname;
        const { url } = await client.request<{ url: string }>({
          method: "GET",
          path,
          query: { issueRedirect: false },
        });
        const file = await request(url);
        expect(file.statusCode).to.equal(200);
        expect(rowsOf(await file.body.text())[0]).to.deep.equal(HEADER);
      } finally {
        await client.close();
        await real.close();
      }
    });
  });
});
