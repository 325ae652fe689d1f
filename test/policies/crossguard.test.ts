import { expect } from "chai";
import { stackValidator, type StackResource } from "../../policies/pulumi-adapter";
import { RULES } from "../../policies/rules";
import { compliant, get } from "./fixtures";

/** The CrossGuard adapter, called the way the engine calls validateStack (the PolicyPack itself starts a server, so it is not built here). */
describe("CrossGuard validateStack adapter", () => {
  function asResources(fixture: ReturnType<typeof compliant>): StackResource[] {
    return [
      ...fixture.objects.map((object) => ({
        type: `kubernetes:${object.apiVersion}:${object.kind}`,
        urn: `urn:pulumi:prod::genesys::${object.kind}::${object.metadata!.name}`,
        props: object,
      })),
      {
        type: "kubernetes:helm.sh/v4:Chart",
        urn: "urn:pulumi:prod::genesys::kubernetes:helm.sh/v4:Chart::release",
        props: { name: "genesys-sync", chart: "/repo/app/chart", values: fixture.charts[0]!.values },
      },
      {
        type: "vault:index/policy:Policy",
        urn: "urn:pulumi:prod::genesys::vault:index/policy:Policy::read",
        props: { policy: "path ..." },
      },
    ];
  }
  const rule = (name: string) => RULES.find((candidate) => candidate.name === name)!;
  const run = (name: string, resources: StackResource[], config: object = {}) => {
    const reported: Array<{ message: string; urn: string | undefined }> = [];
    stackValidator(rule(name))(
      { resources, getConfig: <T extends object>() => config as T },
      (message, urn) => reported.push({ message, urn }),
    );
    return reported;
  };

  it("reports nothing for the compliant stack, for every rule", () => {
    for (const candidate of RULES)
      expect(run(candidate.name, asResources(compliant())), candidate.name).to.deep.equal([]);
  });

  it("reports a violation against the URN of the resource at fault", () => {
    const fixture = compliant();
    get(fixture, "HorizontalPodAutoscaler").spec.metrics[0].resource.target.averageUtilization = 25;
    const reported = run("hpa-sane", asResources(fixture));
    expect(reported).to.have.length(1);
    expect(reported[0]!.urn).to.equal("urn:pulumi:prod::genesys::HorizontalPodAutoscaler::genesys-sync");
  });

  it("reads chart values from the helm.v4.Chart resource, and the rule's config from the policy-pack config", () => {
    const fixture = compliant();
    fixture.charts[0]!.values = { auth: { tokenRefreshBufferSeconds: 200 } };
    expect(run("token-refresh-buffer", asResources(fixture))).to.deep.equal([]);
    expect(
      run("token-refresh-buffer", asResources(fixture), { tokenLifetimeSeconds: 300 })[0]!.message,
    ).to.contain("not well below the 300 s token lifetime");
  });
});
