import { expect } from "chai";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import type { DncFileDependencies } from "../../../app/src/dnc/file";
import { DncGate } from "../../../app/src/dnc/gate";
import { DncIndex } from "../../../app/src/dnc/index-store";
import type { DncRoute } from "../../../app/src/dnc/resolution";
import { GenesysClient } from "../../../app/src/genesys/client";
import { ClaimStore, replicaId, type Claim } from "../../../app/src/import/claims";
import type { ImportConfig } from "../../../app/src/import/config";
import { ImportMetrics } from "../../../app/src/import/metrics";
import {
  dataLayout,
  dncLaneLayout,
  dncLayout,
  ensureDncLayout,
  ensureLayout,
  type DataLayout,
  type DncLane,
} from "../../../app/src/shared/layout";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import type { Clock } from "../../../app/src/time/clock";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";

/** The import settings DNC tests run with: fast scans, nothing to settle. */
export const CONFIG: ImportConfig = {
  idColumn: "id",
  phoneColumns: ["phone"],
  defaultCountry: "GB",
  columns: [],
  scanIntervalSeconds: 1,
  claimTimeoutSeconds: 60,
  settleSeconds: 0,
  batchesInFlight: 4,
  maxRecordBytes: 65_536,
  maxRejectedRows: 1_000,
  bulk: { allowClear: false, uploadTimeoutSeconds: 60, unseenSeconds: 20, pollMaxSeconds: 10 },
};

/** The DNC lists the tests' simulator holds: internal ones of each contact method, and an external one. */
export const LISTS = {
  phone: { id: "dnc-phone", name: "Opt-outs", dncSourceType: "rds", contactMethod: "Phone" },
  email: { id: "dnc-email", name: "Email opt-outs", dncSourceType: "rds", contactMethod: "Email" },
  external: { id: "dnc-external", name: "dnc.com scrub", dncSourceType: "dnc.com" },
} as const;

export const PATCH_PHONES = "PATCH /api/v2/outbound/dnclists/{id}/phonenumbers";
export const PATCH_EMAILS = "PATCH /api/v2/outbound/dnclists/{id}/emailaddresses";
export const GET_LIST = "GET /api/v2/outbound/dnclists/{id}";

/** UK mobile numbers, national form: `07911 1xxxxx`. */
export const ukMobiles = (count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => `07911 ${String(100_000 + from + index)}`);
export const e164 = (national: string) => `+44${national.replace(/\s/g, "").slice(1)}`;

/**
 * A simulator with the DNC lists above, a Genesys client on `clock`, a data dir laid out for one
 * DNC route, and what a test needs to drop, claim and apply files on it.
 */
export async function dncFixture(
  clock: Clock,
  options: { readonly route?: Partial<DncRoute>; readonly sim?: SimulatorOptions } = {},
) {
  const sim: GenesysSimulator = await startSimulator({
    rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
    dncLists: Object.values(LISTS),
    ...options.sim,
  });
  const capture = capturedLogger("info");
  const client = new GenesysClient({
    endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
    clientId: sim.clients[0]!.clientId,
    clientSecret: sim.clients[0]!.clientSecret,
    logger: capture.logger,
    breaker: { openDurationMs: 100 },
    transientBackoff: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  client.start();
  await client.whenReady();
  const root: DataLayout = dataLayout(mkdtempSync(path.join(tmpdir(), "dnc-")));
  await ensureLayout(root);
  const route: DncRoute = {
    name: "opt-outs",
    dncListId: LISTS.phone.id,
    kind: "phone",
    defaultCountry: "GB",
    ...options.route,
  };
  const layout = dncLayout(root, route.name);
  await ensureDncLayout(layout);
  const registry = new Registry();
  const metrics = new ImportMetrics(registry).forRoute(route.name);
  const gate = new DncGate({
    client,
    dncListId: route.dncListId,
    kind: route.kind,
    clock,
    logger: capture.logger,
    metrics,
  });
  const index = new DncIndex(layout.state, clock, capture.logger);
  const stores = (nonce: string, claimTimeoutMs = 60_000) =>
    Object.fromEntries(
      (["add", "remove"] as const).map((lane) => [
        lane,
        new ClaimStore(
          dncLaneLayout(layout, lane),
          { replicaId: replicaId("test", process.pid, nonce), claimTimeoutMs, settleMs: 0, lane: "remove" },
          clock,
        ),
      ]),
    ) as Record<DncLane, ClaimStore>;
  const claims = stores("0a1b2c3d");
  const fixture = {
    sim,
    client,
    capture,
    registry,
    root,
    layout,
    route,
    gate,
    index,
    claims,
    stores,
    /** Where a file of `lane` waits. */
    inLane: (lane: DncLane, name: string) => path.join(layout.inbox, lane, name),
    /** Writes under a dot-name and renames into dnc/<route>/<lane>/, as writers are asked to. */
    drop(lane: DncLane, name: string, content: string): void {
      const temporary = path.join(layout.inbox, lane, `.${name}.tmp`);
      writeFileSync(temporary, content);
      renameSync(temporary, path.join(layout.inbox, lane, name));
    },
    async claim(lane: DncLane, name: string): Promise<Claim> {
      const claimed = await claims[lane].claim(name);
      expect(claimed, `${lane}/${name} claimed`).to.not.equal(undefined);
      return claimed!;
    },
    deps(extra: Partial<DncFileDependencies> = {}): DncFileDependencies {
      return {
        client,
        route,
        config: CONFIG,
        layout,
        metrics,
        logger: capture.logger,
        clock,
        random: () => 0.5,
        signal: new AbortController().signal,
        gate,
        index,
        ...extra,
      };
    },
    journalOf: (lane: DncLane, name: string) => path.join(layout.state, `${name}.${lane}.journal`),
    /** Whether the simulated list holds `value` now (not expired). */
    onList: (value: string, listId: string = route.dncListId) => sim.isOnDnc(listId, value),
    async close() {
      await client.close();
      await sim.close();
    },
  };
  return fixture;
}

export type DncFixture = Awaited<ReturnType<typeof dncFixture>>;
