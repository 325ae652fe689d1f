import { addContacts, readContacts, type ContactInput } from "./genesys/api";
import { GenesysClient } from "./genesys/client";
import { resolveEndpoints } from "./genesys/regions";
import { createLogger } from "./logging";
import { startSimulator } from "./simulator/simulator";

/**
 * `npm run demo`, on embedded defaults (no Genesys account, no cluster): the Genesys Cloud
 * client pushes 50,000 generated contacts into a local simulator's contact list in 1,000-contact
 * batches and reads them all back, while the simulator revokes the token, throws a 503 burst, a
 * connection reset and a 429 storm at it. It ends with what arrived and what it cost.
 */
const CONTACTS = 50_000;
const BATCH = 1_000;
const BUDGET = { requestsPerWindow: 300, windowMs: 60_000 };

async function main(): Promise<void> {
  const sim = await startSimulator({ rateLimit: BUDGET });
  const logFile = process.env.DEMO_LOG_LEVEL ?? "warn";
  const client = new GenesysClient({
    endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
    clientId: sim.clients[0]!.clientId,
    clientSecret: sim.clients[0]!.clientSecret,
    rateLimit: BUDGET,
    breaker: { openDurationMs: 2_000 },
    logger: createLogger({ level: logFile, destination: process.stderr as never }),
  });
  const listId = sim.contactListIds[0]!;
  console.log(`Local Genesys Cloud simulator: API ${sim.apiBaseUrl}, login ${sim.loginBaseUrl}`);
  console.log(
    `Budget ${BUDGET.requestsPerWindow} requests per ${BUDGET.windowMs / 1000} s per token, as in Genesys Cloud.\n`,
  );
  const started = performance.now();
  client.start();
  await client.whenReady();

  const batches = CONTACTS / BATCH;
  let done = 0;
  const progress = (label: string) => {
    const width = 30;
    const filled = Math.round((done / (batches * 2)) * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${label}`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line.padEnd(90)}`);
    else if (done % 10 === 0) console.log(line);
  };

  const faults: Record<number, () => void> = {
    10: () => sim.faults.revokeAllTokens(),
    20: () => sim.faults.serverErrors(3, 503),
    30: () => sim.faults.connectionResets(1),
    40: () => sim.faults.rateLimitStorm(2, 2),
  };
  for (let batch = 0; batch < batches; batch += 1) {
    faults[batch]?.();
    const contacts: ContactInput[] = Array.from({ length: BATCH }, (_, offset) => {
      const n = batch * BATCH + offset;
      return {
        id: `demo-${n}`,
        contactListId: listId,
        data: { phone: `+35385${String(n).padStart(7, "0")}`, firstName: `Contact ${n}` },
      };
    });
    await addContacts(client, listId, contacts);
    done += 1;
    progress(`uploaded ${(done * BATCH).toLocaleString()} of ${CONTACTS.toLocaleString()} contacts`);
  }
  let readBack = 0;
  for (let batch = 0; batch < batches; batch += 1) {
    const ids = Array.from({ length: BATCH }, (_, offset) => `demo-${batch * BATCH + offset}`);
    readBack += (await readContacts(client, listId, ids)).length;
    done += 1;
    progress(`read back ${readBack.toLocaleString()} contacts`);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  if (process.stdout.isTTY) process.stdout.write("\n");

  const requests = sim.received.apiRequests;
  const allowed = BUDGET.requestsPerWindow * (Math.floor((elapsedSeconds * 1000) / BUDGET.windowMs) + 1);
  console.log("\nSummary");
  console.log(
    `  contacts in the simulator's list: ${sim.contacts(listId).size.toLocaleString()} of ${CONTACTS.toLocaleString()}; read back ${readBack.toLocaleString()}`,
  );
  console.log(
    `  API requests received: ${requests} (${sim.received.rateLimited} answered 429, ${sim.received.unauthorized} answered 401, ${sim.received.resets} connections reset)`,
  );
  console.log(`  requests re-sent before their Retry-After: ${sim.received.earlyRetries.length}`);
  console.log(
    `  token requests: ${sim.received.tokenRequests.length} (one at start, one after the revocation)`,
  );
  console.log(
    `  elapsed: ${elapsedSeconds.toFixed(1)} s; ${(requests / elapsedSeconds).toFixed(1)} requests/s, ${((requests / allowed) * 100).toFixed(1)} % of the budget the elapsed time allowed`,
  );
  await client.close();
  await sim.close();
  if (sim.contacts(listId).size !== CONTACTS || readBack !== CONTACTS) {
    console.error("\nSome contacts did not arrive: this is a bug.");
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
