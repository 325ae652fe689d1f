import { defineRule, podSpecs, type Violation } from "../lib";

export default defineRule<{ containerNames: string[] }>({
  name: "probes-required",
  description: "Checks that the service containers have startup, readiness and liveness probes.",
  configSchema: { properties: { containerNames: { type: "array", items: { type: "string" }, default: [] } } },
  defaults: { containerNames: [] },
  check(input, config) {
    const violations: Violation[] = [];
    for (const { object, spec } of podSpecs(input.objects)) {
      if (object.kind === "Job" || object.kind === "CronJob") continue;
      for (const container of spec.containers ?? []) {
        if (config.containerNames.length > 0 && !config.containerNames.includes(container.name)) continue;
        const missing = ["startupProbe", "readinessProbe", "livenessProbe"].filter(
          (probe) => container[probe] === undefined,
        );
        if (missing.length > 0) {
          violations.push({
            object,
            message: `Container ${container.name} has no ${missing.join(", ")}. The startup probe on /readyz keeps a pod out of service until it holds its first token (the guide's upgrade edge case); readiness on /readyz and liveness on /healthz follow.`,
          });
        }
      }
    }
    return violations;
  },
});
