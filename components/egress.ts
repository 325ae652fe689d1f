import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EgressInputs } from "../stacks/egress-destinations";

export type { EgressInputs };

const OPEN = new Set(["0.0.0.0/0", "::/0"]);

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;
type EgressRule = { to: Array<Record<string, unknown>>; ports: Array<{ protocol: string; port: number }> };

/**
 * The NetworkPolicy spec: deny everything, then allow DNS to the cluster DNS, HTTPS to Genesys
 * Cloud (or the forward proxy on its port), HTTPS to the export download host while contact-list
 * snapshots download from it directly, NFS, Vault, the API server and the configured
 * on-premises destinations; ingress only from the ingress controller's and Prometheus'
 * namespaces. Every egress rule has `to` and `ports`, none opens 0.0.0.0/0 or ::/0, and no rule
 * carries `from` (the guide's YAML did both).
 */
export function egressPolicySpec(inputs: EgressInputs): NetworkPolicySpec {
  const rule = (cidrs: readonly string[], ports: number[]): EgressRule | undefined => {
    const usable = [...new Set(cidrs)].filter((cidr) => !OPEN.has(cidr));
    if (usable.length === 0) return undefined;
    return {
      to: usable.map((cidr) => ({ ipBlock: { cidr } })),
      ports: ports.map((port) => ({ protocol: "TCP", port })),
    };
  };
  const dns: EgressRule = {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
    ],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  };
  const onPremByPort = new Map<number, string[]>();
  for (const { cidr, port } of inputs.onPremises)
    onPremByPort.set(port, [...(onPremByPort.get(port) ?? []), cidr]);
  const egress = [
    dns,
    rule(inputs.genesysCidrs, [443]),
    rule(inputs.downloadCidrs, [443]),
    inputs.proxy ? rule(inputs.proxy.cidrs, [inputs.proxy.port]) : undefined,
    rule(inputs.nfsCidrs, [2049]),
    rule(inputs.vaultCidrs, [8200]),
    rule(inputs.apiServerCidrs, [443, 6443]),
    ...[...onPremByPort.entries()].map(([port, cidrs]) => rule(cidrs, [port])),
  ].filter((entry): entry is EgressRule => entry !== undefined);
  return {
    podSelector: { matchLabels: { ...inputs.podLabels } },
    policyTypes: ["Ingress", "Egress"],
    ingress: [
      {
        from: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": inputs.ingressNamespace } } },
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": inputs.prometheusNamespace } },
          },
        ],
        ports: [{ protocol: "TCP", port: inputs.servicePort }],
      },
    ],
    egress,
  };
}

/**
 * A CiliumNetworkPolicy allowing HTTPS to Genesys Cloud hosts by name: the stack passes
 * `genesysHostNames` of its settings, every host the service calls and the region's others, and
 * while contact-list snapshots are on, the hosts their downloads come from.
 */
export function ciliumFqdnPolicySpec(
  hosts: readonly string[],
  podLabels: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return {
    endpointSelector: { matchLabels: { ...podLabels } },
    egress: [
      {
        // FQDN rules only work when Cilium's DNS proxy sees the lookups.
        toEndpoints: [
          { matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns" } },
        ],
        toPorts: [{ ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } }],
      },
      {
        toFQDNs: hosts.map((host) => ({ matchName: host })),
        toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }],
      },
    ],
  };
}

export interface EgressPolicyArgs {
  /** Namespace of the middleware. */
  readonly namespace: pulumi.Input<string>;
  /** What the pods may reach, resolved from stack config and the platform stack. */
  readonly inputs: EgressInputs;
  /** Also create a CiliumNetworkPolicy allowing HTTPS to these Genesys Cloud hosts by name; default: none. */
  readonly ciliumHosts?: readonly string[];
}

/** The middleware's NetworkPolicy (and, on Cilium, an FQDN policy). */
export class EgressPolicy extends pulumi.ComponentResource {
  public readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
  public readonly ciliumPolicy: k8s.apiextensions.CustomResource | undefined;

  constructor(name: string, args: EgressPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:EgressPolicy", name, args, opts);
    this.networkPolicy = new k8s.networking.v1.NetworkPolicy(
      `${name}-egress`,
      {
        metadata: { name: `${name}-egress`, namespace: args.namespace },
        spec: egressPolicySpec(args.inputs),
      },
      { parent: this },
    );
    this.ciliumPolicy = args.ciliumHosts
      ? new k8s.apiextensions.CustomResource(
          `${name}-fqdn`,
          {
            apiVersion: "cilium.io/v2",
            kind: "CiliumNetworkPolicy",
            metadata: { name: `${name}-fqdn`, namespace: args.namespace },
            spec: ciliumFqdnPolicySpec(args.ciliumHosts, args.inputs.podLabels),
          },
          { parent: this },
        )
      : undefined;
    this.registerOutputs({ networkPolicy: this.networkPolicy, ciliumPolicy: this.ciliumPolicy });
  }
}
