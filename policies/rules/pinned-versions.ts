import { containersOf, defineRule, podSpecs, type Violation } from "../lib";

export default defineRule<{ requireDigest: boolean }>({
  name: "pinned-versions",
  description:
    "Checks that charts are pinned to a version and images to a tag other than latest (and a digest where required).",
  configSchema: { properties: { requireDigest: { type: "boolean", default: false } } },
  defaults: { requireDigest: false },
  check(input, config) {
    const violations: Violation[] = [];
    for (const chart of input.charts) {
      const fromRepository =
        chart.chart !== undefined && !chart.chart.startsWith("/") && !chart.chart.startsWith(".");
      if (fromRepository && !chart.version) {
        violations.push({
          chart: chart.name,
          message: `Chart ${chart.name} (${chart.chart}) has no version: every preview may deploy a different chart. Pin version.`,
        });
      }
    }
    for (const { object, spec } of podSpecs(input.objects)) {
      for (const container of containersOf(spec)) {
        const image: string = container.image ?? "";
        const [withoutDigest, digest] = image.split("@");
        const lastSegment = withoutDigest!.split("/").pop() ?? "";
        const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
        if (!digest && (tag === undefined || tag === "latest")) {
          violations.push({
            object,
            message: `Container ${container.name} uses image ${image || "(none)"} ${tag === "latest" ? "tagged latest" : "without a tag"}: rollbacks and audits need a fixed version. Pin a version tag.`,
          });
        } else if (config.requireDigest && !digest) {
          violations.push({
            object,
            message: `Container ${container.name} uses ${image} without a digest; this stack requires images pinned by digest (image.digest), so a retagged image cannot slip in.`,
          });
        }
      }
    }
    return violations;
  },
});
