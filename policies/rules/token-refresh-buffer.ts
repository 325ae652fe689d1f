import { chartPathOf, chartValueAt, SETTING } from "../../app/src/shared/settings";
import { configuredValues, defineRule, type K8sObject, type Violation } from "../lib";

/** The service's own bounds, from the settings table the chart and the stack also use. */
const BUFFER = SETTING.TOKEN_REFRESH_BUFFER_SECONDS;
const MIN = BUFFER.min!;
const MAX = BUFFER.max!;
const CHART_PATH = chartPathOf("TOKEN_REFRESH_BUFFER_SECONDS");

export default defineRule<{ tokenLifetimeSeconds?: number }>({
  name: "token-refresh-buffer",
  description: `Checks that the token refresh buffer is within the service's bounds (${MIN}-${MAX} s) and, when the OAuth client's token lifetime is given, at most half of it.`,
  configSchema: {
    properties: {
      tokenLifetimeSeconds: { type: "integer", minimum: 300, maximum: 172_800 },
    },
  },
  defaults: {},
  check(input, config) {
    const violations: Violation[] = [];
    const lifetime = config.tokenLifetimeSeconds;
    const checkValue = (where: { object?: K8sObject; chart?: string }, name: string, raw: unknown) => {
      const value = Number(raw);
      if (!Number.isFinite(value)) {
        violations.push({ ...where, message: `${name} "${String(raw)}" is not a number of seconds.` });
      } else if (value < MIN) {
        violations.push({
          ...where,
          message: `${name} is ${value} s: below ${MIN} s a slow login server or one retry lets the token expire before the next arrives (the guide's race). Use 60.`,
        });
      } else if (value > MAX) {
        violations.push({
          ...where,
          message: `${name} is ${value} s, above the service's maximum of ${MAX} s: the service would refuse to start. Use 60.`,
        });
      } else if (lifetime !== undefined && value > Math.floor(lifetime / 2)) {
        violations.push({
          ...where,
          message: `${name} is ${value} s, not well below the ${lifetime} s token lifetime (at most ${Math.floor(lifetime / 2)} s): the service would fetch tokens almost continuously. Use 60.`,
        });
      }
    };
    for (const { object, name, value } of configuredValues(input.objects)) {
      if (name === BUFFER.env) checkValue({ object }, name, value);
    }
    for (const chart of input.charts) {
      const value = chartValueAt(chart.values, CHART_PATH);
      if (value !== undefined) checkValue({ chart: chart.name }, CHART_PATH, value);
    }
    return violations;
  },
});
