import { expect } from "chai";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../app/src/server";
import { capturedLogger } from "../support/capture";

/** The access log of the service's fastify instance, read through a real pino logger. */
describe("the HTTP access log", () => {
  let app: FastifyInstance;
  let log: ReturnType<typeof capturedLogger>;
  // What an identity provider appends to the console's redirect: a one-time code and the state.
  const CODE = "one-time-code-4f9a2c";
  const STATE = "state-b81d7e";

  beforeEach(async () => {
    log = capturedLogger("info");
    app = buildApp(log.logger);
    app.get("/console/callback", async () => "signed in");
    app.get("/healthz", async () => ({ status: "ok" }));
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
  });

  it("logs the console callback's path but never its sign-in code and state", async () => {
    expect((await app.inject({ url: `/console/callback?code=${CODE}&state=${STATE}` })).statusCode).to.equal(
      200,
    );
    // A wrong method is logged as "not found", with the URL it was sent to.
    expect(
      (await app.inject({ method: "POST", url: `/console/callback?code=${CODE}&state=${STATE}` })).statusCode,
    ).to.equal(404);
    const requests = log.lines
      .map((line) => JSON.parse(line) as { msg: string; req?: { url?: string } })
      .filter((line) => line.msg === "incoming request");
    expect(requests.map((line) => line.req?.url)).to.deep.equal(["/console/callback", "/console/callback"]);
    expect(log.text()).to.contain("/console/callback");
    expect(log.text()).not.to.contain(CODE).and.not.to.contain(STATE);
  });

  it("leaves the probes out of the access log, with or without a query string", async () => {
    await app.inject({ url: "/healthz" });
    await app.inject({ url: "/healthz?verbose=1" });
    expect(log.text()).not.to.contain("/healthz");
  });
});
