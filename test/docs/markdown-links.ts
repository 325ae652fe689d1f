import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The links of the project's markdown, checked the way a reader of a clone follows them: a
 * relative link must name a file inside the repository, and a `#fragment` a heading of it. Web
 * addresses (http, https, mailto) are left alone; any other scheme, an absolute path or a path
 * that climbs out of the repository is refused, since it breaks for everyone but its writer.
 */

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** `text` with code (fenced blocks, code spans) and HTML comments blanked, line breaks kept. */
function withoutCode(text: string): string {
  const blank = (match: string) => match.replace(/[^\n]/g, " ");
  const lines = text.split("\n");
  let fence: string | undefined;
  const prose = lines.map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return "";
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return "";
    }
    return line;
  });
  return prose
    .join("\n")
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(/(`+)[\s\S]*?\1/g, blank);
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** Every link target in a markdown text: inline links and images, reference definitions, HTML href/src. */
export function linksIn(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const patterns = [
    /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g,
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s<>]+)>?/gm,
    /\b(?:href|src)\s*=\s*["']([^"']+)["']/g,
  ];
  return patterns
    .flatMap((pattern) =>
      [...text.matchAll(pattern)].map((match) => ({ target: match[1]!, index: match.index })),
    )
    .sort((a, b) => a.index - b.index)
    .map(({ target, index }) => ({ target, line: lineAt(text, index) }));
}

/** The anchors GitHub gives a markdown file's headings (and any `id`/`name` set in HTML). */
export function anchorsOf(markdown: string): Set<string> {
  const text = withoutCode(markdown.replace(/`([^`\n]*)`/g, "$1"));
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of text.matchAll(/^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/g))
    anchors.add(match[1]!);
  return anchors;
}

const WEB = /^(?:https?|mailto):/i;
const SCHEME = /^[a-z][a-z\d+.-]*:/i;

/** What is wrong with one link of `file` (relative to `root`), or undefined when it resolves. */
export function problemWith(root: string, file: string, link: Link): string | undefined {
  const where = `${file}:${link.line}: ${link.target}`;
  if (WEB.test(link.target)) return undefined;
  if (SCHEME.test(link.target))
    return `${where} leaves the repository: link to a file in it, or drop the link`;
  const [rawPath = "", fragment] = link.target.split("#", 2);
  if (rawPath.startsWith("/"))
    return `${where} is an absolute path: write it relative to ${path.dirname(file)}/`;
  const target = rawPath === "" ? file : path.join(path.dirname(file), decodeURIComponent(rawPath));
  const absolute = path.resolve(root, target);
  const inside = path.relative(root, absolute);
  if (inside.startsWith("..") || path.isAbsolute(inside) || inside.split(path.sep).includes("node_modules"))
    return `${where} leaves the repository: mention it in plain text instead`;
  if (!existsSync(absolute)) return `${where}: ${inside} does not exist`;
  if (fragment === undefined || fragment === "" || statSync(absolute).isDirectory()) return undefined;
  if (!absolute.endsWith(".md")) return undefined;
  const anchor = decodeURIComponent(fragment).toLowerCase();
  if (!anchorsOf(readFileSync(absolute, "utf8")).has(anchor))
    return `${where}: ${inside} has no heading with the anchor #${anchor}`;
  return undefined;
}

/** Every broken link of the given markdown files (paths relative to `root`). */
export function brokenLinks(root: string, files: readonly string[]): string[] {
  return files.flatMap((file) =>
    linksIn(readFileSync(path.join(root, file), "utf8")).flatMap((link) => {
      const problem = problemWith(root, file, link);
      return problem === undefined ? [] : [problem];
    }),
  );
}

/** The markdown files under `dir` (relative to `root`), recursively, as paths relative to `root`. */
export function markdownFilesUnder(root: string, dir: string): string[] {
  const absolute = path.join(root, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? markdownFilesUnder(root, path.join(dir, entry.name))
        : entry.name.endsWith(".md")
          ? [path.join(dir, entry.name)]
          : [],
    )
    .sort();
}
