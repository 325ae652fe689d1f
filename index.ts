import * as pulumi from "@pulumi/pulumi";
import { GenesysMiddlewareStack } from "./components/stack";
import { plan } from "./stacks/plan";
import { resolvePlatform } from "./stacks/platform";
import { PROJECT, readStackSettings } from "./stacks/settings";

/**
 * Whether a config key was set with `--secret`, as the SDK's runtime knows it. @pulumi/pulumi
 * exports runtime.isConfigSecret (config.js) without declaring it in runtime/config.d.ts; the
 * check below makes an SDK without it fail at once rather than pass plain-text secrets.
 */
function isConfigSecret(key: string): boolean {
  const check = (pulumi.runtime as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof check !== "function")
    throw new Error("@pulumi/pulumi no longer exports runtime.isConfigSecret: see index.ts");
  return check(key);
}

/**
 * The Pulumi program: reads and validates the stack's config, resolves the platform stack, plans
 * the deployment (every problem at once, before any resource exists), builds the stack component
 * and exports what other teams read through stack references. Secret outputs stay secret.
 */
export = async () => {
  const allConfig = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(allConfig).filter(isConfigSecret));
  const settings = readStackSettings(allConfig, secretKeys, pulumi.getStack());
  const config = new pulumi.Config(PROJECT);
  const vaultJwt = config.getSecret("vaultJwt");
  const vaultToken = config.getSecret("vaultToken");
  const platform = await resolvePlatform(settings);
  const stack = new GenesysMiddlewareStack("genesys", {
    plan: plan(settings, platform, {
      ...(vaultJwt ? { vaultJwt } : {}),
      ...(vaultToken ? { vaultToken } : {}),
    }),
  });
  return {
    namespace: stack.namespace,
    serviceName: stack.serviceName,
    servicePort: stack.servicePort,
    metricsEndpoint: stack.metricsEndpoint,
    secretName: stack.secretName,
    claimName: stack.claimName,
    egressDestinations: stack.egressDestinations,
    webhookUrl: stack.webhookUrl,
    consoleUrl: stack.consoleUrl,
    webhookPassword: stack.webhookPassword,
    importRoutes: stack.importRoutes,
  };
};
