import { expect } from "chai";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { request } from "undici";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../simulator/simulator";
import { FakeClock } from "../support/fake-clock";
import { waitFor } from "../support/harness";

/**
 * The simulator's bulk contact-list load, as genesys-cloud-facts.md describes it: a presigned URL
 * from POST .../contactlists/uploads, the file PUT there with the headers it came with, or the
 * older multipart POST /uploads/v2/contactlist on the apps host; then importstatus progressing
 * with Genesys' own work, no COMPLETE state, FAILED with a reason.
 */
describe("Genesys Cloud simulator: bulk contact-list load", () => {
  const LIST = "5f0a1e4c-2d7b-4e3a-9c1b-0a1b2c3d4e5f";
  let clock: FakeClock;
  let sim: GenesysSimulator;
  let bearer: string;

  beforeEach(() => start());
  afterEach(() => sim.close());

  /** A simulator with `options` (over the defaults of this suite) and a token for it. */
  async function start(options: SimulatorOptions = {}) {
    clock = new FakeClock();
    sim = await startSimulator({ clock, contactListIds: [LIST], uploadRecordsPerSecond: 1_000, ...options });
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

  async function restart(options: SimulatorOptions) {
    await sim.close();
    await start(options);
  }

  async function api(method: "GET" | "POST", path: string, body?: unknown) {
    const response = await request(`${sim.apiBaseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  }

  const csv = (rows: number, header = "id,phone") =>
    `${header}\n${Array.from({ length: rows }, (_, index) => `c${index},+35385000${String(index).padStart(4, "0")}`).join("\n")}\n`;

  async function upload(content: string, headers?: Record<string, string>) {
    const created = await api("POST", "/api/v2/outbound/contactlists/uploads", {
      id: LIST,
      contactIdName: "id",
      contentType: "csv",
    });
    expect(created.status).to.equal(200);
    const put = await request(created.body!.url as string, {
      method: "PUT",
      headers: headers ?? (created.body!.headers as Record<string, string>),
      body: content,
    });
    await put.body.text();
    return { created, status: put.statusCode };
  }

  const importStatus = async () =>
    (await api("GET", `/api/v2/outbound/contactlists/${LIST}/importstatus`)).body!;

  it("imports an uploaded file in the background: IN_PROGRESS with progress, then 100 % and no state", async () => {
    const { created, status } = await upload(csv(2_500));
    expect(status).to.equal(200);
    expect(created.body).to.have.keys(["url", "uploadKey", "headers"]);
    expect(await importStatus()).to.deep.equal({
      state: "IN_PROGRESS",
      totalRecords: 2_500,
      completedRecords: 0,
      percentComplete: 0,
    });
    await clock.advance(1_000);
    expect(await importStatus()).to.include({
      state: "IN_PROGRESS",
      completedRecords: 1_000,
      percentComplete: 40,
    });
    expect(sim.contacts(LIST).size, "contacts appear when the import completes").to.equal(0);
    await clock.advance(2_000);
    const done = await importStatus();
    expect(done).to.deep.equal({ totalRecords: 2_500, completedRecords: 2_500, percentComplete: 100 });
    expect(done).not.to.have.property("state");
    expect(sim.contacts(LIST).size).to.equal(2_500);
    expect(sim.contacts(LIST).get("c7")!.data).to.deep.equal({ id: "c7", phone: "+353850000007" });
    expect(sim.uploads.received).to.have.length(1);
    expect(sim.uploads.received[0]).to.include({ listId: LIST, records: 2_500, via: "presigned" });
  });

  it("fails the import with Genesys' reasons: no id column, more than 50 columns", async () => {
    await upload("phone\n+353850000001\n");
    expect(await importStatus()).to.include({ state: "FAILED", failureReason: "MISSING_CUSTOM_ID" });
    const wide = Array.from({ length: 51 }, (_, index) => (index === 0 ? "id" : `c${index}`)).join(",");
    await upload(`${wide}\n${wide.replace(/[a-z]/g, "v")}\n`);
    expect(await importStatus()).to.include({
      state: "FAILED",
      failureReason: "CONTACT_COLUMNS_LIMIT_EXCEEDED",
    });
    expect(sim.contacts(LIST).size).to.equal(0);
  });

  it("takes a presigned URL once, only with its headers, and only before it expires", async () => {
    expect((await upload(csv(1), { "content-type": "application/octet-stream" })).status).to.equal(403);
    const { created } = await upload(csv(1));
    const again = await request(created.body!.url as string, {
      method: "PUT",
      headers: created.body!.headers as Record<string, string>,
      body: csv(1),
    });
    await again.body.text();
    expect(again.statusCode).to.equal(403);
    const late = await api("POST", "/api/v2/outbound/contactlists/uploads", {
      id: LIST,
      contactIdName: "id",
      signedUrlTimeoutSeconds: 60,
    });
    await clock.advance(61_000);
    const expired = await request(late.body!.url as string, {
      method: "PUT",
      headers: late.body!.headers as Record<string, string>,
      body: csv(1),
    });
    await expired.body.text();
    expect(expired.statusCode).to.equal(403);
  });

  it("refuses an upload for a list that does not exist or without the id column's name, and clears a list", async () => {
    expect(
      (await api("POST", "/api/v2/outbound/contactlists/uploads", { id: "nope", contactIdName: "id" }))
        .status,
    ).to.equal(404);
    expect((await api("POST", "/api/v2/outbound/contactlists/uploads", { id: LIST })).body).to.include({
      status: 400,
    });
    // The list's injected faults apply, as on the multipart form.
    const presign = () =>
      api("POST", "/api/v2/outbound/contactlists/uploads", { id: LIST, contactIdName: "id" });
    sim.faults.contactListFailure(LIST, 404);
    expect((await presign()).status).to.equal(404);
    sim.faults.contactListFailure(LIST, 403, "outbound:contactList:upload");
    const forbidden = await presign();
    expect([forbidden.status, forbidden.body!.message]).to.deep.equal([
      403,
      "You are missing the following permission(s): outbound:contactList:upload",
    ]);
    sim.faults.contactListFailure(LIST, 403, "outbound:contact:add");
    expect((await presign()).status, "another permission missing does not matter").to.equal(200);
    sim.faults.contactListFailure(LIST, undefined);
    await upload(csv(10));
    await clock.advance(1_000);
    await importStatus();
    expect(sim.contacts(LIST).size).to.equal(10);
    expect((await api("POST", `/api/v2/outbound/contactlists/${LIST}/clear`)).status).to.equal(204);
    expect(sim.contacts(LIST).size).to.equal(0);
  });

  /**
   * Sends `body` with a Content-Length for all of it, writes only its first half, and kills the
   * connection once the simulator has read some of it: a client killed mid-upload.
   */
  async function sendHalfThenKill(
    method: "PUT" | "POST",
    url: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<void> {
    const target = new URL(url);
    const req = http.request({
      host: target.hostname,
      port: target.port,
      path: `${target.pathname}${target.search}`,
      method,
      headers: { ...headers, "content-length": String(body.length) },
    });
    req.on("error", () => undefined);
    req.write(body.subarray(0, Math.floor(body.length / 2)));
    await waitFor(
      () => sim.uploads.stats().uploadBytesInFlight > 0,
      "the simulator to read the upload",
      10_000,
    );
    req.destroy();
  }

  it("records a presigned PUT cut off mid-body as aborted, starts no import, and takes the URL again", async () => {
    const created = await api("POST", "/api/v2/outbound/contactlists/uploads", {
      id: LIST,
      contactIdName: "id",
    });
    const url = created.body!.url as string;
    const headers = created.body!.headers as Record<string, string>;
    await sendHalfThenKill("PUT", url, headers, Buffer.from(csv(5_000)));
    await waitFor(() => sim.uploads.aborted === 1, "the torn PUT to be counted", 10_000);
    expect(sim.uploads.received).to.deep.equal([]);
    expect(sim.uploads.stats()).to.include({ uploadsAborted: 1, uploadBytesInFlight: 0, uploadedRecords: 0 });
    expect(await importStatus(), "no import started").to.deep.equal({
      totalRecords: 0,
      completedRecords: 0,
      percentComplete: 100,
    });

    const retry = await request(url, { method: "PUT", headers, body: csv(5_000) });
    await retry.body.text();
    expect(retry.statusCode, "nothing was stored, so the URL is still unused").to.equal(200);
    expect(sim.uploads.received.map((upload) => upload.via)).to.deep.equal(["presigned"]);
  });

  describe("the multipart form, POST /uploads/v2/contactlist on the apps host", () => {
    const uploadUrl = () => `${sim.apiBaseUrl}/uploads/v2/contactlist`;

    /**
     * A multipart body built by hand, parts in the order the service sends them (id, fileType,
     * contact-id-name, file), so the parser is tested on bytes it did not produce.
     */
    function handBuilt(
      fields: ReadonlyArray<readonly [string, string]>,
      file?: string | Buffer,
    ): { body: Buffer; contentType: string } {
      const boundary = `----simulator-test-${randomBytes(8).toString("hex")}`;
      const parts = fields.map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      );
      const chunks = [Buffer.from(parts.join(""))];
      if (file !== undefined) {
        chunks.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\n` +
              "Content-Type: text/csv\r\n\r\n",
          ),
          Buffer.from(file),
          Buffer.from("\r\n"),
        );
      }
      chunks.push(Buffer.from(`--${boundary}--\r\n`));
      return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
    }

    /** The service's own form: id, fileType, contact-id-name, file. */
    const serviceForm = (file: string, contactIdName = "id", listId = LIST) =>
      handBuilt(
        [
          ["id", listId],
          ["fileType", "contactlist"],
          ["contact-id-name", contactIdName],
        ],
        file,
      );

    async function post(form: { body: Buffer; contentType: string }, authorization = `Bearer ${bearer}`) {
      const response = await request(uploadUrl(), {
        method: "POST",
        headers: { authorization, "content-type": form.contentType },
        body: form.body,
      });
      const text = await response.body.text();
      return {
        status: response.statusCode,
        headers: response.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      };
    }

    it("imports a file sent with Node's FormData, fields after the file: 200, importstatus progresses, contacts land", async () => {
      const form = new FormData();
      form.append("file", new Blob([csv(1_500)], { type: "text/csv" }), "contacts.csv");
      form.append("contact-id-name", "id");
      form.append("fileType", "contactlist");
      form.append("id", LIST);
      const response = await fetch(uploadUrl(), {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}` },
        body: form,
      });
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({});
      expect(sim.uploads.received).to.have.length(1);
      expect(sim.uploads.received[0]).to.include({ listId: LIST, records: 1_500, via: "multipart" });

      expect(await importStatus()).to.deep.equal({
        state: "IN_PROGRESS",
        totalRecords: 1_500,
        completedRecords: 0,
        percentComplete: 0,
      });
      await clock.advance(1_000);
      expect(await importStatus()).to.include({ state: "IN_PROGRESS", completedRecords: 1_000 });
      await clock.advance(1_000);
      expect(await importStatus()).to.deep.equal({
        totalRecords: 1_500,
        completedRecords: 1_500,
        percentComplete: 100,
      });
      expect(sim.contacts(LIST).size).to.equal(1_500);
      expect(sim.contacts(LIST).get("c42")!.data).to.deep.equal({ id: "c42", phone: "+353850000042" });

      const stats = (await (await fetch(`${sim.apiBaseUrl}/__simulator/stats`)).json()) as Record<
        string,
        number
      >;
      expect(stats).to.include({
        uploadsReceived: 1,
        uploadsAborted: 0,
        uploadBytesInFlight: 0,
        uploadedRecords: 1_500,
      });
      expect(sim.uploads.stats()).to.include({ uploadsReceived: 1, uploadedRecords: 1_500 });
    });

    it("takes a hand-built body in the service's part order, bigger than the 512,000-byte API cap", async () => {
      const form = serviceForm(csv(30_000), "ID");
      expect(form.body.length).to.be.above(512_000);
      const answer = await post(form);
      expect(answer.status).to.equal(200);
      expect(sim.uploads.received[0]).to.include({ records: 30_000, via: "multipart" });
      await clock.advance(30_000);
      expect(await importStatus()).to.include({ totalRecords: 30_000, percentComplete: 100 });
      expect(sim.contacts(LIST).size, "rows keyed by the id column, matched case-insensitively").to.equal(
        30_000,
      );
      expect(sim.contacts(LIST).has("c29999")).to.equal(true);
    });

    it("is an API call: 401 without a valid token, 429 with Retry-After once the token's budget is spent", async () => {
      const noToken = await post(serviceForm(csv(1)), "");
      expect([noToken.status, noToken.body!.code]).to.deep.equal([401, "authentication.required"]);
      const unknownToken = await post(serviceForm(csv(1)), "Bearer not-a-token");
      expect([unknownToken.status, unknownToken.body!.code]).to.deep.equal([401, "bad.credentials"]);

      await restart({ rateLimit: { requestsPerWindow: 1, windowMs: 60_000 } });
      expect((await post(serviceForm(csv(1)))).status).to.equal(200);
      const limited = await post(serviceForm(csv(1)));
      expect(limited.status).to.equal(429);
      expect(limited.headers["retry-after"]).to.equal("60");
      expect(limited.body).to.include({ code: "too.many.requests.retry.after" });
      expect(sim.uploads.received, "only the upload within the budget").to.have.length(1);
      expect(sim.count("POST /uploads/v2/contactlist", 429)).to.equal(1);
    });

    it("gets the injected faults of any API call: server errors, rate-limit storms, connection resets", async () => {
      sim.faults.serverErrors(1, 503);
      expect((await post(serviceForm(csv(1)))).status).to.equal(503);
      sim.faults.rateLimitStorm(1, 7);
      const storm = await post(serviceForm(csv(1)));
      expect([storm.status, storm.headers["retry-after"]]).to.deep.equal([429, "7"]);
      sim.faults.connectionResets(1);
      let reset: unknown;
      await post(serviceForm(csv(1))).catch((error: unknown) => (reset = error));
      expect(reset, "the connection was reset").to.be.instanceOf(Error);
      expect(sim.received.resets).to.equal(1);
      expect(sim.uploads.received).to.deep.equal([]);
      expect((await post(serviceForm(csv(1)))).status, "and then it goes through").to.equal(200);
    });

    it("answers 400 invalid.value for a form it cannot take, and records nothing", async () => {
      const cases: Array<[string, { body: Buffer; contentType: string }, RegExp]> = [
        [
          "not multipart",
          { body: Buffer.from(JSON.stringify({ id: LIST })), contentType: "application/json" },
          /multipart\/form-data/,
        ],
        [
          "no id",
          handBuilt(
            [
              ["fileType", "contactlist"],
              ["contact-id-name", "id"],
            ],
            csv(1),
          ),
          /\bid is required/,
        ],
        [
          "no contact-id-name",
          handBuilt(
            [
              ["id", LIST],
              ["fileType", "contactlist"],
            ],
            csv(1),
          ),
          /contact-id-name is required/,
        ],
        [
          "another fileType",
          handBuilt(
            [
              ["id", LIST],
              ["fileType", "csv"],
              ["contact-id-name", "id"],
            ],
            csv(1),
          ),
          /fileType must be contactlist/,
        ],
        [
          "no fileType",
          handBuilt(
            [
              ["id", LIST],
              ["contact-id-name", "id"],
            ],
            csv(1),
          ),
          /fileType must be contactlist/,
        ],
        [
          "no file part",
          handBuilt([
            ["id", LIST],
            ["fileType", "contactlist"],
            ["contact-id-name", "id"],
          ]),
          /file is required/,
        ],
        [
          "the file as a plain field, without a filename",
          handBuilt([
            ["id", LIST],
            ["fileType", "contactlist"],
            ["contact-id-name", "id"],
            ["file", csv(1)],
          ]),
          /file must be a file part/,
        ],
        [
          "a body that ends before its closing boundary",
          (() => {
            const whole = serviceForm(csv(1));
            return { ...whole, body: whole.body.subarray(0, whole.body.length - 20) };
          })(),
          /cannot be read/,
        ],
      ];
      for (const [what, form, message] of cases) {
        const answer = await post(form);
        expect(answer.status, what).to.equal(400);
        expect(answer.body, what).to.include({ code: "invalid.value", status: 400 });
        expect(answer.body!.message, what).to.match(message);
      }
      expect(sim.uploads.received).to.deep.equal([]);
      expect(sim.uploads.aborted, "a whole body that is wrong is not an aborted upload").to.equal(0);
    });

    it("answers 404 for an unknown list, and the list's injected 404 and 403 outbound:contactList:upload", async () => {
      const unknown = await post(serviceForm(csv(1), "id", "no-such-list"));
      expect([unknown.status, unknown.body!.code]).to.deep.equal([404, "not.found"]);

      sim.faults.contactListFailure(LIST, 404);
      expect((await post(serviceForm(csv(1)))).status).to.equal(404);
      sim.faults.contactListFailure(LIST, 403, "outbound:contactList:upload");
      const forbidden = await post(serviceForm(csv(1)));
      expect([forbidden.status, forbidden.body!.code]).to.deep.equal([403, "missing.permissions"]);
      expect(forbidden.body!.message).to.contain("outbound:contactList:upload");
      sim.faults.contactListFailure(LIST, 403, "outbound:contact:add");
      expect((await post(serviceForm(csv(1)))).status, "another permission missing does not matter").to.equal(
        200,
      );
      expect(sim.uploads.received).to.have.length(1);
    });

    it("takes the file and fails the import with Genesys' reasons: no id column, more than 50 columns", async () => {
      expect((await post(serviceForm(csv(3), "customerId"))).status).to.equal(200);
      expect(await importStatus()).to.include({
        state: "FAILED",
        totalRecords: 3,
        failureReason: "MISSING_CUSTOM_ID",
      });
      const wide = Array.from({ length: 51 }, (_, index) => (index === 0 ? "id" : `c${index}`)).join(",");
      expect((await post(serviceForm(`${wide}\n${wide.replace(/[a-z]/g, "v")}\n`))).status).to.equal(200);
      expect(await importStatus()).to.include({
        state: "FAILED",
        failureReason: "CONTACT_COLUMNS_LIMIT_EXCEEDED",
      });
      await clock.advance(60_000);
      await importStatus();
      expect(sim.contacts(LIST).size).to.equal(0);
    });

    it("takes a file csv-parse cannot read to its end, then fails its import with INVALID_FILE_FORMAT", async () => {
      const broken = `${csv(100)}c100,+353850000100,one column too many\n${csv(20_000).split("\n").slice(1).join("\n")}`;
      const answer = await post(serviceForm(broken));
      expect(answer.status, "the rest of the body was still read").to.equal(200);
      expect(await importStatus()).to.include({ state: "FAILED", failureReason: "INVALID_FILE_FORMAT" });
      expect(sim.uploads.stats()).to.include({ uploadsReceived: 1, uploadBytesInFlight: 0 });
    });

    it("counts an upload cut off mid-body as aborted: nothing recorded, no import started", async () => {
      const form = serviceForm(csv(20_000));
      await sendHalfThenKill(
        "POST",
        uploadUrl(),
        { authorization: `Bearer ${bearer}`, "content-type": form.contentType },
        form.body,
      );
      await waitFor(() => sim.uploads.aborted === 1, "the torn upload to be counted", 10_000);
      expect(sim.uploads.received).to.deep.equal([]);
      expect(sim.uploads.stats()).to.include({
        uploadsAborted: 1,
        uploadBytesInFlight: 0,
        uploadedRecords: 0,
      });
      expect(await importStatus(), "no import started").to.deep.equal({
        totalRecords: 0,
        completedRecords: 0,
        percentComplete: 100,
      });
      expect(sim.contacts(LIST).size).to.equal(0);
    });

    it("reads upload bodies no faster than uploadBytesPerSecond, on the simulator's clock", async () => {
      const rate = 10_000;
      await restart({ uploadBytesPerSecond: rate });
      const form = serviceForm(csv(2_000));
      let status: number | undefined;
      const sent = post(form).then((answer) => (status = answer.status));
      let seconds = 0;
      let mostInFlight = 0;
      while (status === undefined && seconds < 120) {
        await clock.advance(1_000);
        seconds += 1;
        const inFlight = sim.uploads.stats().uploadBytesInFlight;
        expect(inFlight, `bytes read after ${seconds} s`).to.be.at.most(rate * seconds);
        mostInFlight = Math.max(mostInFlight, inFlight);
      }
      await sent;
      expect(status).to.equal(200);
      expect(seconds, "the whole body took its time").to.be.at.least(Math.floor(form.body.length / rate));
      expect(mostInFlight, "counted while it was read").to.be.above(0).and.below(form.body.length);
      expect(sim.uploads.received[0]).to.include({ records: 2_000, via: "multipart" });
    });

    it("lets a test kill a client while the server reads slowly: the upload is aborted, not received", async () => {
      await restart({ uploadBytesPerSecond: 10_000 });
      const form = serviceForm(csv(5_000));
      const target = new URL(uploadUrl());
      const req = http.request({
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          authorization: `Bearer ${bearer}`,
          "content-type": form.contentType,
          "content-length": String(form.body.length),
        },
      });
      req.on("error", () => undefined);
      req.write(form.body.subarray(0, 60_000));
      await clock.advance(2_000);
      const inFlight = sim.uploads.stats().uploadBytesInFlight;
      expect(inFlight).to.be.above(0).and.at.most(20_000);
      req.destroy();
      for (let seconds = 0; sim.uploads.aborted === 0 && seconds < 120; seconds += 1)
        await clock.advance(1_000);
      expect(sim.uploads.stats()).to.include({
        uploadsAborted: 1,
        uploadsReceived: 0,
        uploadBytesInFlight: 0,
      });
      expect(await importStatus(), "no import started").to.include({ totalRecords: 0 });
    });
  });
});
