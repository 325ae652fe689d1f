import { PolicyPack, type StackValidationPolicy } from "@pulumi/policy";
import { stackValidator } from "./pulumi-adapter";
import { RULES } from "./rules";

/**
 * The CrossGuard pack: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`.
 * Each rule is a pure function over plain Kubernetes objects (policies/rules); this adapter hands
 * it the stack's resources and reports its violations against their URNs. The same rules check
 * rendered manifests through `npm run policy:check`.
 */
const policies: StackValidationPolicy[] = RULES.map((rule) => ({
  name: rule.name,
  description: rule.description,
  enforcementLevel: "mandatory",
  configSchema: rule.configSchema as StackValidationPolicy["configSchema"],
  validateStack: stackValidator(rule),
}));

new PolicyPack("genesys-middleware-guards", { enforcementLevel: "mandatory", policies });
