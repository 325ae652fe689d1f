import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { GenesysMiddlewareStack } from "../../components/stack";
import { DEV_PLATFORM, resolvePlatform } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { PROJECT, readStackSettings } from "../../stacks/settings";
import {
  installMocks,
  isSecretValue,
  promiseOf,
  recorded,
  settled,
  stackConfig,
  unwrapSecret,
} from "../support/pulumi-mocks";

// Under Pulumi's mocks, like test/pulumi/stack.test.ts: no engine, provider, cluster or Vault here.
installMocks();

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded mock inputs are checked field by field */

describe("Pulumi program modes and entry point (mocks)", function () {
  this.timeout(30_000);

  it("externalSecret mode: an ExternalSecret at the same Vault path, and no secret value or Vault resource in Pulumi", async () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:secrets`]: JSON.stringify({
        mode: "externalSecret",
        kvPath: "genesys/dev/middleware",
        secretStore: "vault-backend",
      }),
    };
    const settings = readStackSettings(config, new Set(), "dev");
    const start = recorded.length;
    const stack = new GenesysMiddlewareStack("eso", {
      plan: plan(settings, { kubeconfig: undefined, ...DEV_PLATFORM }),
    });
    await promiseOf(stack.metricsEndpoint);
    await settled();
    const mine = recorded.slice(start);
    const external = mine.find(
      (resource) => resource.type === "kubernetes:external-secrets.io/v1:ExternalSecret",
    )!.inputs as any;
    expect(external.metadata.name).to.equal("genesys-integration-secrets");
    expect(external.spec.secretStoreRef).to.deep.equal({ kind: "ClusterSecretStore", name: "vault-backend" });
    expect(external.spec.data[0]).to.deep.equal({
      secretKey: "client-secret",
      remoteRef: { key: "genesys/dev/middleware", property: "client-secret" },
    });
    const types = mine.map((resource) => resource.type);
    expect(types).not.to.include("kubernetes:core/v1:Secret");
    expect(
      types.filter((type) => type.startsWith("vault:") || type === "pulumi:providers:vault"),
    ).to.deep.equal([]);
    expect(stack.webhookPassword).to.equal(undefined);
  });

  it("prod without a platform stack is refused before anything is created", async () => {
    const config = { ...stackConfig("prod") };
    delete config[`${PROJECT}:platformStack`];
    const settings = readStackSettings(config, new Set(), "prod");
    const error = await resolvePlatform(settings).catch((caught: unknown) => caught);
    expect(pulumi.InputPropertyError.isInstance(error)).to.equal(true);
    expect((error as pulumi.InputPropertyError).reason).to.contain("is required in prod");
  });

  /** Runs index.ts on a config (with the keys set by `--secret`); returns its error and what it registered. */
  const runProgram = async (config: Record<string, string>, secretKeys: string[] = []) => {
    pulumi.runtime.setAllConfig(config, secretKeys);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index") as () => Promise<Record<string, unknown>>;
    await settled();
    const start = recorded.length;
    const error = await program().then(
      () => undefined,
      (caught: unknown) => caught as pulumi.InputPropertiesError,
    );
    await settled();
    return { error, registered: recorded.slice(start).map((resource) => resource.type) };
  };

  it("a stack the plan refuses registers no resource (dev: a namespace that is no DNS label)", async () => {
    const { error, registered } = await runProgram({
      ...stackConfig("dev"),
      [`${PROJECT}:namespace`]: "Genesys_Sync",
    });
    expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
    expect(error!.errors.map((problem) => problem.propertyPath)).to.deep.equal([`${PROJECT}:namespace`]);
    expect(error!.errors[0]!.reason).to.contain('"Genesys_Sync"').and.to.contain("not a DNS label");
    expect(registered).to.deep.equal([]);
  });

  it("prod without the CI's Vault JWT is refused by the plan: only the platform stack was read, nothing created", async () => {
    const { error, registered } = await runProgram(stackConfig("prod"));
    expect(error!.errors.map((problem) => problem.propertyPath)).to.deep.equal([`${PROJECT}:vaultJwt`]);
    expect(registered).to.deep.equal(["pulumi:pulumi:StackReference"]);
  });

  describe("prod refuses a bulk upload (apps) URL the service must not use, before anything is created", () => {
    const withAppsBaseUrl = (appsBaseUrl: string) => {
      const config = stackConfig("prod");
      const values = JSON.parse(config[`${PROJECT}:values`]!) as { genesys: Record<string, unknown> };
      values.genesys.appsBaseUrl = appsBaseUrl;
      return { ...config, [`${PROJECT}:values`]: JSON.stringify(values) };
    };
    const cases = [
      { appsBaseUrl: "http://apps.mypurecloud.ie", why: "plain http", reason: "https://" },
      {
        appsBaseUrl: "https://uploader:hunter2@apps.mypurecloud.ie",
        why: "credentials",
        reason: "the apps (bulk upload) base URL must not carry credentials",
      },
      { appsBaseUrl: "https://apps mypurecloud.ie", why: "no URL", reason: "is not a URL" },
    ];
    for (const { appsBaseUrl, why, reason } of cases)
      it(`${why}: names values.genesys.appsBaseUrl and registers nothing`, async () => {
        const { error, registered } = await runProgram(withAppsBaseUrl(appsBaseUrl));
        expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
        expect(error!.errors.map((problem) => problem.propertyPath)).to.deep.equal([
          `${PROJECT}:values.genesys.appsBaseUrl`,
        ]);
        expect(error!.errors[0]!.reason).to.contain(reason);
        expect(JSON.stringify(error!.errors)).not.to.contain("hunter2");
        expect(registered).to.deep.equal([]);
      });
  });

  it("reads vaultToken only when it was set with --secret (the SDK's runtime says which keys are)", async () => {
    const config = { ...stackConfig("dev"), [`${PROJECT}:vaultToken`]: "hvs.dev-token" };
    const plain = await runProgram(config);
    expect(plain.error!.errors[0]!.reason).to.contain("pulumi config set --secret vaultToken");
    expect(JSON.stringify(plain.error!.errors)).not.to.contain("hvs.dev-token");
    expect(plain.registered).to.deep.equal([]);
    const secret = await runProgram(config, [`${PROJECT}:vaultToken`]);
    expect(secret.error).to.equal(undefined);
    const provider = recorded.filter((resource) => resource.type === "pulumi:providers:vault").pop()!;
    expect(unwrapSecret(provider.inputs.token)).to.equal("hvs.dev-token");
    expect(isSecretValue(provider.inputs.token), "the token stays secret").to.equal(true);
  });

  it("index.ts reads the stack config, builds the stack and exports the outputs other teams read", async () => {
    pulumi.runtime.setAllConfig(stackConfig("dev"), []);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index") as () => Promise<Record<string, unknown>>;
    const outputs = await program();
    expect(Object.keys(outputs).sort()).to.deep.equal(
      [
        "claimName",
        "consoleUrl",
        "egressDestinations",
        "importRoutes",
        "metricsEndpoint",
        "namespace",
        "secretName",
        "serviceName",
        "servicePort",
        "webhookPassword",
        "webhookUrl",
      ].sort(),
    );
    expect(outputs.serviceName).to.equal("genesys-sync");
    expect(await promiseOf(outputs.namespace as pulumi.Output<string>)).to.equal("genesys-sync-dev");
    expect(await pulumi.isSecret(outputs.webhookPassword as pulumi.Output<string>)).to.equal(true);
    // dev declares no routes: only the default one, files directly in inbox/.
    expect(outputs.importRoutes).to.deep.equal([
      {
        name: "default",
        contactListId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        inbox: "inbox",
        archive: "archive",
        rejects: "rejects",
      },
    ]);
    await settled();
  });
});
