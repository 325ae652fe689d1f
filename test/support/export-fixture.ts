import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../simulator/simulator";
import { GenesysClient } from "../../app/src/genesys/client";
import { resolveEndpoints } from "../../app/src/shared/regions";
import { capturedLogger } from "./capture";
import { FakeClock } from "./fake-clock";

export const EXPORT_LIST = "list-1";
export const EXPORT_T0 = Date.parse("2026-11-21T09:00:00Z");

export interface ExportFixture {
  readonly sim: GenesysSimulator;
  readonly client: GenesysClient;
  /** A data dir with outbox/. */
  readonly dir: string;
  /** The export's clock, at EXPORT_T0; the simulator and the client keep real time. */
  readonly clock: FakeClock;
  close(): Promise<void>;
}

/**
 * The simulator with one contact list, a client for it with a generous budget (`budget` requests
 * a minute), and an outbox. `sim` adds simulator options (its own clock, job durations).
 */
export async function openExportFixture(
  prefix: string,
  options: { readonly sim?: SimulatorOptions; readonly budget?: number; readonly clock?: FakeClock } = {},
): Promise<ExportFixture> {
  const budget = options.budget ?? 100_000;
  const sim = await startSimulator({
    contactListIds: [EXPORT_LIST],
    rateLimit: { requestsPerWindow: budget, windowMs: 60_000 },
    ...options.sim,
  });
  const client = new GenesysClient({
    endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
    clientId: sim.clients[0]!.clientId,
    clientSecret: sim.clients[0]!.clientSecret,
    rateLimit: { requestsPerWindow: budget },
    logger: capturedLogger().logger,
  });
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  mkdirSync(path.join(dir, "outbox"));
  return {
    sim,
    client,
    dir,
    clock: options.clock ?? new FakeClock(EXPORT_T0),
    async close() {
      await client.close();
      await sim.close();
    },
  };
}
