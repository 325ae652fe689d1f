import { request } from "undici";
import { addContacts, type ContactInput } from "../../app/src/genesys/api";
import { GenesysClient } from "../../app/src/genesys/client";
import { resolveEndpoints } from "../../app/src/shared/regions";
import { createLogger } from "../../app/src/logging";
import { startSimulator, type GenesysSimulator } from "../simulator";

/**
 * The client part of `npm run bench`: one workload of contact uploads against the simulator,
 * run by (a) this client, (b) the official purecloud-platform-client-v2 SDK used the way its
 * README shows, and (c) a naive client that waits a fixed second on 429. Each gets a fresh
 * simulator with the same budget, scaled up from 300 requests/minute so the run takes seconds.
 */
export interface ClientBenchSettings {
  readonly requests: number;
  readonly contactsPerRequest: number;
  readonly concurrency: number;
  /** The simulator's per-token budget (the real one is 300 per 60,000 ms). */
  readonly budget: { readonly requestsPerWindow: number; readonly windowMs: number };
}

export const DEFAULT_CLIENT_BENCH: ClientBenchSettings = {
  requests: 2_400,
  contactsPerRequest: 50,
  concurrency: 16,
  budget: { requestsPerWindow: 300, windowMs: 2_000 },
};

export interface ClientBenchResult {
  readonly name: string;
  readonly completed: number;
  readonly failed: number;
  readonly lostContacts: number;
  readonly rateLimited: number;
  readonly earlyRetries: number;
  readonly elapsedSeconds: number;
  readonly requestsPerSecond: number;
  /** Completed requests ÷ what the budget allows in the elapsed time (every window begun, in full). */
  readonly ratioOfBudget: number;
  readonly tokenRequests: number;
}

type Send = (batch: ContactInput[]) => Promise<void>;
type Contender = (
  sim: GenesysSimulator,
  settings: ClientBenchSettings,
) => Promise<{ send: Send; close: () => Promise<void> }>;

const ours: Contender = async (sim, settings) => {
  const client = new GenesysClient({
    endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
    clientId: sim.clients[0]!.clientId,
    clientSecret: sim.clients[0]!.clientSecret,
    // The margin scales with the window as in production (1 % of 60 s), not the 250 ms floor.
    rateLimit: { ...settings.budget, safetyMarginMs: settings.budget.windowMs / 100 },
    logger: createLogger({ level: "silent" }),
  });
  client.start();
  await client.whenReady();
  return {
    send: async (batch) => {
      await addContacts(client, sim.contactListIds[0]!, batch);
    },
    close: () => client.close(),
  };
};

/** The official SDK as its README shows it: client credentials login, then API calls; it retries nothing. */
const officialSdk: Contender = async (sim) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const platformClient = require("purecloud-platform-client-v2") as {
    ApiClient: { instance: SdkApiClient };
    OutboundApi: new () => {
      postOutboundContactlistContacts(id: string, body: unknown, opts?: object): Promise<unknown>;
    };
  };
  const client = platformClient.ApiClient.instance;
  const api = new URL(sim.apiBaseUrl);
  // The SDK reaches a proxy or private endpoint through its "gateway" setting; the simulator's
  // API server forwards /login/oauth/token to its login server, as such a gateway would.
  client.setGateway({
    host: api.hostname,
    protocol: "http",
    port: Number(api.port),
    path_params_login: "login",
    path_params_api: "",
  });
  await client.loginClientCredentialsGrant(sim.clients[0]!.clientId, sim.clients[0]!.clientSecret);
  const outbound = new platformClient.OutboundApi();
  return {
    send: async (batch) => {
      await outbound.postOutboundContactlistContacts(sim.contactListIds[0]!, batch);
    },
    close: async () => undefined,
  };
};

interface SdkApiClient {
  setGateway(gateway: object): void;
  loginClientCredentialsGrant(clientId: string, clientSecret: string): Promise<unknown>;
}

