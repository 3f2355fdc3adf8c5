import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");

export const readme = () => Bun.file(resolve(ROOT, "README.md")).text();

/** The bodies of the README's fenced blocks whose info string is exactly `info`. */
export function fencedBlocks(markdown: string, info: string): string[] {
  const blocks: string[] = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(re)) if (m[1]?.trim() === info) blocks.push(m[2] ?? "");
  return blocks;
}
