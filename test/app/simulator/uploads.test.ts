import { expect } from "chai";
import { request } from "undici";
import { startSimulator, type GenesysSimulator } from "../../../app/simulator/simulator";
import { FakeClock } from "../../support/fake-clock";

/**
 * The simulator's bulk contact-list load, as genesys-cloud-facts.md describes it: a presigned URL
 * from POST .../contactlists/uploads, the file PUT there with the headers it came with, then
 * importstatus progressing with Genesys' own work, no COMPLETE state, FAILED with a reason.
 */
describe("Genesys Cloud simulator: bulk contact-list load", () => {
  const LIST = "5f0a1e4c-2d7b-4e3a-9c1b-0a1b2c3d4e5f";
  let clock: FakeClock;
  let sim: GenesysSimulator;
  let bearer: string;

  beforeEach(async () => {
    clock = new FakeClock();
    sim = await startSimulator({ clock, contactListIds: [LIST], uploadRecordsPerSecond: 1_000 });
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
  });
  afterEach(() => sim.close());

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
    await upload(csv(10));
    await clock.advance(1_000);
    await importStatus();
    expect(sim.contacts(LIST).size).to.equal(10);
    expect((await api("POST", `/api/v2/outbound/contactlists/${LIST}/clear`)).status).to.equal(204);
    expect(sim.contacts(LIST).size).to.equal(0);
  });
});
