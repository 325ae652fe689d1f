import type { ChartValues, K8sObject, PolicyInput, Rule } from "./lib";

/** The part of a CrossGuard PolicyResource the adapter reads. */
export interface StackResource {
  readonly type: string;
  readonly urn: string;
  readonly props: Record<string, any>;
}

/**
 * Turns the resources of a Pulumi stack into the rules' input: every Kubernetes resource as the
 * plain object it describes, every helm.v4.Chart (and v3 Chart/Release) as its values. The map
 * lets violations point back at the resource's URN.
 */
export function inputFromStack(resources: readonly StackResource[]): {
  input: PolicyInput;
  urnOf: Map<K8sObject, string>;
} {
  const objects: K8sObject[] = [];
  const charts: ChartValues[] = [];
  const urnOf = new Map<K8sObject, string>();
  for (const resource of resources) {
    if (
      resource.type === "kubernetes:helm.sh/v4:Chart" ||
      resource.type === "kubernetes:helm.sh/v3:Release"
    ) {
      charts.push({
        name: resource.props.name ?? resource.urn.split("::").pop() ?? "chart",
        values: resource.props.values ?? {},
        ...(resource.props.version ? { version: resource.props.version } : {}),
        ...(resource.props.chart ? { chart: resource.props.chart } : {}),
      });
      continue;
    }
    if (!resource.type.startsWith("kubernetes:") || typeof resource.props.kind !== "string") continue;
    const object = resource.props as K8sObject;
    objects.push(object);
    urnOf.set(object, resource.urn);
  }
  return { input: { objects, charts }, urnOf };
}

/** What CrossGuard passes to validateStack, reduced to what the adapter uses. */
export interface StackValidationCall {
  readonly resources: readonly StackResource[];
  getConfig<T extends object>(): T;
}

/**
 * The validateStack body for one rule: its config from the policy-pack config (CrossGuard fills
 * in the schema's defaults; ours fill any gap), its violations reported against the resource's URN.
 */
export function stackValidator<C extends object>(rule: Rule<C>) {
  return (args: StackValidationCall, reportViolation: (message: string, urn?: string) => void): void => {
    const config = { ...rule.defaults, ...args.getConfig<Partial<C>>() } as C;
    const { input, urnOf } = inputFromStack(args.resources);
    for (const violation of rule.check(input, config)) {
      reportViolation(violation.message, violation.object ? urnOf.get(violation.object) : undefined);
    }
  };
}
