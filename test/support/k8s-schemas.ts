import type { K8sObject } from "./helm";

/**
 * Validates an object against the Kubernetes OpenAPI schemas offline, through the
 * kubernetes-models packages (no cluster needed). Unknown kinds are reported, not passed.
 */
export function validateAgainstKubernetesSchema(object: K8sObject): void {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const modulePath =
    group === "gateway.networking.k8s.io"
      ? `@kubernetes-models/gateway-api/${group}/${version}/${object.kind}`
      : `kubernetes-models/${group ? `${group}/` : ""}${version}/${object.kind}`;
  let model: new (data: unknown) => { validate(): void };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    model = (require(modulePath) as Record<string, new (data: unknown) => { validate(): void }>)[
      object.kind
    ]!;
  } catch {
    throw new Error(`no offline schema for ${object.apiVersion} ${object.kind} (looked for ${modulePath})`);
  }
  new model(object).validate();
}
