import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";

/** Static checks of the service image recipe; CI builds and runs the image itself. */

const root = path.resolve(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

/** The Dockerfile's instructions: continuation lines joined, comments and blank lines dropped. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** The .dockerignore patterns, in order. */
function ignorePatterns(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

const dockerfile = instructions(read("app/Dockerfile"));
const dockerignore = ignorePatterns(read(".dockerignore"));

/** The paths COPY takes from the build context (not from another stage). */
function contextSources(): string[] {
  return dockerfile
    .filter((line) => /^COPY\s/.test(line) && !/--from=/.test(line))
    .flatMap((line) => {
      const words = line.split(/\s+/).slice(1);
      const paths = words.filter((word) => !word.startsWith("--"));
      return paths.slice(0, -1);
    });
}

describe("service image recipe", () => {
  it("pins node:24-bookworm-slim by digest and builds every stage on it", () => {
    const arg = dockerfile.find((line) => line.startsWith("ARG NODE_IMAGE="));
    expect(arg).to.match(/^ARG NODE_IMAGE=node:24-bookworm-slim@sha256:[0-9a-f]{64}$/);
    const bases = dockerfile.filter((line) => line.startsWith("FROM ")).map((line) => line.split(/\s+/)[1]);
    expect(bases.length).to.be.greaterThan(0);
    // scratch is the empty image the runtime stage fills from the base without its package managers
    for (const base of bases) expect(base).to.be.oneOf(["${NODE_IMAGE}", "scratch"]);
  });

  it("runs node on the compiled entry point as uid 500, in production mode", () => {
    expect(dockerfile).to.include('CMD ["node", "dist/main.js"]');
    expect(dockerfile).to.include("USER 500:500");
    expect(dockerfile).to.include("ENV NODE_ENV=production");
  });

  it("sends only what the Dockerfile copies as build context", () => {
    expect(dockerignore[0], "the first pattern leaves everything out").to.equal("*");
    const letBackIn = dockerignore.filter((pattern) => pattern.startsWith("!")).map((p) => p.slice(1));
    expect([...letBackIn].sort()).to.deep.equal([...new Set(contextSources())].sort());
    for (const kept of letBackIn) {
      expect(kept).to.not.match(/(^|\/)(\.git|node_modules|dist|\.ci|test)(\/|$)/);
    }
  });

  it("compiles only the service's entry point and what it imports, without maps or declarations", () => {
    const tsconfig = JSON.parse(read("app/tsconfig.build.json"));
    expect(tsconfig.files).to.deep.equal(["src/main.ts"]);
    expect(tsconfig.include).to.deep.equal([]);
    expect(tsconfig.compilerOptions).to.include({ sourceMap: false, declaration: false, outDir: "dist" });
    expect(JSON.parse(read("app/package.json")).main).to.equal("dist/main.js");
  });
});
