import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { GenesysClient } from "../app/src/genesys/client";
import { isCidr } from "../stacks/settings";

export const IP_RANGES_FILE = path.resolve(__dirname, "../stacks/data/genesys-ip-ranges.json");

interface IpRangeListing {
  readonly entities?: ReadonlyArray<{
    readonly cidr?: string;
    readonly service?: string;
    readonly region?: string;
    readonly direction?: string;
  }>;
}

/**
 * Reads `GET /api/v2/ipranges` from a live org and returns the dataset with the region's ranges
 * replaced: the addresses the middleware must reach over HTTPS (every listed range, whatever its
 * direction, since the listing does not say which ones serve the API), sorted and de-duplicated.
 */
export async function fetchGenesysRanges(
  client: GenesysClient,
  region: string,
  now: Date = new Date(),
): Promise<Record<string, unknown>> {
  const listing = await client.request<IpRangeListing>({ method: "GET", path: "/api/v2/ipranges" });
  const entities = listing.entities ?? [];
  const forRegion = entities.filter((entity) => entity.region === undefined || entity.region === region);
  const cidrs = [
    ...new Set(forRegion.map((entity) => entity.cidr ?? "").filter((cidr) => isCidr(cidr))),
  ].sort();
  if (cidrs.length === 0)
    throw new Error(
      `GET /api/v2/ipranges listed no ranges for ${region} (${entities.length} entries in all)`,
    );
  const dataset = JSON.parse(readFileSync(process.env.IPRANGES_FILE ?? IP_RANGES_FILE, "utf8")) as {
    regions: Record<string, string[]>;
  };
  return {
    source: "GET /api/v2/ipranges",
    fetchedAt: now.toISOString(),
    note: "Refreshed with `npm run ipranges:refresh`; the egress policy allows HTTPS 443 to these ranges.",
    regions: { ...dataset.regions, [region]: cidrs },
  };
}

/** Writes the dataset atomically (temporary file, then rename). */
export function writeDataset(
  dataset: Record<string, unknown>,
  file = process.env.IPRANGES_FILE ?? IP_RANGES_FILE,
): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(dataset, null, 2)}\n`);
  renameSync(temporary, file);
}
