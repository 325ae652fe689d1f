import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

export const CHART_PATH = path.resolve(__dirname, "../app/chart");
/** The chart version this program was tested with; plan() refuses a different app/chart/Chart.yaml. */
export const PINNED_CHART_VERSION = "0.1.0";

export function localChartVersion(chartPath = CHART_PATH): string {
  return String(
    (parse(readFileSync(path.join(chartPath, "Chart.yaml"), "utf8")) as { version: unknown }).version,
  );
}
