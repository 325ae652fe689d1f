import { containersOf, defineRule, podSpecs, type Violation } from "../lib";

export default defineRule<Record<string, never>>({
  name: "resources-required",
  description: "Checks that every container sets CPU and memory requests and limits.",
  configSchema: { properties: {} },
  defaults: {},
  check(input) {
    const violations: Violation[] = [];
    for (const { object, spec } of podSpecs(input.objects)) {
      for (const container of containersOf(spec)) {
        const missing = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"].filter((path) => {
          const [group, resource] = path.split(".") as [string, string];
          return container.resources?.[group]?.[resource] === undefined;
        });
        if (missing.length > 0) {
          violations.push({
            object,
            message: `Container ${container.name} has no ${missing.join(", ")}. Without requests the HPA cannot compute utilisation and the scheduler packs blindly; the guide's values are 500m/512Mi requests and 1 CPU/1Gi limits.`,
          });
        }
      }
    }
    return violations;
  },
});
