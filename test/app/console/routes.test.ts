import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CONSOLE_PREFIX, type ConsoleConfig } from "../../../app/src/console/config";
import { operatorConsole } from "../../../app/src/console/console";
import type { ExportControl, ImportControl } from "../../../app/src/console/controls";
import { CookieSealer } from "../../../app/src/console/session";
import type { ExportStatus } from "../../../app/src/export/export-service";
import type { ClientState } from "../../../app/src/genesys/client";
import type { ImportStatus } from "../../../app/src/import/import-service";
import { dataLayout, ensureLayout } from "../../../app/src/shared/layout";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";

/**
 * The console's routes through `app.inject()`, on plain objects standing in for the import, the
 * export and the client (the narrow interfaces of controls.ts). The sign-in itself, against a real
 * provider in a real browser, is console.e2e.test.ts.
 */
describe("operator console routes (inject, fake import and export)", () => {
  const CONFIG: ConsoleConfig = {
    issuerUrl: "http://127.0.0.1:9/unreachable",
    clientId: "sync-console",
    clientSecret: "console-client-secret-for-tests",
    sessionSecret: "a-session-secret-of-at-least-32-characters",
    publicUrl: "https://sync.example.com",
    allowedGroups: ["sync-operators"],
    groupsClaim: "groups",
    scopes: "openid",
    sessionHours: 8,
  };
  const CSRF = "the-session-csrf-token";
  let app: FastifyInstance;
  let clock: FakeClock;
  let log: ReturnType<typeof capturedLogger>;
  let paused: { import: boolean; export: boolean };

  beforeEach(async () => {
    clock = new FakeClock(Date.parse("2026-12-07T09:00:00Z"));
    log = capturedLogger();
    paused = { import: false, export: false };
    const importer: ImportControl = {
      status: () => ({ paused: paused.import }) as unknown as ImportStatus,
      pause: () => void (paused.import = true),
      resume: () => void (paused.import = false),
    };
    const exporter: ExportControl = {
      status: () => ({ paused: paused.export }) as unknown as ExportStatus,
      watermarkMs: async () => undefined,
      pause: () => void (paused.export = true),
      resume: () => void (paused.export = false),
    };
    const layout = dataLayout(mkdtempSync(path.join(tmpdir(), "console-routes-")));
    await ensureLayout(layout);
    app = Fastify();
    await app.register(operatorConsole, {
      prefix: CONSOLE_PREFIX,
      config: CONFIG,
      client: { state: () => ({}) as ClientState },
      importer,
      exporter,
      layout,
      history: { lastHour: () => [] },
      logger: log.logger,
      clock,
    });
  });
  afterEach(async () => app.close());

  const session = () =>
    `sync_console=${new CookieSealer(CONFIG.sessionSecret, "session", () => clock.now()).seal(
      { sub: "u-1", name: "alice@example.com", csrf: CSRF },
      clock.now() + 3_600_000,
    )}`;
  const act = (action: string, form: Record<string, string>, cookie = session()) =>
    app.inject({
      method: "POST",
      url: `${CONSOLE_PREFIX}/actions/${action}`,
      headers: {
        cookie,
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://sync.example.com",
      },
      payload: new URLSearchParams(form).toString(),
    });

  it("each switch flips its control, is logged with who did it, and redirects to the page's notice", async () => {
    for (const [action, expected] of [
      ["pause-import", { import: true, export: false }],
      ["pause-export", { import: true, export: true }],
      ["resume-import", { import: false, export: true }],
      ["resume-export", { import: false, export: false }],
    ] as const) {
      const answer = await act(action, { csrf: CSRF });
      expect(answer.statusCode, action).to.equal(303);
      expect(answer.headers.location).to.equal(`/console?done=${action}`);
      expect(paused, action).to.deep.equal(expected);
      expect(log.text()).to.contain(`"action":"${action}","by":{"user":"alice@example.com","subject":"u-1"}`);
    }
  });

  it("refuses an action without the session's CSRF token or without a session, and flips nothing", async () => {
    const wrong = await act("pause-import", { csrf: "guess" });
    expect(wrong.statusCode).to.equal(403);
    expect(wrong.body).to.contain("missing or wrong CSRF token");
    const anonymous = await act("pause-import", { csrf: CSRF }, "");
    expect(anonymous.statusCode).to.equal(403);
    expect(anonymous.body).to.contain("not signed in");
    expect(paused).to.deep.equal({ import: false, export: false });
  });

  it("an unknown action, even an object's own key, is 404; a requeue of no rejected file is 409", async () => {
    for (const action of ["reboot", "constructor", "__proto__"]) {
      const answer = await act(action, { csrf: CSRF });
      expect(answer.statusCode, action).to.equal(404);
      expect(answer.body).to.contain("No such action");
    }
    const requeue = await act("requeue", { csrf: CSRF, file: "contacts.csv" });
    expect(requeue.statusCode).to.equal(409);
    expect(requeue.body).to.contain("is not a rejected file");
  });

  it("the page without a session goes to sign in, and says so when the provider cannot be reached", async () => {
    const answer = await app.inject({ method: "GET", url: CONSOLE_PREFIX });
    expect(answer.statusCode).to.equal(503);
    expect(answer.body).to.contain("Sign-in unavailable");
    expect(answer.headers["content-security-policy"]).to.contain("default-src 'none'");
    expect(answer.headers["cache-control"]).to.equal("no-store");
    const signedOut = await app.inject({ method: "GET", url: `${CONSOLE_PREFIX}/signed-out` });
    expect(signedOut.statusCode).to.equal(200);
    expect(signedOut.body).to.contain("Signed out");
  });
});
