/**
 * The Deno and Workers probe bundles carry every dependency inside: their text imports nothing
 * (no npm:, jsr:, URL or relative specifier a runtime would fetch or resolve). test/edges/ runs the
 * same bundles in Deno (from a directory holding only the bundle) and in workerd.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { bundleDenoProbe, bundleWorker } from "../edges/runtimes.ts";
import { removeAll } from "./support.ts";

const dirs: string[] = [];
afterAll(() => removeAll(dirs));

/** Every module specifier a bundle's text imports, statically or dynamically (minified or not). */
function specifiers(text: string): string[] {
  const found = [
    ...text.matchAll(
      /(?:^|[;}\s])(?:import|export)\s*(?:[^"'`;()]*?\sfrom\s*|[^"'`;()]*?from)?\s*["']([^"']+)["']/g,
    ),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((match) => match[1] ?? "");
}

describe("the probe bundles for Deno Deploy and Cloudflare Workers", () => {
  it("finds the imports of a bundle that has some (so an empty answer means something)", () => {
    expect(specifiers('import{a as b}from"npm:zod";export*from "./x.js";import("https://e.x/y")')).toEqual([
      "npm:zod",
      "./x.js",
      "https://e.x/y",
    ]);
  });

  it("the Deno bundle (npm run build:deno-probe) imports nothing", async () => {
    const bundle = await bundleDenoProbe();
    dirs.push(bundle.dir);
    expect(specifiers(readFileSync(bundle.file, "utf8"))).toEqual([]);
  }, 60_000);

  it("the Workers bundle (wrangler deploy --dry-run) imports nothing", async () => {
    const bundle = await bundleWorker();
    dirs.push(bundle.dir);
    expect(specifiers(readFileSync(bundle.file, "utf8"))).toEqual([]);
  }, 60_000);
});
