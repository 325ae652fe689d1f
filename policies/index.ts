import { PolicyPack, type StackValidationPolicy } from "@pulumi/policy";
import { ruleSettings } from "./engine";
import { inputFromStack } from "./pulumi-adapter";
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
  validateStack: (args, reportViolation) => {
    const { config } = ruleSettings(rule, {
      [rule.name]: { ...(args.getConfig<object>() as Record<string, unknown>) },
    });
    const { input, urnOf } = inputFromStack(args.resources);
    for (const violation of rule.check(input, config)) {
      reportViolation(violation.message, violation.object ? urnOf.get(violation.object) : undefined);
    }
  },
}));

new PolicyPack("genesys-middleware-guards", { enforcementLevel: "mandatory", policies });
