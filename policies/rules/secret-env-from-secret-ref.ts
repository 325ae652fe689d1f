import { SECRET_REFERENCE, secretKeyOf } from "../../app/src/shared/settings";
import { containersOf, defineRule, podSpecs, type Violation } from "../lib";

/** Where the chart takes the client secret from by default, from the settings table. */
const CLIENT_SECRET_REF = `${SECRET_REFERENCE.default} / ${secretKeyOf("GENESYS_CLIENT_SECRET")}`;

export default defineRule<{ secretEnvPattern: string }>({
  name: "secret-env-from-secret-ref",
  description:
    "Checks that env vars carrying secrets (GENESYS_CLIENT_SECRET and kin) come from secretKeyRef or a mounted Secret file.",
  configSchema: {
    properties: {
      secretEnvPattern: { type: "string", default: "(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY)$" },
    },
  },
  defaults: { secretEnvPattern: "(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY)$" },
  check(input, config) {
    const pattern = new RegExp(config.secretEnvPattern, "i");
    const violations: Violation[] = [];
    for (const { object, spec } of podSpecs(input.objects)) {
      for (const container of containersOf(spec)) {
        for (const entry of container.env ?? []) {
          if (!pattern.test(entry.name)) continue;
          if (entry.valueFrom?.secretKeyRef) continue;
          violations.push({
            object,
            message: `Container ${container.name} sets ${entry.name} ${entry.valueFrom ? "from something other than a Secret" : "as a plain value"}. The guide's own fix: valueFrom.secretKeyRef (${CLIENT_SECRET_REF}), or mount the Secret and set ${entry.name}_FILE, so the value never sits in the pod spec.`,
          });
        }
      }
    }
    return violations;
  },
});
