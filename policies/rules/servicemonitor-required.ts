import { defineRule, sameNamespace, selects, type Violation } from "../lib";

export default defineRule<{ metricsPortNames: string[] }>({
  name: "servicemonitor-required",
  description: "Checks that a stack exposing metrics has a ServiceMonitor selecting them.",
  configSchema: {
    properties: {
      metricsPortNames: { type: "array", items: { type: "string" }, default: ["http", "metrics"] },
    },
  },
  defaults: { metricsPortNames: ["http", "metrics"] },
  check(input, config) {
    const monitors = input.objects.filter((object) => object.kind === "ServiceMonitor");
    const violations: Violation[] = [];
    for (const service of input.objects.filter((object) => object.kind === "Service")) {
      const ports: any[] = service.spec?.ports ?? [];
      if (!ports.some((port) => config.metricsPortNames.includes(port.name))) continue;
      const labels = service.metadata?.labels ?? {};
      const watched = monitors.some(
        (monitor) => sameNamespace(monitor, service) && selects(monitor.spec?.selector ?? {}, labels),
      );
      if (!watched) {
        violations.push({
          object: service,
          message:
            "Exposes /metrics but no ServiceMonitor selects it, so token failures, 429s and a stuck inbox go unnoticed. Deploy the stack's Monitoring component (ServiceMonitor, PrometheusRule), or your own ServiceMonitor on port http, path /metrics.",
        });
      }
    }
    return violations;
  },
});
