import type { GenesysSimulator } from "./simulator";

/**
 * The service's environment pointed at a simulator: its endpoints, its OAuth client, its contact
 * list, a data dir, any free loopback port, and fast scans. The demo, the benchmarks and the tests
 * start from this and add what they need.
 */
export function simulatorServiceEnv(
  sim: GenesysSimulator,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    GENESYS_API_BASE_URL: sim.apiBaseUrl,
    GENESYS_LOGIN_BASE_URL: sim.loginBaseUrl,
    // The simulator's API server is also the apps host of the bulk upload.
    GENESYS_APPS_BASE_URL: sim.apiBaseUrl,
    GENESYS_CLIENT_ID: sim.clients[0]!.clientId,
    GENESYS_CLIENT_SECRET: sim.clients[0]!.clientSecret,
    GENESYS_CONTACT_LIST_ID: sim.contactListIds[0]!,
    SYNC_DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    IMPORT_DEFAULT_COUNTRY: "IE",
    IMPORT_SETTLE_SECONDS: "0",
    IMPORT_SCAN_INTERVAL_SECONDS: "0.1",
    ...extra,
  };
}
