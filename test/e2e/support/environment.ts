import { homedir } from "node:os";
import path from "node:path";

export interface E2eSettings {
  /** Path of the kubeconfig the tests, kubectl and Pulumi use. */
  readonly kubeconfig: string;
  /** E2E_IMAGE as given (the pods' image field) and split for the stack's settings. */
  readonly imageReference: string;
  readonly image: { readonly repository: string; readonly tag: string };
  /** An address of this machine that pods can reach: the simulator and the proxy listen there. */
  readonly hostAddress: string;
  /** A directory the node sees at the same path: the shared volume's hostPath lives under it. */
  readonly volumeRoot: string;
  /** Where the API server answers, for the platform stack's apiServerCidrs. */
  readonly apiServerCidrs: string[];
  readonly policyConfig: string;
}

/**
 * The e2e tier's settings, from the environment. scripts/run-e2e.js checks them before mocha
 * starts (one line per missing piece, with the fix); these defaults fit ../shared/cluster-kit.
 */
export function e2eSettings(env: NodeJS.ProcessEnv = process.env): E2eSettings {
  const kubeconfig = env.KUBECONFIG ?? "";
  const imageReference = env.E2E_IMAGE ?? "";
  const slash = imageReference.lastIndexOf("/");
  const colon = imageReference.lastIndexOf(":");
  const [repository, tag] =
    colon > slash
      ? [imageReference.slice(0, colon), imageReference.slice(colon + 1)]
      : [imageReference, "latest"];
  const kitHome = env.KIT_HOME ?? path.join(homedir(), ".cache", "cluster-kit");
  return {
    kubeconfig,
    imageReference,
    image: { repository, tag },
    hostAddress: env.E2E_HOST_ADDRESS ?? "10.244.0.1",
    volumeRoot: env.E2E_VOLUME_ROOT ?? path.join(kitHome, "cluster", "volumes"),
    apiServerCidrs: (env.E2E_API_SERVER_CIDRS ?? "10.0.0.1/32").split(",").map((cidr) => cidr.trim()),
    policyConfig: path.resolve(__dirname, "../fixtures/policy-config.json"),
  };
}
