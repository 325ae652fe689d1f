import { expect } from "chai";
import { randomBytes, randomUUID } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateCsv } from "../../simulator/demo/sample-contacts";
import {
  startSimulator,
  type GenesysSimulator,
  type NewContactList,
  type SimulatedConversation,
} from "../../simulator/simulator";
import type { NewDncList } from "../../simulator/dnc";
import { keptRetryDelaysMs } from "../../app/src/import/removals";
import type { RouteSpec } from "../../app/src/shared/routes";
import { startConnectProxy, type ConnectProxy } from "../support/connect-proxy";
import { kubectl, waitFor } from "../support/kube";
import { issueServerCertificate, makeCertificateAuthority } from "../support/tls";
import {
  find,
  getJson,
  httpGet,
  isReady,
  list,
  metricSum,
  releasePods,
  serviceMonitorTargets,
  type KubeObject,
} from "./support/cluster";
import { e2eSettings } from "./support/environment";
import {
  archivedName,
  archivedSummary,
  claimFolders,
  dropAs,
  OTHER_WRITER,
  ownerOf,
  type FileOwner,
} from "./support/volume";
import {
  PulumiWorkspace,
  ROOT,
  type PreviewPlan,
  type PreviewStep,
  type PulumiStack,
} from "./support/pulumi";

/** What the e2e reads of a file's summary (archive/.../<time>-<name>.summary.json). */
interface ImportSummary {
  readonly status: string;
  readonly rowsRead: number;
  readonly rejected: number;
  readonly synced: number;
  readonly alreadySynced: number;
  readonly elapsedSeconds: number;
  readonly warnings?: string[];
}

/** A DNC file's summary: the import's, with what it did to the DNC list (app/src/dnc/file.ts DncFileSummary). */
interface DncSummary extends ImportSummary {
  readonly dnc: {
    readonly dncListId: string;
    readonly action: "add" | "remove";
    readonly entries: "phone" | "email";
    readonly applied: number;
    readonly withExpiry: number;
  };
}

/** A removal's summary: the import's, with what Genesys kept (app/src/import/outcomes.ts RemovalSummary). */
interface RemovalFileSummary extends ImportSummary {
  readonly removal: {
    readonly removedOrAbsent: number;
    readonly kept: number;
    readonly keptByGenesys: string[];
    readonly keptIdsFile?: string;
    readonly retryRounds: number;
  };
}

/**
 * The deployment end to end, on a real cluster (KUBECONFIG), with the real Pulumi engine and
 * kubernetes provider (on PATH), the image named by E2E_IMAGE (already on the node), and the
 * Genesys simulator over HTTPS signed by a private CA, on an address the pods reach. Every
 * assertion reads what the API server, the simulator, the proxy or the service itself reports.
 *
 * What stays a stand-in here, and why:
 * - Vault mode: the vault and random provider plugins cannot be built on these machines (see
 *   ../shared/cluster-kit/README.md), so the stack runs in the externalSecret mode and Vault mode
 *   stays under Pulumi's mocks (test/pulumi). No External Secrets Operator runs either: the test
 *   writes the target Secret the ExternalSecret asks for, which is all the pods see of it.
 * - The operators' CRDs (ExternalSecret, ServiceMonitor, PrometheusRule) are installed as types
 *   only (fixtures/platform-crds.yaml); the test resolves the ServiceMonitor as Prometheus would.
 * - NFS: an RWX hostPath PersistentVolume of a class of its own stands in for the NFS export.
 * - NetworkPolicy: created and read back, but the kit's bridge CNI enforces nothing.
 * The scenarios run in order and share one deployment; letters follow issue 12.
 */
