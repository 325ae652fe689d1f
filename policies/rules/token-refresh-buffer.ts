import { configuredValues, defineRule, type K8sObject, type Violation } from "../lib";

export default defineRule<{ minSeconds: number; tokenLifetimeSeconds: number }>({
  name: "token-refresh-buffer",
  description:
    "Checks that the token refresh buffer is at least 30 s and well below (at most half) the token lifetime.",
  configSchema: {
    properties: {
      minSeconds: { type: "integer", default: 30 },
      tokenLifetimeSeconds: { type: "integer", default: 300 },
    },
  },
  defaults: { minSeconds: 30, tokenLifetimeSeconds: 300 },
  check(input, config) {
    const violations: Violation[] = [];
    const maxSeconds = Math.floor(config.tokenLifetimeSeconds / 2);
    const checkValue = (where: { object?: K8sObject; chart?: string }, name: string, raw: unknown) => {
      const value = Number(raw);
      if (!Number.isFinite(value)) {
        violations.push({ ...where, message: `${name} "${String(raw)}" is not a number of seconds.` });
      } else if (value < config.minSeconds) {
        violations.push({
          ...where,
          message: `${name} is ${value} s: below ${config.minSeconds} s a slow login server or one retry lets the token expire before the next arrives (the guide's race). Use 60.`,
        });
      } else if (value > maxSeconds) {
        violations.push({
          ...where,
          message: `${name} is ${value} s, not well below a ${config.tokenLifetimeSeconds} s token lifetime (at most ${maxSeconds} s): the service would fetch tokens almost continuously. Use 60, or set tokenLifetimeSeconds to your OAuth client's lifetime.`,
        });
      }
    };
    for (const { object, name, value } of configuredValues(input.objects)) {
      if (name === "TOKEN_REFRESH_BUFFER_SECONDS") checkValue({ object }, name, value);
    }
    for (const chart of input.charts) {
      const auth = (chart.values.auth ?? {}) as Record<string, unknown>;
      if (auth.tokenRefreshBufferSeconds !== undefined)
        checkValue({ chart: chart.name }, "auth.tokenRefreshBufferSeconds", auth.tokenRefreshBufferSeconds);
    }
    return violations;
  },
});
