/** A Kubernetes object as plain data: rendered YAML, or a Pulumi resource's inputs. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: any;
}

/** The values of a Helm chart deployed by the stack (Pulumi's helm.v4.Chart resource). */
export interface ChartValues {
  readonly name: string;
  readonly values: Record<string, unknown>;
  readonly version?: string;
  readonly chart?: string;
}

/** What every rule sees: the objects of one stack (or one manifest set) and its charts' values. */
export interface PolicyInput {
  readonly objects: readonly K8sObject[];
  readonly charts: readonly ChartValues[];
}

export interface Violation {
  /** The object at fault; undefined for a stack-wide problem. */
  readonly object?: K8sObject;
  readonly chart?: string;
  readonly message: string;
}

export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/** One rule: a kebab-case name, a one-sentence description, config with defaults, a pure check. */
export interface Rule<C extends object = object> {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the rule's config, as CrossGuard's configSchema takes it. */
  readonly configSchema: { readonly properties: Record<string, unknown> };
  readonly defaults: C;
  check(input: PolicyInput, config: C): Violation[];
}

export function defineRule<C extends object>(rule: Rule<C>): Rule<C> {
  return rule;
}

/** Pod spec holders: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod. */
export function podSpecs(
  objects: readonly K8sObject[],
): Array<{ object: K8sObject; spec: any; labels: Record<string, string> }> {
  const result: Array<{ object: K8sObject; spec: any; labels: Record<string, string> }> = [];
  for (const object of objects) {
    const kind = object.kind;
    if (kind === "Pod")
      result.push({ object, spec: object.spec ?? {}, labels: object.metadata?.labels ?? {} });
    else if (kind === "CronJob") {
      const template = object.spec?.jobTemplate?.spec?.template;
      if (template)
        result.push({ object, spec: template.spec ?? {}, labels: template.metadata?.labels ?? {} });
    } else if (kind && ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(kind)) {
      const template = object.spec?.template;
      if (template)
        result.push({ object, spec: template.spec ?? {}, labels: template.metadata?.labels ?? {} });
    }
  }
  return result;
}

export function containersOf(spec: any): any[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

export function describe(object: K8sObject | undefined): string {
  if (!object) return "the stack";
  return `${object.kind ?? "object"} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata?.name ?? "(unnamed)"}`;
}

/** Does a label selector (`matchLabels` only, or empty = all) select these labels? */
export function selects(selector: any, labels: Record<string, string>): boolean {
  const match: Record<string, string> = selector?.matchLabels ?? {};
  const expressions: any[] = selector?.matchExpressions ?? [];
  if (expressions.length > 0) return false; // not evaluated: treated as not selecting, to stay on the safe side
  return Object.entries(match).every(([key, value]) => labels[key] === value);
}

export function sameNamespace(a: K8sObject, b: K8sObject): boolean {
  return (a.metadata?.namespace ?? "default") === (b.metadata?.namespace ?? "default");
}

/** Plain env values and ConfigMap data, as name → value, with where each came from. */
export function configuredValues(
  objects: readonly K8sObject[],
): Array<{ object: K8sObject; name: string; value: string }> {
  const found: Array<{ object: K8sObject; name: string; value: string }> = [];
  for (const object of objects) {
    if (object.kind === "ConfigMap") {
      for (const [name, value] of Object.entries(object.data ?? {}))
        if (typeof value === "string") found.push({ object, name, value });
    }
  }
  for (const { object, spec } of podSpecs(objects)) {
    for (const container of containersOf(spec)) {
      for (const entry of container.env ?? [])
        if (typeof entry.value === "string") found.push({ object, name: entry.name, value: entry.value });
    }
  }
  return found;
}
