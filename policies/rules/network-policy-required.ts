import { defineRule, podSpecs, sameNamespace, selects, type Violation } from "../lib";

export default defineRule<Record<string, never>>({
  name: "network-policy-required",
  description:
    "Checks that every workload of the stack is selected by a NetworkPolicy that lists Egress in policyTypes.",
  configSchema: { properties: {} },
  defaults: {},
  check(input) {
    const policies = input.objects.filter(
      (object) => object.kind === "NetworkPolicy" && (object.spec?.policyTypes ?? []).includes("Egress"),
    );
    const violations: Violation[] = [];
    for (const { object, labels } of podSpecs(input.objects)) {
      const covered = policies.some(
        (policy) => sameNamespace(policy, object) && selects(policy.spec?.podSelector ?? {}, labels),
      );
      if (!covered) {
        violations.push({
          object,
          message:
            "No NetworkPolicy with Egress selects these pods, so they may reach any address. Deploy the egress policy with the stack (the Pulumi program's EgressPolicy), or your own that allows only DNS, Genesys Cloud, NFS and Vault.",
        });
      }
    }
    return violations;
  },
});