/** What many integrations do: one token, and on 429 sleep a second and try again. */
const naive: Contender = async (sim) => {
  const basic = Buffer.from(`${sim.clients[0]!.clientId}:${sim.clients[0]!.clientSecret}`).toString("base64");
  const tokenResponse = await request(`${sim.loginBaseUrl}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  const { access_token: token } = (await tokenResponse.body.json()) as { access_token: string };
  return {
    send: async (batch) => {
      for (let attempt = 0; attempt < 120; attempt += 1) {
        const response = await request(
          `${sim.apiBaseUrl}/api/v2/outbound/contactlists/${sim.contactListIds[0]}/contacts`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify(batch),
          },
        );
        await response.body.dump();
        if (response.statusCode === 200) return;
        if (response.statusCode !== 429) throw new Error(`HTTP ${response.statusCode}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      throw new Error("gave up after 120 attempts");
    },
    close: async () => undefined,
  };
};

export const CONTENDERS: ReadonlyArray<[string, Contender]> = [
  ["this client", ours],
  ["official SDK (purecloud-platform-client-v2)", officialSdk],
  ["naive (fixed 1 s wait on 429)", naive],
];

export async function runContender(
  name: string,
  contender: Contender,
  settings: ClientBenchSettings,
): Promise<ClientBenchResult> {
  const sim = await startSimulator({
    rateLimit: settings.budget,
    tokenRateLimit: { requestsPerWindow: 1_000, windowMs: 60_000 },
  });
  const listId = sim.contactListIds[0]!;
  try {
    const { send, close } = await contender(sim, settings);
    let next = 0;
    let completed = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (next < settings.requests) {
          const index = next++;
          const batch = Array.from({ length: settings.contactsPerRequest }, (_, offset) => ({
            id: `bench-${index}-${offset}`,
            contactListId: listId,
            data: {
              phone: `+35385${String(index * settings.contactsPerRequest + offset).padStart(7, "0")}`,
              name: `Contact ${index}-${offset}`,
            },
          }));
          try {
            await send(batch);
            completed += 1;
          } catch {
            failed += 1;
          }
        }
      }),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    await close();
    const windowsBegun = Math.floor((elapsedSeconds * 1000) / settings.budget.windowMs) + 1;
    const allowed = windowsBegun * settings.budget.requestsPerWindow;
    const requestsPerSecond = completed / elapsedSeconds;
    return {
      name,
      completed,
      failed,
      lostContacts: settings.requests * settings.contactsPerRequest - sim.contacts(listId).size,
      rateLimited: sim.received.rateLimited,
      earlyRetries: sim.received.earlyRetries.length,
      elapsedSeconds,
      requestsPerSecond,
      ratioOfBudget: completed / allowed,
      tokenRequests: sim.received.tokenRequests.length,
    };
  } finally {
    await sim.close();
  }
}

export async function runClientBench(
  settings: ClientBenchSettings = DEFAULT_CLIENT_BENCH,
): Promise<ClientBenchResult[]> {
  const perSecond = settings.budget.requestsPerWindow / (settings.budget.windowMs / 1000);
  console.log(
    `\n## Client: ${settings.requests} requests × ${settings.contactsPerRequest} contacts, ${settings.concurrency} in flight, ` +
      `simulator budget ${settings.budget.requestsPerWindow} per ${settings.budget.windowMs / 1000} s per token ` +
      `(${perSecond.toFixed(0)}/s, ${(perSecond / 5).toFixed(0)}× the real 300/min).\n` +
      "'÷ budget' is completed requests over what the budget allows in the elapsed time (each window begun, in full).\n",
  );
  const results: ClientBenchResult[] = [];
  for (const [name, contender] of CONTENDERS) results.push(await runContender(name, contender, settings));
  console.table(
    results.map((result) => ({
      client: result.name,
      "completed req": result.completed,
      "req/s": Number(result.requestsPerSecond.toFixed(1)),
      "÷ budget": Number(result.ratioOfBudget.toFixed(3)),
      "429s": result.rateLimited,
      "sent before Retry-After": result.earlyRetries,
      "failed req": result.failed,
      "lost contacts": result.lostContacts,
      "elapsed s": Number(result.elapsedSeconds.toFixed(1)),
    })),
  );
  const [baseline] = results;
  for (const other of results.slice(1)) {
    console.log(
      `this client vs ${other.name}: ${(baseline!.completed / Math.max(1, other.completed)).toFixed(2)}× the completed requests, ` +
        `${baseline!.rateLimited} vs ${other.rateLimited} 429s, ${baseline!.lostContacts} vs ${other.lostContacts} contacts lost`,
    );
  }
  return results;
}
