import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { startSimulator } from "./simulator";

/**
 * `npm run simulator`: a local Genesys Cloud on loopback for trying the service by hand.
 * Settings come from SIM_* environment variables; it prints the GENESYS_* variables that point
 * the service at it. The client secret it prints is the simulator's own throwaway credential.
 * SIM_TLS_CERT_FILE and SIM_TLS_KEY_FILE (PEM) serve HTTPS; clients then need the issuing CA
 * (NODE_EXTRA_CA_CERTS for the service). SIM_ADVERTISED_HOST is the host name printed in the URLs.
 * The API server is also the apps host of the multipart contact-list upload, hence
 * GENESYS_APPS_BASE_URL; SIM_UPLOAD_RECORDS_PER_SECOND sets how fast an uploaded file is imported
 * (default 20,000) and SIM_UPLOAD_BYTES_PER_SECOND how fast upload bodies are read (default no limit).
 * List exports are downloaded from a third server, the download host (SIM_DOWNLOAD_PORT, default
 * 8789, or any free port when SIM_API_PORT is 0; Genesys answers its signed URLs, the service is
 * not told it); SIM_LIST_EXPORT_READY_MS is how long an export takes (default 500).
 * SIM_DNC_LIST_ID names an internal (rds, Phone) DNC list to create.
 */
async function main(): Promise<void> {
  const env = process.env;
  const number = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`${name} must be a non-negative number, got "${raw}"`);
    return value;
  };
  const clientId = env.SIM_CLIENT_ID ?? randomUUID();
  const clientSecret = env.SIM_CLIENT_SECRET ?? randomBytes(24).toString("base64url");
  const certFile = env.SIM_TLS_CERT_FILE || undefined;
  const keyFile = env.SIM_TLS_KEY_FILE || undefined;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new Error("SIM_TLS_CERT_FILE and SIM_TLS_KEY_FILE go together: set both for HTTPS, or neither");
  const sim = await startSimulator({
    host: env.SIM_HOST ?? "127.0.0.1",
    ...(env.SIM_ADVERTISED_HOST ? { advertisedHost: env.SIM_ADVERTISED_HOST } : {}),
    ...(certFile && keyFile ? { tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) } } : {}),
    apiPort: number("SIM_API_PORT", 8787),
    loginPort: number("SIM_LOGIN_PORT", 8788),
    clients: [{ clientId, clientSecret }],
    tokenLifetimeSeconds: number("SIM_TOKEN_LIFETIME_SECONDS", 86_400),
    rateLimit: { requestsPerWindow: number("SIM_BUDGET", 300), windowMs: number("SIM_WINDOW_MS", 60_000) },
    contactListIds: [env.SIM_CONTACT_LIST_ID ?? randomUUID()],
    retainContacts: env.SIM_RETAIN_CONTACTS !== "false",
    rateLimitHeaders: (env.SIM_RATE_LIMIT_HEADERS as "none" | "inin" | "x-ratelimit" | undefined) ?? "none",
    uploadRecordsPerSecond: number("SIM_UPLOAD_RECORDS_PER_SECOND", 20_000),
    ...(env.SIM_UPLOAD_BYTES_PER_SECOND
      ? { uploadBytesPerSecond: number("SIM_UPLOAD_BYTES_PER_SECOND", Infinity) }
      : {}),
    // Whoever asks for any free API port (the benchmarks, several at once) gets any for this too.
    downloadPort: number("SIM_DOWNLOAD_PORT", env.SIM_API_PORT === "0" ? 0 : 8789),
    listExportReadyMs: number("SIM_LIST_EXPORT_READY_MS", 500),
    ...(env.SIM_DNC_LIST_ID
      ? {
          dncLists: [
            { id: env.SIM_DNC_LIST_ID, name: "Opt-outs", dncSourceType: "rds", contactMethod: "Phone" },
          ],
        }
      : {}),
  });
  console.log("Genesys Cloud simulator listening. Point the service at it with:\n");
  console.log(`GENESYS_API_BASE_URL=${sim.apiBaseUrl}`);
  console.log(`GENESYS_LOGIN_BASE_URL=${sim.loginBaseUrl}`);
  console.log(`GENESYS_APPS_BASE_URL=${sim.apiBaseUrl}`);
  console.log(`GENESYS_CLIENT_ID=${clientId}`);
  console.log(`GENESYS_CLIENT_SECRET=${clientSecret}   # the simulator's own throwaway credential`);
  console.log(`GENESYS_CONTACT_LIST_ID=${sim.contactListIds[0]}`);
  console.log(`# list exports are downloaded from ${sim.downloadBaseUrl} (the download host: allow it)`);
  if (env.SIM_DNC_LIST_ID) console.log(`# internal DNC list (Phone): ${env.SIM_DNC_LIST_ID}`);
  console.log("\nCtrl-C stops it.");
  const stop = async () => {
    const contacts = sim.contacts().size;
    console.log(
      `\nReceived ${sim.received.apiRequests} API requests, ${sim.received.tokenRequests.length} token requests, ` +
        `${sim.received.rateLimited} answered 429; ${sim.uploads.received.length} uploads ` +
        `(${sim.uploads.aborted} aborted); ${contacts} contacts in the list.`,
    );
    await sim.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
