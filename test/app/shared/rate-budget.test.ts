import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { renderConsole, type ConsoleView } from "../../../app/src/console/page";
import { GenesysClient } from "../../../app/src/genesys/client";
import {
  budgetInDemand,
  budgetShareInUse,
  replicaBudgetPerWindow,
  tokenPacing,
} from "../../../app/src/shared/rate-budget";
import { SETTING } from "../../../app/src/shared/settings";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { ScriptedGenesys, SCRIPTED_ENDPOINTS } from "../../support/scripted-genesys";

const APP_SRC = path.resolve(__dirname, "../../../app/src");

function client(options: {
  tokenPoolSize: number;
  rateLimit: { requestsPerWindow: number; windowMs: number };
}) {
  const clock = new FakeClock();
  const genesys = new ScriptedGenesys();
  const instance = new GenesysClient({
    endpoints: SCRIPTED_ENDPOINTS,
    clientId: "client-id",
    clientSecret: "client-secret-for-tests",
    dispatcher: genesys.agent,
    clock,
    random: () => 0.5,
    logger: capturedLogger().logger,
    ...options,
  });
  return { clock, genesys, client: instance };
}

function consoleView(client: ConsoleView["client"]): ConsoleView {
  return {
    user: "ops@example.com",
    csrf: "token",
    nowMs: Date.parse("2026-12-02T10:00:00Z"),
    client,
    history: [],
    importer: {
      paused: false,
      inboxFiles: 0,
      oldestInboxFileAgeSeconds: 0,
      current: undefined,
      recent: [],
      lastScanAt: undefined,
      lastError: undefined,
      blocked: undefined,
      volumeFull: undefined,
    },
    archive: { count: 0, lastAgeSeconds: undefined },
    rejected: [],
    exporter: { enabled: true, paused: false, leader: true, lastPoll: undefined, lastError: undefined },
    watermarkMs: undefined,
    notice: undefined,
  };
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [path.join(dir, entry.name)]
        : [],
  );
}

describe("one rate-budget model (app/src/shared/rate-budget.ts)", () => {
  it("paces a token to Genesys' limit as the settings table states it, with the client's margin and low water", () => {
    expect(tokenPacing()).to.deep.equal({
      requestsPerWindow: SETTING.GENESYS_RATE_LIMIT_PER_WINDOW.default,
      windowMs: SETTING.GENESYS_RATE_LIMIT_WINDOW_MS.default,
      lowWaterRatio: 0.1,
      safetyMarginMs: 600,
    });
    expect(tokenPacing({ windowMs: 10_000 }).safetyMarginMs).to.equal(250);
    expect(tokenPacing({ safetyMarginMs: 0 }).safetyMarginMs).to.equal(0);
  });

  it("the client's pacer sends the model's token budget per window plus its margin, and the client reports the model's replica budget", async () => {
    const rateLimit = { requestsPerWindow: 4, windowMs: 10_000 };
    const pacing = tokenPacing(rateLimit);
    const { clock, genesys, client: paced } = client({ tokenPoolSize: 1, rateLimit });
    const all = Promise.all(
      Array.from({ length: 5 }, () => paced.request({ method: "GET", path: "/api/v2/things" })),
    );
    await clock.advance(pacing.windowMs + pacing.safetyMarginMs - 1);
    expect(genesys.apiRequests()).to.have.length(pacing.requestsPerWindow);
    expect(paced.state()).to.deep.include({
      rateBudgetInUse: pacing.requestsPerWindow,
      rateBudgetPerWindow: replicaBudgetPerWindow(pacing, 1),
      rateWindowMs: pacing.windowMs,
    });
    await clock.advance(1);
    await clock.run(all);
    expect(genesys.apiRequests()).to.have.length(pacing.requestsPerWindow + 1);
    await paced.close();

    const pooled = client({ tokenPoolSize: 3, rateLimit }).client;
    expect(pooled.state().rateBudgetPerWindow).to.equal(replicaBudgetPerWindow(pacing, 3)).and.equal(12);
    await pooled.close();
  });

  it("the console shows the model's share of the budget in use; the re-read's busy check is the model's", () => {
    for (const inUse of [0, 1, 150, 151, 299, 300]) {
      const state = {
        tokens: [],
        breaker: "closed" as const,
        rateBudgetInUse: inUse,
        rateBudgetPerWindow: 300,
        rateWindowMs: 60_000,
      };
      const html = renderConsole(consoleView(state));
      expect(html).to.contain(`${inUse} of 300 per 60 s`);
      expect(html).to.contain(`${Math.round(budgetShareInUse(state) * 100)} % in use`);
      // Over half the budget in use: the re-read waits (as service.ts's busy check asked before).
      expect(budgetInDemand(state), `${inUse} of 300`).to.equal(inUse * 2 > 300);
    }
    expect(budgetShareInUse({ rateBudgetInUse: 0, rateBudgetPerWindow: 0 })).to.equal(0);
  });

  it("is the only place that computes the share in use, the busy threshold or the per-token defaults", () => {
    const copies = [
      /rateBudgetInUse\s*[*/]/,
      /rateBudgetPerWindow\s*>\s*0/,
      /requestsPerWindow\s*\?\?/,
      /safetyMarginMs\s*\?\?/,
    ];
    const found = sources(APP_SRC)
      .filter((file) => !file.endsWith(path.join("shared", "rate-budget.ts")))
      .flatMap((file) => {
        const text = readFileSync(file, "utf8");
        return copies
          .filter((copy) => copy.test(text))
          .map((copy) => `${path.relative(APP_SRC, file)}: ${copy}`);
      });
    expect(found).to.deep.equal([]);
  });
});
