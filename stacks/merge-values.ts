/** A chart's values, as a values file holds them. */
export type ChartValues = Readonly<Record<string, unknown>>;

/** Helm's merge of values files: maps merge key by key, anything else (lists too) is replaced. */
export function mergeValues(...layers: ChartValues[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      merged[key] =
        isMap(value) && isMap(merged[key])
          ? mergeValues(merged[key], value)
          : isMap(value)
            ? mergeValues(value)
            : Array.isArray(value)
              ? structuredClone(value)
              : value;
    }
  }
  return merged;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