describe("end to end on a real cluster: Pulumi deploys the image, the policy pack guards it", function () {
  this.timeout(15 * 60_000);
  const env = e2eSettings();
  const id = randomBytes(3).toString("hex");
  const namespace = `genesys-e2e-${id}`;
  const release = "genesys-sync";
  const storageClass = `genesys-e2e-${id}`;
  const volumeName = `genesys-e2e-${id}`;
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString("base64url");
  const contactListId = randomUUID();
  const webhookPassword = randomBytes(18).toString("base64url");
  /**
   * Two campaigns' lists beside the default one (issue 20), each with its own columns and phone
   * columns, as Genesys defines them: `spring` is found by its name (a list whose name only starts
   * the same way must not match), `renewals` by its id.
   */
  const springList: NewContactList = {
    id: randomUUID(),
    name: `Spring ${id}`,
    columnNames: ["CustomerId", "MobilePhone", "FirstName"],
    phoneColumns: [{ columnName: "MobilePhone", type: "cell" }],
  };
  const renewalsList: NewContactList = {
    id: randomUUID(),
    name: `Renewals ${id}`,
    columnNames: ["id", "phone", "note"],
    phoneColumns: [{ columnName: "phone", type: "cell" }],
  };
  const lastYearsSpringList: NewContactList = {
    ...springList,
    id: randomUUID(),
    name: `${springList.name} (2026)`,
  };
  /** The CRM's opt-outs (issue 21): an internal DNC list of phone numbers, found by its name. */
  const optOutsList: NewDncList = {
    id: randomUUID(),
    name: `Opt-outs ${id}`,
    dncSourceType: "rds",
    contactMethod: "Phone",
  };
  /**
   * The stack's `routes`: the CRM's own column names on spring; a column too many dropped on
   * renewals; opt-outs to the DNC list, national numbers British, each with an optional expiry.
   */
  const routes: RouteSpec[] = [
    {
      name: "spring",
      contactListName: springList.name,
      columns: { "Cust No": "CustomerId", Mobile: "MobilePhone", "Given Name": "FirstName" },
      idColumn: "CustomerId",
      phoneColumns: ["MobilePhone"],
      defaultCountry: "GB",
    },
    { name: "renewals", contactListId: renewalsList.id!, unmappedColumns: "drop" },
    {
      name: "opt-outs",
      dncListName: optOutsList.name,
      defaultCountry: "GB",
      expiryColumn: "Opted out until",
    },
  ];
  /**
   * IMPORT_REMOVAL_RETRY_SECONDS: the kept-contact retries of c3's removal wait 1, 4 and 10 s
   * instead of the default 30 s, 2 min and 5 min.
   */
  const removalRetrySeconds = 1;
  /** Contact-list snapshots every 30 s, two kept per route (issue 21). */
  const snapshotIntervalSeconds = 30;
  const snapshotKeep = 2;
  const volumeDir = path.join(env.volumeRoot, namespace);
  const work = mkdtempSync(path.join(tmpdir(), "genesys-e2e-"));
  const workspace = new PulumiWorkspace(work);
  let sim: GenesysSimulator;
  let proxy: ConnectProxy;
  let caPem: string;
  let platform: PulumiStack;
  let stack: PulumiStack;
  let config: Record<string, unknown>;
  let destroyed = false;
  let policyConfig: string;
  const seeded: string[] = [];

  const conversation = (
    conversationId: string,
    endMs: number,
    listId: string = contactListId,
  ): SimulatedConversation => ({
    conversationId,
    conversationStart: new Date(endMs - 90_000).toISOString(),
    conversationEnd: new Date(endMs).toISOString(),
    participants: [
      {
        purpose: "customer",
        sessions: [{ outboundContactListId: listId, outboundContactId: `contact-${conversationId}` }],
      },
    ],
  });
  const seed = (prefix: string, count: number) => {
    const ids = Array.from({ length: count }, (_, index) => `${prefix}-${id}-${index}`);
    sim.addConversations(
      ids.map((conversationId, index) => conversation(conversationId, Date.now() - 120_000 + index)),
    );
    seeded.push(...ids);
  };
  const outboxRecords = (): Array<{ conversationId: string; route?: string }> => {
    const outbox = path.join(volumeDir, "outbox");
    let names: string[] = [];
    try {
      names = readdirSync(outbox).filter((name) => name.startsWith("results-") && name.endsWith(".ndjson"));
    } catch {
      return [];
    }
    return names.flatMap((name) =>
      readFileSync(path.join(outbox, name), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { conversationId: string; route?: string }),
    );
  };
  const outboxIds = (): string[] => outboxRecords().map((record) => record.conversationId);
  /** Waits until every conversation seeded so far is in some results file of outbox/. */
  const seededInOutbox = (what: string) =>
    waitFor(
      async () => (seeded.every((conversationId) => outboxIds().includes(conversationId)) ? true : undefined),
      {
        timeoutMs: 3 * 60_000,
        intervalMs: 2_000,
        what: `${what} in outbox/`,
      },
    );
  const lease = async () =>
    (await getJson(["get", "leases.coordination.k8s.io", "genesys-sync-poller", "-n", namespace])).spec as {
      holderIdentity?: string;
      leaseDurationSeconds: number;
    };
  const readyPods = async () => (await releasePods(namespace, release)).filter(isReady);
  const twoReadyPods = (what: string) =>
    waitFor(async () => ((await readyPods()).length === 2 ? readyPods() : undefined), {
      timeoutMs: 3 * 60_000,
      intervalMs: 1_000,
      what: `two Ready pods (${what})`,
    });
  /** The uid the pods run as (the chart's securityContext). */
  const podsUid = async (): Promise<number | undefined> => {
    const pod = (await readyPods())[0]!;
    return pod.spec.containers[0].securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser;
  };
  /**
   * The file came through the pods (uid 500) as its writer left it: archived (in archive/, or
   * below it for a route: `spring`, `dnc/opt-outs`) still owned by the writer with its mode (the
   * service sets nothing on files it does not own), its summary beside it written by the pods' uid.
   */
  const expectArchivedAsWritten = async (name: string, writer: FileOwner, route?: string) => {
    const archive = path.join(volumeDir, "archive", ...(route ? [route] : []));
    const archived = await waitFor(
      async () => {
        const entry = archivedName(volumeDir, name, route);
        return entry && existsSync(path.join(archive, `${entry}.summary.json`)) ? entry : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: `${name} archived with its summary` },
    );
    expect(
      ownerOf(path.join(archive, archived)),
      `${path.relative(volumeDir, archive)}/${archived}`,
    ).to.deep.equal(writer);
    const uid = await podsUid();
    expect(uid, "the pods run as another uid than the writer").to.be.a("number").and.not.equal(writer.uid);
    expect(ownerOf(path.join(archive, `${archived}.summary.json`)).uid, "written by the pods").to.equal(uid);
    return archived;
  };
  const podIp = (pod: KubeObject) => pod.status.podIP as string;

  /**
   * `pulumi up`, playing the External Secrets Operator meanwhile: as soon as the ExternalSecret
   * exists, the Secret it names is written with the values "Vault" holds for its remote refs.
   */
  const upWithExternalSecrets = async () => {
    const running = stack.up();
    const vault: Record<string, Record<string, string>> = {
      [`genesys/dev/middleware`]: { "client-secret": clientSecret },
      [`genesys/dev/middleware-webhook`]: { username: "genesys-data-action", password: webhookPassword },
    };
    let failed: unknown;
    const operator = (async () => {
      const external = await waitFor(
        async () => find("externalsecrets.external-secrets.io", "genesys-integration-secrets", namespace),
        { timeoutMs: 5 * 60_000, intervalMs: 1_000, what: "the ExternalSecret" },
      );
      if (await find("secrets", external.spec.target.name, namespace)) return;
      const data: Record<string, string> = {};
      for (const entry of external.spec.data as Array<{
        secretKey: string;
        remoteRef: { key: string; property: string };
      }>) {
        const value = vault[entry.remoteRef.key]?.[entry.remoteRef.property];
        if (value !== undefined) data[entry.secretKey] = Buffer.from(value).toString("base64");
      }
      await kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: external.spec.target.name,
            namespace,
            labels: { "genesys-e2e/written-by": "test-as-eso" },
          },
          type: "Opaque",
          data,
        }),
      });
    })().catch((error: unknown) => (failed = error));
    const result = await running;
    await operator;
    if (failed) throw failed;
    return result;
  };

  before(async () => {
    // The simulator and the proxy listen where the pods can reach them (the node's bridge address).
    const ca = await makeCertificateAuthority();
    caPem = ca.cert;
    const leaf = await issueServerCertificate(ca, {
      dnsNames: ["localhost"],
      ipAddresses: [env.hostAddress, "127.0.0.1"],
    });
    sim = await startSimulator({
      host: env.hostAddress,
      tls: { key: leaf.key, cert: leaf.cert },
      clients: [{ clientId, clientSecret }],
      contactListIds: [contactListId],
      contactLists: [springList, renewalsList, lastYearsSpringList],
      dncLists: [optOutsList],
    });
    proxy = await startConnectProxy({ host: env.hostAddress });

    // The e2e policy config: prod's, with the simulator's address as the one allowed override host
    // (genesys-endpoint refuses any other host, as it should).
    policyConfig = path.join(work, "policy-config.json");
    const basePolicy = JSON.parse(readFileSync(env.policyConfig, "utf8")) as Record<string, unknown>;
    writeFileSync(
      policyConfig,
      JSON.stringify({ ...basePolicy, "genesys-endpoint": { allowedOverrideHosts: [env.hostAddress] } }),
    );

    await kubectl(["apply", "-f", path.join(__dirname, "fixtures/platform-crds.yaml")]);
    // The shared volume: a hostPath directory the node sees at the same path, owned 500:500 like
    // the NFS export the README asks for, offered as an RWX PersistentVolume of its own class.
    mkdirSync(volumeDir, { recursive: true, mode: 0o2775 });
    chownSync(volumeDir, 500, 500);
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: volumeName, labels: { "genesys-e2e/run": id } },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteMany"],
          storageClassName: storageClass,
          persistentVolumeReclaimPolicy: "Retain",
          claimRef: { namespace, name: "genesys-sync-data" },
          hostPath: { path: volumeDir, type: "Directory" },
        },
      }),
    });

    platform = workspace.stack(path.join(__dirname, "fixtures/platform"), `platform-${id}`);
    await platform.init();
    platform.writeConfig({
      "genesys-e2e-platform:kubeconfigPath": env.kubeconfig,
      "genesys-e2e-platform:apiServerCidrs": env.apiServerCidrs,
    });
    await platform.up();

    stack = workspace.stack(ROOT, `e2e-${id}`);
    await stack.init();
    config = {
      "genesys-middleware-stack:environment": "dev",
      "genesys-middleware-stack:namespace": namespace,
      "genesys-middleware-stack:platformStack": `organization/genesys-e2e-platform/platform-${id}`,
      "genesys-middleware-stack:image": { ...env.image, pullPolicy: "IfNotPresent" },
      "genesys-middleware-stack:storage": {
        mode: "storageClass",
        storageClassName: storageClass,
        size: "1Gi",
      },
      "genesys-middleware-stack:secrets": { mode: "externalSecret", secretStore: "e2e-vault" },
      // The simulator's download host answers on the same address (another port): while snapshots
      // download directly, plan() wants egress for it (a warning in dev, refused in prod).
      "genesys-middleware-stack:egress": {
        genesysCidrs: [`${env.hostAddress}/32`],
        downloadCidrs: [`${env.hostAddress}/32`],
      },
      "genesys-middleware-stack:network": { caBundle: caPem },
      // The service's settings, under the chart's own keys.
      "genesys-middleware-stack:values": {
        genesys: {
          region: "eu-west-1",
          apiBaseUrl: sim.apiBaseUrl,
          loginBaseUrl: sim.loginBaseUrl,
          clientId,
          contactListId,
          pollingIntervalSeconds: 30,
        },
        autoscaling: { minReplicas: 2, maxReplicas: 2, targetCPUUtilizationPercentage: 70 },
        import: { defaultCountry: "IE", phoneColumns: ["phone"], removalRetrySeconds },
        // The signed download URLs point at the simulator's second host, not api-downloads.<domain>:
        // the e2e policy config allows its address as an override host.
        export: {
          listSnapshotIntervalSeconds: snapshotIntervalSeconds,
          listSnapshotKeep: snapshotKeep,
          listSnapshotDownloadHosts: [new URL(sim.downloadBaseUrl).host],
        },
      },
      // Two campaigns' lists beside the default one (issue 20), as README.md's worked example.
      "genesys-middleware-stack:routes": routes,
    };
    stack.writeConfig(config);
  });

  after(async () => {
    if (stack && !destroyed) await stack.run(["destroy", "--yes", "--skip-preview"]).catch(() => undefined);
    if (stack) await stack.remove();
    if (platform) {
      await platform.run(["destroy", "--yes", "--skip-preview"]).catch(() => undefined);
      await platform.remove();
    }
    await kubectl([
      "delete",
      "namespace",
      namespace,
      `${namespace}-consumer`,
      `${namespace}-neighbour`,
      "--ignore-not-found",
      "--wait=false",
    ]).catch(() => undefined);
    await kubectl(["delete", "pv", volumeName, "--ignore-not-found"]).catch(() => undefined);
    await proxy?.close();
    await sim?.close();
    rmSync(volumeDir, { recursive: true, force: true });
    if (!process.env.E2E_KEEP_WORKDIR) rmSync(work, { recursive: true, force: true });
  });

  describe("0. preflight", () => {
    it("a stack the plan refuses fails preview and up with the reason, and leaves no resource in the state", async () => {
      // prod on the platform's bridge CNI (no FQDN rules), without Genesys ranges or a proxy:
      // valid settings, but plan() refuses the egress, after reading the platform stack only.
      const refused = workspace.stack(ROOT, `preflight-${id}`);
      await refused.init();
      refused.writeConfig({
        ...config,
        "genesys-middleware-stack:environment": "prod",
        "genesys-middleware-stack:namespace": `${namespace}-preflight`,
        "genesys-middleware-stack:image": { ...env.image, digest: `sha256:${"0".repeat(64)}` },
        "genesys-middleware-stack:egress": { genesysCidrs: [] },
      });
      try {
        const reason =
          "genesys-middleware-stack:egress.genesysCidrs: no Genesys Cloud IP ranges for eu-west-1";
        const preview = await refused.run(["preview"]);
        expect(preview.code, `${preview.stdout}\n${preview.stderr}`).not.to.equal(0);
        expect(`${preview.stdout}\n${preview.stderr}`).to.contain(reason);
        const up = await refused.run(["up", "--yes", "--skip-preview"]);
        expect(up.code, `${up.stdout}\n${up.stderr}`).not.to.equal(0);
        expect(`${up.stdout}\n${up.stderr}`).to.contain(reason).and.to.contain("nothing was created");
        const state = JSON.parse(await refused.exportState()) as {
          deployment: { resources?: Array<{ type: string }> };
        };
        const types = (state.deployment.resources ?? []).map((resource) => resource.type);
        // The stack itself and the read of the platform's outputs (a StackReference and its builtin
        // provider); nothing this program creates.
        const reads = ["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference", "pulumi:providers:pulumi"];
        expect(types.filter((type) => !reads.includes(type))).to.deep.equal([]);
        expect(await find("namespace", `${namespace}-preflight`)).to.equal(undefined);
      } finally {
        await refused.remove();
      }
    });
  });

  describe("0. preflight: a bad route (issue 20)", () => {
    it("routes the plan refuses fail preview naming each route and the fix, before anything exists", async () => {
      const refused = workspace.stack(ROOT, `bad-route-${id}`);
      await refused.init();
      refused.writeConfig({
        ...config,
        "genesys-middleware-stack:namespace": `${namespace}-bad-route`,
        "genesys-middleware-stack:routes": [
          ...routes,
          { name: "spring", contactListId: renewalsList.id },
          { name: "winback" },
        ],
      });
      try {
        const preview = await refused.run(["preview"]);
        const output = `${preview.stdout}\n${preview.stderr}`;
        expect(preview.code, output).not.to.equal(0);
        expect(output)
          .to.contain("The dev stack cannot be deployed (2 problems); nothing was created:")
          .and.to.contain(
            `genesys-middleware-stack:routes: routes[${routes.length}].name "spring" is also the name of routes[0]: route names are folders, one each`,
          )
          .and.to.contain(
            `genesys-middleware-stack:routes: routes[${routes.length + 1}] names no contact list: set contactListId or contactListName`,
          );
        expect(await find("namespace", `${namespace}-bad-route`)).to.equal(undefined);
      } finally {
        await refused.remove();
      }
    });
  });

  describe("a. preview and policy", () => {
    /** `pulumi preview` with this repository's policy pack and the e2e policy config. */
    const previewWithPolicy = (target: PulumiStack) =>
      target.run([
        "preview",
        "--policy-pack",
        path.join(ROOT, "policies"),
        "--policy-pack-config",
        policyConfig,
      ]);
    it("the real engine's preview with the policy pack passes on the compliant e2e stack", async () => {
      const result = await previewWithPolicy(stack);
      expect(result.code, `${result.stdout}\n${result.stderr}`).to.equal(0);
      expect(result.stdout).to.contain("genesys-middleware-guards");
      expect(result.stdout).not.to.match(/mandatory/);
    });

    it("a platform team's objects that fall into the guide's traps are blocked by name", async () => {
      const neighbour = workspace.stack(path.join(__dirname, "fixtures/neighbour"), `neighbour-${id}`);
      await neighbour.init();
      neighbour.writeConfig({ "genesys-e2e-neighbour:namespace": `${namespace}-neighbour` });
      const result = await previewWithPolicy(neighbour);
      await neighbour.remove();
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.code, output).not.to.equal(0);
      expect(output).to.contain("genesys-middleware-guards");
      for (const rule of ["no-secret-in-values", "egress-restricted", "hpa-sane"]) {
        expect(output, `${rule} blocks the preview`).to.match(new RegExp(`\\[mandatory\\]\\s+${rule}\\s`));
      }
      expect(output).to.contain("ConfigMap key GENESYS_CLIENT_SECRET holds a secret");
      expect(output).to.contain("0.0.0.0/0");
      expect(output).to.contain("CPU target 20 %");
    });
  });

  describe("b. up", () => {
    it("deploys the release into a namespace labelled restricted; the pods become Ready through the chart's probes", async () => {
      await upWithExternalSecrets();
      const ns = await getJson(["get", "namespace", namespace]);
      expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).to.equal("restricted");
      // With autoscaling on, the chart leaves replicas to the HPA: `up` returns once the first pod
      // is Ready, and the HPA raises the Deployment to minReplicas.
      const pods = await waitFor(async () => ((await readyPods()).length === 2 ? readyPods() : undefined), {
        timeoutMs: 3 * 60_000,
        intervalMs: 1_000,
        what: "two Ready pods (the HPA's minReplicas)",
      });
      expect(pods.map((pod) => pod.metadata.name)).to.have.length(2);
      for (const pod of pods) {
        const container = pod.spec.containers[0];
        expect(container.image).to.equal(env.imageReference);
        expect(container.readinessProbe.httpGet.path).to.equal("/readyz");
        expect(container.startupProbe.httpGet.path).to.equal("/readyz");
        expect(container.livenessProbe.httpGet.path).to.equal("/healthz");
      }
    });

    it("the pods reached the simulator directly, over HTTPS signed by the private CA the stack handed them", async () => {
      const pods = await readyPods();
      const issued = sim.received.tokenRequests.filter(
        (entry) => entry.outcome === "issued" && entry.clientId === clientId,
      );
      expect(issued.length, "a token per pod at least").to.be.at.least(2);
      const callers = sim.clientAddresses();
      for (const pod of pods)
        expect(callers, `${pod.metadata.name} called the simulator itself`).to.include(podIp(pod));
      expect(proxy.tunnels, "no proxy yet").to.have.length(0);
      const containerEnv = pods[0]!.spec.containers[0].env as Array<{ name: string; value?: string }>;
      expect(containerEnv.find((entry) => entry.name === "NODE_EXTRA_CA_CERTS")?.value).to.be.a("string");
    });
  });

  describe("c. both directions through the deployed service", () => {
    it("a contact file written into the shared volume by another uid than the pods' (mode 644) is imported: the simulator counts the contacts", async () => {
      const file = generateCsv(250, { badEvery: 50, idPrefix: `e2e-${id}-` });
      const inbox = path.join(volumeDir, "inbox");
      await waitFor(async () => readdirSync(volumeDir).includes("inbox") || undefined, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: "the service to lay out the shared volume",
      });
      const writer = { ...OTHER_WRITER, mode: 0o644 };
      dropAs(inbox, "contacts.csv", file.content, writer);
      await waitFor(
        async () => (sim.contacts(contactListId).size >= file.goodIds.length ? true : undefined),
        {
          timeoutMs: 3 * 60_000,
          intervalMs: 1_000,
          what: `${file.goodIds.length} contacts in the simulator`,
        },
      );
      expect([...sim.contacts(contactListId).keys()].sort()).to.deep.equal([...file.goodIds].sort());
      await waitFor(
        async () =>
          readdirSync(path.join(volumeDir, "rejects")).some((name) => name.endsWith(".rejects.csv"))
            ? true
            : undefined,
        {
          timeoutMs: 60_000,
          intervalMs: 1_000,
          what: "the rejects report",
        },
      );
      const report = readdirSync(path.join(volumeDir, "rejects")).find((name) =>
        name.endsWith(".rejects.csv"),
      )!;
      expect(
        readFileSync(path.join(volumeDir, "rejects", report), "utf8")
          .split("\n")
          .filter(Boolean),
      ).to.have.length(file.badLines.length + 1);
      await expectArchivedAsWritten("contacts.csv", writer);
    });

    it("a whole list written into inbox/bulk/ by another uid than the pods' (mode 666) goes to Genesys in one upload through the deployed service", async () => {
      const file = generateCsv(400, { idPrefix: `e2e-bulk-${id}-` });
      const writer = { ...OTHER_WRITER, mode: 0o666 };
      dropAs(path.join(volumeDir, "inbox", "bulk"), "whole-list.csv", file.content, writer);
      await waitFor(async () => archivedName(volumeDir, "whole-list.csv") !== undefined, {
        timeoutMs: 3 * 60_000,
        intervalMs: 1_000,
        what: "the bulk load archived",
      });
      expect(sim.uploads.received.filter((upload) => upload.via === "multipart")).to.have.length(1);
      const contacts = sim.contacts(contactListId);
      for (const contactId of file.goodIds) expect(contacts.has(contactId), contactId).to.equal(true);
      await expectArchivedAsWritten("whole-list.csv", writer);
    });

    it("a conversation result comes out in outbox/", async () => {
      seed("first", 20);
      await seededInOutbox("the seeded conversations");
    });

    it("/metrics answers at the endpoints the ServiceMonitor selects, with what the service did", async () => {
      const monitors = await list("servicemonitors.monitoring.coreos.com", namespace);
      expect(monitors).to.have.length(1);
      const targets = await serviceMonitorTargets(namespace, monitors[0]!.metadata.name);
      const pods = await readyPods();
      expect(targets.map((target) => target.pod).sort()).to.deep.equal(
        pods.map((pod) => pod.metadata.name).sort(),
      );
      let imported = 0;
      for (const target of targets) {
        const answer = await httpGet(target.url);
        expect(answer.status, target.url).to.equal(200);
        expect(answer.body).to.contain("genesys_requests_total");
        imported += metricSum(answer.body, "import_rows_total", (labels) =>
          labels.includes('outcome="synced"'),
        );
      }
      expect(imported, "the API file's 245 good rows and the bulk file's 400").to.equal(245 + 400);
    });
  });

  /**
   * Issue 20, item 7: the stack deploys two routes beside the default one, and files reach each
   * list through the shared volume as the README's worked example drops them. After c, whose
   * /metrics count is the default route's alone; before d, which deletes pods: the removal below
   * keeps its claim through its kept-contact retries (1, 4 and 10 s: IMPORT_REMOVAL_RETRY_SECONDS
   * is 1 here), and a deleted claimer would start those waits again.
   */
  describe("c3. import routes: two campaigns' lists beside the default one (issue 20)", () => {
    const writer = { ...OTHER_WRITER, mode: 0o644 };
    const folder = (...parts: string[]) => path.join(volumeDir, ...parts);
    /** Waits for a file's summary in archive/ (or archive/<route>/). */
    const summaryOf = <T = ImportSummary>(name: string, route: string | undefined, timeoutMs = 3 * 60_000) =>
      waitFor(async () => archivedSummary<T>(volumeDir, name, route), {
        timeoutMs,
        intervalMs: 1_000,
        what: `${route ? `${route}/` : ""}${name} archived with its summary`,
      });
    const springIds = Array.from({ length: 40 }, (_, index) => `S-${id}-${index}`);
    const springBad = 17;
    const renewalsIds = Array.from({ length: 20 }, (_, index) => `R-${id}-${index}`);
    const defaultIds = Array.from({ length: 5 }, (_, index) => `D-${id}-${index}`);
    /** Ids the removal file names: half the renewals; the first one a campaign is dialling. */
    const removedIds = renewalsIds.slice(0, 10);
    const heldId = removedIds[0]!;
    const removal = `opt-outs-${id}.csv`;
    let removalDroppedAt = 0;
    /** Every pod's /metrics, as Prometheus finds them through the ServiceMonitor. */
    const scrapeTargets = async () => {
      const monitors = await list("servicemonitors.monitoring.coreos.com", namespace);
      return serviceMonitorTargets(namespace, monitors[0]!.metadata.name);
    };
    /** A counter summed over the pods' /metrics, for the series `wanted` picks by their labels. */
    const sum = async (name: string, wanted: (labels: string) => boolean) => {
      let total = 0;
      for (const target of await scrapeTargets())
        total += metricSum((await httpGet(target.url)).body, name, wanted);
      return total;
    };
    /** Series of one outcome on one route; without a route, the default route's (no route label). */
    const labelled = (outcome: string, route?: string) => (labels: string) =>
      labels.includes(`outcome="${outcome}"`) &&
      (route ? labels.includes(`route="${route}"`) : !labels.includes("route="));

    it("the stack hands the routes to the pods, and its importRoutes output names each route's folders", async () => {
      const outputs = await stack.outputs();
      expect(outputs.importRoutes).to.deep.equal([
        { name: "default", contactListId, inbox: "inbox", archive: "archive", rejects: "rejects" },
        {
          name: "spring",
          contactListName: springList.name,
          inbox: "inbox/spring",
          archive: "archive/spring",
          rejects: "rejects/spring",
        },
        {
          name: "renewals",
          contactListId: renewalsList.id,
          inbox: "inbox/renewals",
          archive: "archive/renewals",
          rejects: "rejects/renewals",
        },
        {
          name: "opt-outs",
          dncListName: optOutsList.name,
          add: "dnc/opt-outs/add",
          remove: "dnc/opt-outs/remove",
          archive: "archive/dnc/opt-outs",
          rejects: "rejects/dnc/opt-outs",
        },
      ]);
      // The chart's routes ConfigMap, mounted where IMPORT_ROUTES_FILE points, holds them as declared.
      const pod = (await readyPods())[0]!;
      const containerEnv = pod.spec.containers[0].env as Array<{ name: string; value?: string }>;
      const file = containerEnv.find((entry) => entry.name === "IMPORT_ROUTES_FILE")?.value ?? "";
      const mount = (pod.spec.containers[0].volumeMounts as Array<{ name: string; mountPath: string }>).find(
        (candidate) => file.startsWith(`${candidate.mountPath}/`),
      );
      expect(mount, `a volume mounted where IMPORT_ROUTES_FILE (${file}) points`).to.not.equal(undefined);
      const volume = (
        pod.spec.volumes as Array<{
          name: string;
          configMap?: { name: string; items?: Array<{ key: string }> };
        }>
      ).find((candidate) => candidate.name === mount!.name);
      const routesConfigMap = await getJson(["get", "configmap", volume!.configMap!.name, "-n", namespace]);
      expect(JSON.parse(routesConfigMap.data![path.basename(file)]!)).to.deep.equal(routes);
      // The service lays out each route's folders once its list is resolved (spring: by name).
      await waitFor(
        async () =>
          ["spring", "renewals"].every((route) =>
            ["", "bulk", "replace", "remove"].every((lane) => existsSync(folder("inbox", route, lane))),
          ) || undefined,
        { timeoutMs: 60_000, intervalMs: 500, what: "inbox/spring/ and inbox/renewals/ with their lanes" },
      );
    });

    it("a file with the CRM's column names in inbox/spring/ lands in the spring list under the list's columns; its bad row is reported in rejects/spring/", async () => {
      const name = `crm-export-${id}.csv`;
      const rows = springIds.map((contactId, index) =>
        index === springBad
          ? `${contactId},not-a-phone,Bad`
          : `${contactId},07800 ${String(100_000 + index)},Given${index}`,
      );
      dropAs(folder("inbox", "spring"), name, ["Cust No,Mobile,Given Name", ...rows, ""].join("\n"), writer);
      const summary = await summaryOf(name, "spring");
      expect(summary).to.deep.include({
        status: "imported_with_rejects",
        rowsRead: 40,
        rejected: 1,
        synced: 39,
      });

      const spring = sim.contacts(springList.id);
      const good = springIds.filter((_, index) => index !== springBad);
      expect([...spring.keys()].sort()).to.deep.equal([...good].sort());
      expect(
        spring.get(springIds[3]!)!.data,
        "the list's own columns, the number in E.164 (GB)",
      ).to.deep.equal({
        CustomerId: springIds[3],
        MobilePhone: "+447800100003",
        FirstName: "Given3",
      });
      expect(sim.contacts(lastYearsSpringList.id).size, "only the list of that exact name").to.equal(0);
      const reports = readdirSync(folder("rejects", "spring")).filter((entry) =>
        entry.endsWith(`-${name}.rejects.csv`),
      );
      expect(reports, "rejects/spring/<time>-<name>.rejects.csv").to.have.length(1);
      expect(readFileSync(folder("rejects", "spring", reports[0]!), "utf8")).to.contain(springIds[springBad]);
      expect(archivedName(volumeDir, name), "not in the default route's archive/").to.equal(undefined);
    });

    it("renewals: a file with a column the list lacks is imported without it; then a removal in inbox/renewals/remove/ takes its ids out, all but the one a campaign is dialling", async () => {
      const name = `due-${id}.csv`;
      // The renewals CRM sends a column the list lacks: the route drops it (unmappedColumns: drop).
      const rows = renewalsIds.map(
        (contactId, index) => `${contactId},0851${String(200_000 + index)},due,${index}`,
      );
      dropAs(
        folder("inbox", "renewals"),
        name,
        ["id,phone,note,internal_score", ...rows, ""].join("\n"),
        writer,
      );
      const imported = await summaryOf(name, "renewals");
      expect(imported).to.deep.include({ status: "imported", synced: 20 });
      expect(imported.warnings).to.deep.equal([
        'columns dropped (neither mapped by route renewals nor columns of its list): "internal_score"',
      ]);
      const renewals = sim.contacts(renewalsList.id);
      expect(renewals.get(renewalsIds[12]!)!.data).to.deep.equal({
        id: renewalsIds[12],
        phone: "+353851200012",
        note: "due",
      });

      // Only once the import is archived: with two replicas, the other one could take a removal
      // dropped while the import is still running (files of a route go in drop order per replica).
      sim.holdContacts(renewalsList.id!, [heldId]);
      dropAs(
        folder("inbox", "renewals", "remove"),
        removal,
        ["id,reason", ...removedIds.map((contactId) => `${contactId},opted out`), ""].join("\n"),
        writer,
      );
      removalDroppedAt = Date.now();
      await waitFor(
        async () => removedIds.slice(1).every((contactId) => !renewals.has(contactId)) || undefined,
        { timeoutMs: 2 * 60_000, intervalMs: 1_000, what: "the removal's ids gone from the renewals list" },
      );
      expect(renewals.has(heldId), "Genesys keeps a contact a campaign is using").to.equal(true);
      expect(
        renewalsIds.slice(10).filter((contactId) => !renewals.has(contactId)),
        "ids the file does not name stay",
      ).to.deep.equal([]);
    });

    it("the default route still imports files dropped directly in inbox/ into the default list, a file of the same name on renewals notwithstanding", async () => {
      const name = `due-${id}.csv`;
      const rows = defaultIds.map((contactId, index) => `${contactId},0852${String(300_000 + index)}`);
      dropAs(folder("inbox"), name, ["id,phone", ...rows, ""].join("\n"), writer);
      const summary = await summaryOf(name, undefined);
      expect(summary).to.deep.include({ status: "imported", synced: defaultIds.length });
      const defaults = sim.contacts(contactListId);
      for (const contactId of defaultIds) expect(defaults.has(contactId), contactId).to.equal(true);
      for (const list of [springList, renewalsList])
        expect(defaultIds.filter((contactId) => sim.contacts(list.id).has(contactId))).to.deep.equal([]);
    });

    it("a conversation on the spring list comes out in outbox/ naming its route", async () => {
      const conversationId = `spring-call-${id}`;
      sim.addConversations([conversation(conversationId, Date.now() - 60_000, springList.id)]);
      seeded.push(conversationId);
      const record = await waitFor(
        async () => outboxRecords().find((candidate) => candidate.conversationId === conversationId),
        { timeoutMs: 3 * 60_000, intervalMs: 2_000, what: `${conversationId} in outbox/` },
      );
      expect(record.route).to.equal("spring");
      const first = outboxRecords().find((candidate) => candidate.conversationId === seeded[0]);
      expect(first?.route, "the default route's conversations").to.equal("default");
    });

    it("/metrics labels each route's series with its name; the default route's stay unlabelled", async () => {
      expect(await sum("import_rows_total", labelled("synced", "spring")), "spring").to.equal(39);
      expect(await sum("import_rows_total", labelled("rejected", "spring")), "spring's bad row").to.equal(1);
      expect(await sum("import_rows_total", labelled("synced", "renewals")), "renewals").to.equal(20);
      expect(await sum("import_rows_total", labelled("removed", "renewals")), "renewals' removals").to.equal(
        9,
      );
      expect(
        await sum("import_rows_total", labelled("synced")),
        "the default route, unlabelled: c's files and the one above",
      ).to.equal(245 + 400 + defaultIds.length);
      expect(await sum("import_files_total", labelled("imported_with_rejects", "spring"))).to.equal(1);
      // Gauges too: every pod scans every route's inbox and holds a gate on each route's list.
      for (const target of await scrapeTargets()) {
        const lines = (await httpGet(target.url)).body.split("\n");
        for (const [route, list] of [
          ["spring", springList],
          ["renewals", renewalsList],
        ] as const) {
          // Its value is the last scan's: a pod waiting out a removal's retries counts that file.
          expect(
            lines.filter((line) => line.startsWith(`import_inbox_files{route="${route}"} `)),
            `${target.pod}: import_inbox_files of ${route}`,
          ).to.have.length(1);
          const blocked = lines.filter(
            (line) =>
              line.startsWith("import_target_blocked{") &&
              line.includes(`route="${route}"`) &&
              line.includes(`contact_list="${list.id}"`),
          );
          expect(blocked, `${target.pod}: import_target_blocked of ${route}`).to.have.length(1);
          expect(blocked[0]).to.match(/ 0$/);
        }
      }
    });

    it("the removal's summary in archive/renewals/ names the contact Genesys kept, once the retries are over", async () => {
      const delays = keptRetryDelaysMs(removalRetrySeconds);
      const waits = delays.reduce((total, ms) => total + ms, 0);
      const summary = await summaryOf<RemovalFileSummary>(
        removal,
        "renewals",
        Math.max(30_000, removalDroppedAt + waits + 90_000 - Date.now()),
      );
      expect(summary.status).to.equal("removed_with_kept");
      // The deployed setting shortened the waits: 15 s in all, not the default 7.5 minutes.
      const configMap = await getJson(["get", "configmap", release, "-n", namespace]);
      expect(configMap.data?.IMPORT_REMOVAL_RETRY_SECONDS).to.equal(String(removalRetrySeconds));
      expect(summary.elapsedSeconds, "the file took its retries' waits, and not the default ones")
        .to.be.at.least(waits / 1_000)
        .and.below(120);
      expect(summary.removal).to.deep.include({
        removedOrAbsent: removedIds.length - 1,
        kept: 1,
        keptByGenesys: [heldId],
        retryRounds: delays.length,
      });
      // The kept ids, ready to drop in remove/ again once the campaign is done with them.
      expect(summary.removal.keptIdsFile, "keptIdsFile").to.be.a("string");
      expect(sim.contacts(renewalsList.id).has(heldId)).to.equal(true);
      expect(await sum("import_rows_total", labelled("kept", "renewals")), "kept").to.equal(1);
      expect(await sum("import_files_total", labelled("removed_with_kept", "renewals"))).to.equal(1);
      sim.releaseContacts(renewalsList.id!);
    });
  });

  /**
   * Issue 21, item 5: a DNC route and contact-list snapshots through the deployed image. After c3,
   * whose spring list the snapshots show; before d, so that the pod that took the snapshots is
   * still the Lease holder of b.
   */
  describe("c4. DNC routes and contact-list snapshots (issue 21)", () => {
    const writer = { ...OTHER_WRITER, mode: 0o644 };
    const folder = (...parts: string[]) => path.join(volumeDir, ...parts);
    const dncRoute = path.join("dnc", "opt-outs");
    const added = `opt-outs-${id}.csv`;
    const lifted = `lifted-${id}.txt`;
    /** The expiry the file asks for, and the minute Genesys keeps: rounded up, never before. */
    const expiry = { asked: "2031-03-31T18:00:30+01:00", kept: Date.parse("2031-03-31T17:01:00Z") };
    const lists = folder("outbox", "lists");
    /** Every pod's /metrics as Prometheus finds them, by pod name. */
    const scrape = async () => {
      const monitors = await list("servicemonitors.monitoring.coreos.com", namespace);
      const targets = await serviceMonitorTargets(namespace, monitors[0]!.metadata.name);
      return Promise.all(
        targets.map(async (target) => ({ pod: target.pod!, body: (await httpGet(target.url)).body })),
      );
    };
    const onRoute = (route: string, outcome?: string) => (labels: string) =>
      labels.includes(`route="${route}"`) &&
      (outcome === undefined || labels.includes(`outcome="${outcome}"`));
    /** The published snapshots of a route in outbox/lists/, oldest first, with when each was started. */
    const snapshots = (route: string) =>
      (existsSync(lists) ? readdirSync(lists) : [])
        .flatMap((name) => {
          const stamp = new RegExp(
            `^${route}-(\\d{4}-\\d\\d-\\d\\d)T(\\d\\d)-(\\d\\d)-(\\d\\d)-(\\d{3})Z\\.csv$`,
          ).exec(name);
          return stamp
            ? [{ name, atMs: Date.parse(`${stamp[1]}T${stamp[2]}:${stamp[3]}:${stamp[4]}.${stamp[5]}Z`) }]
            : [];
        })
        .sort((a, b) => a.atMs - b.atMs);
    /** A snapshot's rows by contact id (Genesys' export: a byte-order mark, every field quoted). */
    const readSnapshot = (name: string) => {
      const [header, ...rows] = readFileSync(path.join(lists, name), "utf8")
        .replace(/^\uFEFF/, "")
        .split(/\r?\n/)
        .filter(Boolean)
        .map((line) => [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((field) => field[1]!.replace(/""/g, '"')));
      const byId = new Map(
        rows.map((row) => [
          row[0]!,
          Object.fromEntries(header!.map((column, index) => [column, row[index]])),
        ]),
      );
      return { header: header!, byId };
    };
    const partials = () =>
      existsSync(lists) ? readdirSync(lists).filter((name) => name.endsWith(".partial")) : [];

    it("the service lays out dnc/opt-outs/ once it finds the DNC list by its name", async () => {
      await waitFor(
        async () => ["add", "remove"].every((lane) => existsSync(folder(dncRoute, lane))) || undefined,
        { timeoutMs: 60_000, intervalMs: 500, what: "dnc/opt-outs/add/ and remove/" },
      );
      expect(existsSync(folder("inbox", "opt-outs")), "a DNC route has no inbox/ folder").to.equal(false);
    });

    it("a CRM's opt-outs in dnc/opt-outs/add/ reach the DNC list in E.164 (GB), one with its expiry to the minute; the bad line is reported in rejects/dnc/opt-outs/", async () => {
      const content = [
        "Phone,Opted out until,Reason",
        "07911 200001,,phoned in",
        `07911 200002,${expiry.asked},until the contract ends`,
        "n/a,,web form",
        "07911-200003,,web form",
        "",
      ].join("\n");
      dropAs(folder(dncRoute, "add"), added, content, writer);
      const summary = await waitFor(async () => archivedSummary<DncSummary>(volumeDir, added, dncRoute), {
        timeoutMs: 2 * 60_000,
        intervalMs: 1_000,
        what: `${dncRoute}/${added} archived with its summary`,
      });
      expect(summary).to.deep.include({
        status: "imported_with_rejects",
        rowsRead: 4,
        rejected: 1,
        synced: 3,
      });
      expect(summary.dnc).to.deep.equal({
        dncListId: optOutsList.id,
        action: "add",
        entries: "phone",
        applied: 3,
        withExpiry: 1,
      });
      expect(
        sim
          .dncEntries(optOutsList.id!)
          .map(({ value, expiresAtMs }) => ({ value, expiresAtMs }))
          .sort((a, b) => a.value.localeCompare(b.value)),
        "the simulator's DNC list",
      ).to.deep.equal([
        { value: "+447911200001", expiresAtMs: undefined },
        { value: "+447911200002", expiresAtMs: expiry.kept },
        { value: "+447911200003", expiresAtMs: undefined },
      ]);
      for (const number of ["+447911200001", "+447911200002", "+447911200003"])
        expect(sim.isOnDnc(optOutsList.id!, number), number).to.equal(true);

      const reports = readdirSync(folder("rejects", dncRoute)).filter((entry) =>
        entry.endsWith(`-${added}.rejects.csv`),
      );
      expect(reports, "rejects/dnc/opt-outs/<time>-<name>.rejects.csv").to.have.length(1);
      const report = readFileSync(folder("rejects", dncRoute, reports[0]!), "utf8")
        .split("\n")
        .filter(Boolean);
      expect(report, "the header and the bad line").to.have.length(2);
      expect(report[1]).to.match(/^4,/).and.to.contain("n/a").and.to.contain("not a valid phone number");
      await expectArchivedAsWritten(added, writer, dncRoute);
    });

    it("a file in dnc/opt-outs/remove/ takes its number off the list; the others stay", async () => {
      // Dropped once the addition is archived, so the check reads the same whichever pod takes it.
      dropAs(folder(dncRoute, "remove"), lifted, "07911 200003\n", writer);
      const summary = await waitFor(async () => archivedSummary<DncSummary>(volumeDir, lifted, dncRoute), {
        timeoutMs: 2 * 60_000,
        intervalMs: 1_000,
        what: `${dncRoute}/${lifted} archived with its summary`,
      });
      expect(summary).to.deep.include({ status: "removed", rowsRead: 1, rejected: 0 });
      expect(summary.dnc).to.deep.include({ dncListId: optOutsList.id, action: "remove", applied: 1 });
      expect(sim.isOnDnc(optOutsList.id!, "+447911200003"), "lifted").to.equal(false);
      expect(
        sim
          .dncEntries(optOutsList.id!)
          .map((entry) => entry.value)
          .sort(),
      ).to.deep.equal(["+447911200001", "+447911200002"]);
    });

    it("while snapshots are on, the stack lets the pods reach the download host and the service names it as the one extra host", async () => {
      const outputs = await stack.outputs();
      const destinations = outputs.egressDestinations as { downloadCidrs: string[] };
      expect(destinations.downloadCidrs, "egress.downloadCidrs, snapshots direct").to.deep.equal([
        `${env.hostAddress}/32`,
      ]);
      const policy = await getJson(["get", "networkpolicy", "genesys-network-egress", "-n", namespace]);
      const rules = policy.spec.egress as Array<{
        to: Array<{ ipBlock?: { cidr: string } }>;
        ports: Array<{ port: number }>;
      }>;
      // HTTPS 443, as api-downloads.<domain> answers; the simulator's second port is not 443, which
      // the kit's CNI lets through since it enforces nothing.
      expect(
        rules.some(
          (rule) =>
            rule.to.some((peer) => peer.ipBlock?.cidr === `${env.hostAddress}/32`) &&
            rule.ports.some((port) => port.port === 443),
        ),
        "a rule to the download host on 443",
      ).to.equal(true);
      const configMap = await getJson(["get", "configmap", release, "-n", namespace]);
      expect(configMap.data).to.deep.include({
        EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS: String(snapshotIntervalSeconds),
        EXPORT_LIST_SNAPSHOT_KEEP: String(snapshotKeep),
        EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS: new URL(sim.downloadBaseUrl).host,
      });
    });

    it("the leader publishes the spring list in outbox/lists/ with its columns and the dialer's, a call recorded since included; the default list too; never more than the kept number, no partial left", async () => {
      const spring = sim.contacts(springList.id);
      expect(spring.size, "c3's spring contacts").to.be.above(0);
      const [called] = [...spring.keys()].sort();
      const calledAt = Date.now() - 5 * 60_000;
      sim.recordCall(springList.id!, called!, {
        column: "MobilePhone",
        atMs: calledAt,
        result: "ININ-OUTBOUND-NO-ANSWER",
        callable: false,
      });
      const recordedAt = Date.now();
      // Every spring snapshot seen on the way, to tell that older ones were removed.
      const seen = new Set<string>();
      const look = () => {
        for (const snapshot of snapshots("spring")) seen.add(snapshot.name);
      };
      const taken = await waitFor(
        async () => {
          look();
          return snapshots("spring").find((snapshot) => snapshot.atMs > recordedAt);
        },
        {
          timeoutMs: (snapshotIntervalSeconds + 90) * 1_000,
          intervalMs: 1_000,
          what: "a spring snapshot started after the call was recorded",
        },
      );
      const { header, byId } = readSnapshot(taken.name);
      expect(header.slice(0, 4), "the contact's id, then the list's columns").to.deep.equal([
        "inin-outbound-id",
        ...springList.columnNames,
      ]);
      expect(header, "the dialer's system columns").to.include.members([
        "ContactCallable",
        "CallRecordLastAttempt-MobilePhone",
        "CallRecordLastResult-MobilePhone",
        "Callable-MobilePhone",
      ]);
      expect([...byId.keys()].sort(), "every spring contact, once").to.deep.equal([...spring.keys()].sort());
      expect(byId.get(called!), "the contact called").to.deep.include({
        MobilePhone: spring.get(called!)!.data.MobilePhone,
        "CallRecordLastResult-MobilePhone": "ININ-OUTBOUND-NO-ANSWER",
        "CallRecordLastAttempt-MobilePhone": new Date(calledAt).toISOString(),
        "Callable-MobilePhone": "0",
      });
      const other = [...byId.keys()].find((contactId) => contactId !== called)!;
      expect(byId.get(other)!["CallRecordLastResult-MobilePhone"], "a contact never called").to.equal("");
      expect(ownerOf(path.join(lists, taken.name)).uid, "written by the pods").to.equal(await podsUid());

      // The default route's list, with the contacts c and c3 put in it.
      const defaults = sim.contacts(contactListId);
      const latestDefault = await waitFor(
        async () => {
          look();
          const newest = snapshots("default").at(-1);
          return newest && newest.atMs > recordedAt ? newest : undefined;
        },
        { timeoutMs: (snapshotIntervalSeconds + 90) * 1_000, intervalMs: 1_000, what: "a default snapshot" },
      );
      const defaultSnapshot = readSnapshot(latestDefault.name);
      expect(defaultSnapshot.header[0]).to.equal("inin-outbound-id");
      expect(defaultSnapshot.header).to.include("ContactCallable");
      expect(defaultSnapshot.byId.size, "the default list's contacts").to.equal(defaults.size);

      // The schedule goes on: each newer spring snapshot removes the oldest beyond the kept number.
      await waitFor(
        async () => {
          look();
          return seen.size > snapshotKeep || undefined;
        },
        {
          timeoutMs: (2 * snapshotIntervalSeconds + 90) * 1_000,
          intervalMs: 1_000,
          what: `more spring snapshots over time than the ${snapshotKeep} kept`,
        },
      );
      // Between two snapshots (one under way is a dot-named partial, and the newest is renamed in
      // a moment before the oldest goes): the kept number of each route, and no partial left.
      await waitFor(
        async () =>
          (partials().length === 0 &&
            ["default", "spring", "renewals"].every((route) => snapshots(route).length === snapshotKeep)) ||
          undefined,
        {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: `${snapshotKeep} snapshots a route and no .partial in outbox/lists/`,
        },
      );
      const kept = snapshots("spring").map((snapshot) => snapshot.name);
      for (const name of kept) seen.add(name);
      expect(kept, "the newest kept, the older ones removed").to.deep.equal(
        [...seen].sort().slice(-snapshotKeep),
      );
    });

    it("only the Lease holder started exports and downloaded them, and the download host never saw the bearer token", async () => {
      const holder = (await lease()).holderIdentity;
      const leader = (await readyPods()).find((pod) => pod.metadata.name === holder);
      expect(leader, "the Lease holder is a Ready pod").to.not.equal(undefined);
      expect(sim.clientAddresses("POST /api/v2/outbound/contactlists/{id}/export")).to.deep.equal([
        podIp(leader!),
      ]);
      expect(
        sim.clientAddresses("GET /exports/{downloadId}/{file}"),
        "the download host's callers",
      ).to.deep.equal([podIp(leader!)]);
      const stats = sim.stats();
      expect(stats.downloadsCompleted, "downloads from the second host").to.be.at.least(2);
      expect(stats.downloadsWithAuthorization, "requests to the download host with Authorization").to.equal(
        0,
      );
    });

    it("/metrics: the DNC route's series under its name, and export_list_snapshots_total on the leader alone", async () => {
      const pods = await scrape();
      const total = (name: string, wanted: (labels: string) => boolean) =>
        pods.reduce((sum, { body }) => sum + metricSum(body, name, wanted), 0);
      expect(total("import_dnc_entries_total", onRoute("opt-outs", "read")), "read").to.equal(5);
      expect(total("import_dnc_entries_total", onRoute("opt-outs", "rejected")), "rejected").to.equal(1);
      expect(total("import_dnc_entries_total", onRoute("opt-outs", "added")), "added").to.equal(3);
      expect(total("import_dnc_entries_total", onRoute("opt-outs", "removed")), "removed").to.equal(1);
      expect(total("import_files_total", onRoute("opt-outs", "imported_with_rejects"))).to.equal(1);
      expect(total("import_files_total", onRoute("opt-outs", "removed"))).to.equal(1);
      for (const { pod, body } of pods) {
        const blocked = body
          .split("\n")
          .filter(
            (line) =>
              line.startsWith("import_target_blocked{") &&
              line.includes('route="opt-outs"') &&
              line.includes(`contact_list="${optOutsList.id}"`),
          );
        expect(blocked, `${pod}: import_target_blocked of opt-outs, its DNC list`).to.deep.equal([
          `import_target_blocked{contact_list="${optOutsList.id}",route="opt-outs"} 0`,
        ]);
      }

      const holder = (await lease()).holderIdentity;
      for (const { pod, body } of pods) {
        const ok = (route: string) => metricSum(body, "export_list_snapshots_total", onRoute(route, "ok"));
        if (pod === holder) {
          for (const route of ["default", "spring", "renewals"])
            expect(ok(route), `${pod} (the leader): ${route} snapshots`).to.be.at.least(1);
          expect(
            metricSum(body, "export_list_snapshots_total", (labels) => !labels.includes('outcome="ok"')),
            `${pod}: snapshots that failed`,
          ).to.equal(0);
        } else {
          expect(metricSum(body, "export_list_snapshots_total"), `${pod} does not lead: none`).to.equal(0);
        }
      }
      expect(
        pods.some(({ body }) => body.includes("export_list_snapshots_total{")),
        "the series is there",
      ).to.equal(true);
    });
  });

  describe("d. leader election on the real Lease API", () => {
    it("exactly one poller runs: the Lease holder, the one pod that says it leads, the only one that queried", async () => {
      const holder = (await lease()).holderIdentity;
      const pods = await readyPods();
      expect(pods.map((pod) => pod.metadata.name)).to.include(holder);
      const leaders: string[] = [];
      for (const pod of pods) {
        const metrics = await httpGet(`http://${podIp(pod)}:8080/metrics`);
        if (metricSum(metrics.body, "export_leader") === 1) leaders.push(pod.metadata.name);
      }
      expect(leaders).to.deep.equal([holder]);
      const queriers = sim.clientAddresses("POST /api/v2/analytics/conversations/details/query");
      const leaderIp = podIp(pods.find((pod) => pod.metadata.name === holder)!);
      expect(queriers).to.deep.equal([leaderIp]);
    });

    it("deleting the leader pod moves the Lease within the lease duration plus one retry; nothing is exported twice", async () => {
      const before = await lease();
      const deletedAt = Date.now();
      await kubectl(["delete", "pod", before.holderIdentity!, "-n", namespace, "--wait=false"]);
      const next = await waitFor(
        async () => {
          const current = await lease();
          return current.holderIdentity && current.holderIdentity !== before.holderIdentity
            ? current
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: "another holder of the Lease" },
      );
      const movedAfterMs = Date.now() - deletedAt;
      // The leader hands the Lease back as it shuts down, so whichever live pod asks first takes
      // it: the survivor, or the Deployment's replacement if it starts within a retry period.
      const live = (await releasePods(namespace, release))
        .filter((pod) => !pod.metadata.deletionTimestamp)
        .map((pod) => pod.metadata.name);
      expect(live).to.include(next.holderIdentity);
      expect(movedAfterMs, "lease duration + retry period").to.be.below(
        (before.leaseDurationSeconds + 2) * 1_000,
      );

      seed("after-takeover", 15);
      await seededInOutbox("the conversations seeded after the takeover");
      // The contact-list snapshots (c4) follow the Lease: the new holder publishes the next ones,
      // and a download the deleted leader had under way left no partial behind.
      const newLeader = (await releasePods(namespace, release)).find(
        (pod) => pod.metadata.name === next.holderIdentity,
      )!;
      const lists = path.join(volumeDir, "outbox", "lists");
      await waitFor(
        async () => {
          const names = readdirSync(lists);
          return (
            (sim
              .clientAddresses("POST /api/v2/outbound/contactlists/{id}/export")
              .includes(podIp(newLeader)) &&
              names.some(
                (name) => name.startsWith("spring-") && statSync(path.join(lists, name)).mtimeMs > deletedAt,
              ) &&
              !names.some((name) => name.endsWith(".partial"))) ||
            undefined
          );
        },
        {
          timeoutMs: 3 * 60_000,
          intervalMs: 500,
          what: "a spring snapshot by the new Lease holder, no partial left",
        },
      );
      const ids = outboxIds();
      expect(ids.length, "every conversation exactly once").to.equal(new Set(ids).size);
      expect(new Set(ids)).to.deep.equal(new Set(seeded));
    });
  });

  // After d, not beside c: deleting the claimer may delete the leader, and d asserts that the first
  // leader is the only pod that ever queried Genesys for conversations.
  describe("c2. an import that outlives its pod (issue 23)", () => {
    /**
     * The simulator answers every request this much later, so that one pod (4 batches of 1,000 in
     * flight) takes about half a minute over 50,000 rows and a pod deletion lands in the middle.
     * Pacing through the stack's settings would roll the pods; this changes nothing deployed.
     */
    const PACED_LATENCY_MS = 2_500;

    it("the pod holding the claim on a 50,000-row file of another uid is deleted midway: the survivor or the replacement finishes it, every good row arrives, at most the batches in flight twice", async () => {
      await twoReadyPods("after the leader's deletion in d");
      const name = `midway-${id}.csv`;
      const file = generateCsv(50_000, { badEvery: 1_000, idPrefix: `e2e-midway-${id}-` });
      const writer = { ...OTHER_WRITER, mode: 0o666 };
      const configMap = await getJson(["get", "configmap", release, "-n", namespace]);
      const batchesInFlight = Number(configMap.data?.IMPORT_BATCHES_IN_FLIGHT);
      const claimTimeoutSeconds = Number(configMap.data?.IMPORT_CLAIM_TIMEOUT_SECONDS);
      expect(batchesInFlight, "IMPORT_BATCHES_IN_FLIGHT").to.be.above(0);
      const contacts = sim.contacts(contactListId);
      const arrived = () =>
        file.goodIds.reduce((count, contactId) => count + (contacts.has(contactId) ? 1 : 0), 0);

      sim.faults.latency(PACED_LATENCY_MS);
      let deleted: { pod: string; folder: string; arrived: number; atMs: number };
      try {
        dropAs(path.join(volumeDir, "inbox"), name, file.content, writer);
        await waitFor(async () => arrived() >= 10_000, {
          timeoutMs: 3 * 60_000,
          intervalMs: 250,
          what: "10,000 rows of the file in the simulator",
        });
        // The claim is processing/<replica>/<name>, and a replica id starts with its pod's name.
        deleted = await waitFor(
          async () => {
            const [folder] = claimFolders(volumeDir, name);
            const pod = (await releasePods(namespace, release)).find((candidate) =>
              folder?.startsWith(`${candidate.metadata.name}-`),
            );
            return folder && pod
              ? { pod: pod.metadata.name, folder, arrived: arrived(), atMs: Date.now() }
              : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 250, what: `the pod holding the claim on ${name}` },
        );
        expect(deleted.arrived, "the deletion lands in the middle of the file").to.be.below(
          file.goodIds.length,
        );
        await kubectl(["delete", "pod", deleted.pod, "-n", namespace, "--wait=false"]);
        // The pace holds until the deleted pod has let go of the file, so it cannot finish it first.
        await waitFor(async () => !claimFolders(volumeDir, name).includes(deleted.folder), {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: `${deleted.pod} to hand ${name} back as it shuts down`,
        });
      } finally {
        sim.faults.latency(0);
      }
      expect(arrived(), "rows the deleted pod left for the next one").to.be.below(file.goodIds.length);

      const archived = await waitFor(
        async () => {
          const entry = archivedName(volumeDir, name);
          return entry && existsSync(path.join(volumeDir, "archive", `${entry}.summary.json`))
            ? entry
            : undefined;
        },
        { timeoutMs: 4 * 60_000, intervalMs: 1_000, what: `${name} finished and archived` },
      );
      expect(
        Date.now() - deleted.atMs,
        "handed back and taken from the inbox, not taken over after the claim timeout",
      ).to.be.below(claimTimeoutSeconds * 1_000);

      expect(
        file.goodIds.filter((contactId) => !contacts.has(contactId)),
        "good rows missing",
      ).to.deep.equal([]);
      const ours = [...contacts.values()].filter((contact) => contact.id.startsWith(`e2e-midway-${id}-`));
      expect(ours.length, "no bad row got in").to.equal(file.goodIds.length);
      const resent = ours.reduce((sum, contact) => sum + contact.writes, 0) - ours.length;
      expect(resent, "sent twice: at most the batches in flight of the one pod deleted").to.be.at.most(
        batchesInFlight * 1_000 * 1,
      );

      const summary = JSON.parse(
        readFileSync(path.join(volumeDir, "archive", `${archived}.summary.json`), "utf8"),
      ) as { status: string; rowsRead: number; rejected: number; synced: number; alreadySynced: number };
      expect(summary).to.deep.include({
        status: "imported_with_rejects",
        rowsRead: 50_000,
        rejected: file.badLines.length,
      });
      expect(summary.synced + summary.alreadySynced).to.equal(file.goodIds.length);
      expect(
        summary.alreadySynced,
        "resumed after the batches the deleted pod's journal lists",
      ).to.be.at.least(deleted.arrived - batchesInFlight * 1_000);
      const reports = readdirSync(path.join(volumeDir, "rejects")).filter((entry) =>
        entry.endsWith(`-${name}.rejects.csv`),
      );
      expect(reports, "one rejects report").to.have.length(1);
      expect(
        readFileSync(path.join(volumeDir, "rejects", reports[0]!), "utf8")
          .split("\n")
          .filter(Boolean),
        "each bad row once, under the header",
      ).to.have.length(file.badLines.length + 1);
      await expectArchivedAsWritten(name, writer);
      expect(claimFolders(volumeDir, name), "nothing left in processing/").to.deep.equal([]);

      // Which pod finished it: a live one (the survivor or the Deployment's replacement) says so.
      const pods = await twoReadyPods("the deleted pod replaced");
      const finishers: string[] = [];
      for (const pod of pods) {
        const log = await kubectl(["logs", pod.metadata.name, "-n", namespace], { timeoutMs: 60_000 });
        const imported = log.split("\n").some((line) => {
          let entry: { file?: string; msg?: string };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            return false; // not one of the service's JSON lines
          }
          return entry.file === name && entry.msg?.startsWith("file imported") === true;
        });
        if (imported) finishers.push(pod.metadata.name);
      }
      expect(finishers, "one live pod finished the file").to.have.length(1);
      expect(finishers).not.to.include(deleted.pod);
    });
  });

  describe("e. day two", () => {
    /** Steps on Kubernetes objects that change something: not reads, components or providers. */
    const objectType = (step: PreviewStep) =>
      (step.newState?.type ?? step.oldState?.type ?? step.urn.split("::")[2]!.split("$").pop()!)
        .split(":")
        .slice(1)
        .join(":");
    const changedObjects = (plan: PreviewPlan) =>
      plan.steps.filter((step) => {
        const type = step.urn.split("::")[2]!.split("$").pop()!;
        return (
          step.op !== "same" &&
          step.op !== "read" &&
          type.startsWith("kubernetes:") &&
          type !== "kubernetes:helm.sh/v4:Chart"
        );
      });
    const uids = async () => {
      const out: Record<string, string> = {};
      for (const [kind, name] of [
        ["namespace", namespace],
        ["service", release],
        ["pvc", "genesys-sync-data"],
        ["networkpolicy", "genesys-network-egress"],
        ["servicemonitors.monitoring.coreos.com", "genesys-monitoring"],
        ["deployment", release],
      ] as const) {
        const object = await find(kind, name, kind === "namespace" ? undefined : namespace);
        out[`${kind}/${name}`] = object?.metadata.uid ?? "missing";
      }
      return out;
    };

    it("a second pulumi up changes nothing", async () => {
      const { code, plan, raw } = await stack.previewJson(["--expect-no-changes"]);
      expect(code, `${raw.stdout}\n${raw.stderr}`).to.equal(0);
      expect(changedObjects(plan).map((step) => `${step.op} ${step.urn}`)).to.deep.equal([]);
    });

    it("a config change rolls the pods and changes nothing else", async () => {
      const podsBefore = (await readyPods()).map((pod) => pod.metadata.name);
      const uidsBefore = await uids();
      const values = config["genesys-middleware-stack:values"] as { genesys: object };
      config = {
        ...config,
        "genesys-middleware-stack:values": {
          ...values,
          genesys: { ...values.genesys, pollingIntervalSeconds: 45 },
        },
      };
      stack.writeConfig(config);
      const { plan } = await stack.previewJson();
      // The provider replaces a ConfigMap whose data changes (its default, so that pods that read
      // it roll); the Deployment's checksum/config annotation changes with it. Nothing else moves.
      expect(
        changedObjects(plan)
          .map((step) => `${step.op} ${objectType(step)}`)
          .sort(),
      ).to.deep.equal(["replace core/v1:ConfigMap", "update apps/v1:Deployment"]);

      await stack.up();
      // The HPA owns the replica count, so the provider's rollout wait does not cover both pods
      // (as in "b. up"): `up` may return while the rollout is under way. Both old pods must go.
      const podsAfter = await waitFor(
        async () => {
          const names = (await readyPods()).map((pod) => pod.metadata.name);
          return names.length === 2 && names.every((name) => !podsBefore.includes(name)) ? names : undefined;
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1_000, what: "two Ready pods, both new (every pod replaced)" },
      );
      expect(podsAfter).to.have.length(2);
      expect(await uids()).to.deep.equal(uidsBefore);
      const configMap = await getJson(["get", "configmap", release, "-n", namespace]);
      expect(configMap.data?.POLLING_INTERVAL_SECONDS).to.equal("45");
    });

    it("through an HTTP CONNECT proxy: the pods become Ready with only the proxy as their path", async () => {
      config = {
        ...config,
        "genesys-middleware-stack:network": { caBundle: caPem, httpsProxy: proxy.url },
      };
      stack.writeConfig(config);
      await stack.up();
      const pods = await readyPods();
      expect(pods).to.have.length(2);
      const tunnels = proxy.tunnels.map((tunnel) => `${tunnel.client} -> ${tunnel.target}`);
      const login = new URL(sim.loginBaseUrl).host;
      for (const pod of pods) {
        expect(tunnels, `${pod.metadata.name} fetched its token through the proxy`).to.include(
          `${podIp(pod)} -> ${login}`,
        );
      }
      // The egress policy now lets the pods reach the proxy, and Genesys only through it.
      const outputs = await stack.outputs();
      const destinations = outputs.egressDestinations as {
        genesysCidrs: string[];
        proxy?: { cidrs: string[]; port: number };
      };
      expect(destinations.genesysCidrs).to.deep.equal([]);
      expect(destinations.proxy).to.deep.equal({ cidrs: [`${env.hostAddress}/32`], port: proxy.port });
      const policy = await getJson(["get", "networkpolicy", "genesys-network-egress", "-n", namespace]);
      const toHost = (
        policy.spec.egress as Array<{
          to: Array<{ ipBlock?: { cidr: string } }>;
          ports: Array<{ port: number }>;
        }>
      )
        .filter((rule) => rule.to.some((peer) => peer.ipBlock?.cidr === `${env.hostAddress}/32`))
        .flatMap((rule) => rule.ports.map((port) => port.port));
      expect(toHost, "the proxy's port only, no direct HTTPS to Genesys").to.deep.equal([proxy.port]);
    });
  });

  describe("f. platform-team flow", () => {
    it("a second project reads this stack's outputs through a StackReference on the same backend", async () => {
      const consumer = workspace.stack(path.join(__dirname, "fixtures/consumer"), `consumer-${id}`);
      await consumer.init();
      consumer.writeConfig({
        "genesys-e2e-consumer:middlewareStack": `organization/genesys-middleware-stack/e2e-${id}`,
        "genesys-e2e-consumer:namespace": `${namespace}-consumer`,
      });
      try {
        await consumer.up();
        const mine = await stack.outputs();
        const theirs = await consumer.outputs();
        expect(theirs.readNamespace).to.equal(namespace);
        expect(theirs.readEgress).to.deep.equal(mine.egressDestinations);
        const written = await getJson([
          "get",
          "configmap",
          "genesys-sync-targets",
          "-n",
          `${namespace}-consumer`,
        ]);
        expect(written.data?.metricsEndpoint).to.equal(mine.metricsEndpoint);
        // The externalSecret mode has no secret output of its own: the webhook password stays in Vault.
        expect(theirs.readWebhookPassword).to.equal(undefined);
      } finally {
        await consumer.run(["destroy", "--yes", "--skip-preview"]);
        await consumer.remove();
      }
    });

    it("the platform stack's secret kubeconfig stays secret through the StackReference", async () => {
      const plain = await platform.outputs();
      expect(plain.kubeconfig).to.equal("[secret]");
      const state = await stack.exportState();
      // Any line of the kubeconfig (its server, its credentials or their paths) in plain text
      // would mean the secret leaked into this stack's state.
      const kubeconfig = readFileSync(env.kubeconfig, "utf8");
      const longest = kubeconfig
        .split("\n")
        .map((line) => line.trim())
        .sort((a, b) => b.length - a.length)[0]!;
      expect(longest.length).to.be.greaterThan(20);
      expect(state).not.to.contain(longest);
      const provider = (
        JSON.parse(state) as {
          deployment: { resources: Array<{ type: string; inputs?: Record<string, unknown> }> };
        }
      ).deployment.resources.find(
        (resource) =>
          resource.type === "pulumi:providers:kubernetes" && resource.inputs?.kubeconfig !== undefined,
      );
      expect(JSON.stringify(provider?.inputs?.kubeconfig)).to.contain("ciphertext");
    });
  });

  describe("e. day two: destroy", () => {
    it("pulumi destroy leaves no object behind", async () => {
      await stack.destroy();
      destroyed = true;
      await waitFor(async () => ((await find("namespace", namespace)) === undefined ? true : undefined), {
        timeoutMs: 3 * 60_000,
        intervalMs: 1_000,
        what: `namespace ${namespace} to be gone`,
      });
      const left = await kubectl([
        "get",
        "all,configmaps,secrets,leases,roles,rolebindings,serviceaccounts,networkpolicies,pvc,clusterroles,clusterrolebindings,pv",
        "--all-namespaces",
        "-l",
        `app.kubernetes.io/instance=${release}`,
        "-o",
        "name",
      ]);
      expect(left.trim()).to.equal("");
      const pv = await getJson(["get", "pv", volumeName]);
      expect(pv.status.phase, "the claim is gone; the volume is the test's own").to.be.oneOf([
        "Released",
        "Available",
      ]);
    });
  });
});
