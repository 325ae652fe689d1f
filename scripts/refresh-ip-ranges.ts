import { loadConfigForRefresh } from "./refresh-config";
import { GenesysClient } from "../app/src/genesys/client";
import { createLogger } from "../app/src/logging";
import { fetchGenesysRanges, IP_RANGES_FILE, writeDataset } from "./ip-ranges";

/**
 * `npm run ipranges:refresh`: reads the Genesys Cloud IP ranges of a region from a live org
 * (GET /api/v2/ipranges) into stacks/data/genesys-ip-ranges.json, which the egress policy
 * uses. Needs GENESYS_REGION (or the base URLs), GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET.
 */
async function main(): Promise<void> {
  const { endpoints, clientId, clientSecret, region } = loadConfigForRefresh(process.env);
  const client = new GenesysClient({
    endpoints,
    clientId,
    clientSecret,
    logger: createLogger({ level: "warn" }),
  });
  try {
    client.start();
    await client.whenReady();
    const dataset = await fetchGenesysRanges(client, region);
    writeDataset(dataset);
    const ranges = (dataset.regions as Record<string, string[]>)[region]!;
    console.log(
      `${ranges.length} ranges for ${region} written to ${process.env.IPRANGES_FILE ?? IP_RANGES_FILE}; review and commit them.`,
    );
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
