#!/usr/bin/env node
// Gets a fresh machine that has only Node.js and npm ready to build and run Qeynos, then runs a
// deno.json task:   node scripts/bootstrap.mjs <task> [args...]
//
// 1. The pinned toolchain (Deno, Bun, just; exact versions in scripts/toolchain/) is installed with npm into a
//    per-user cache, never into the project's node_modules (a Deno installed there breaks `deno task`).
//    QEYNOS_TOOLCHAIN_DIR overrides the cache location.
// 2. The project's dependencies are installed from bun.lockb with `bun install --frozen-lockfile`.
// 3. `deno task <task> [args...]` runs with the toolchain first on PATH.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const manifestDir = join(root, "scripts", "toolchain");

function say(message) {
  process.stderr.write(`bootstrap: ${message}\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw new Error(`Cannot run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

function ensureToolchain() {
  const manifest = readFileSync(join(manifestDir, "package.json"));
  const lock = readFileSync(join(manifestDir, "package-lock.json"));
  const digest = createHash("sha256").update(manifest).update(lock).digest("hex").slice(0, 12);
  const cache = process.env.QEYNOS_TOOLCHAIN_DIR ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "qeynos", "toolchain");
  const dir = join(cache, digest);
  const bin = join(dir, "node_modules", ".bin");
  if (existsSync(join(dir, "ready"))) return bin;

  say(`installing the pinned toolchain (deno, bun, just) into ${dir}`);
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  copyFileSync(join(manifestDir, "package.json"), join(staging, "package.json"));
  copyFileSync(join(manifestDir, "package-lock.json"), join(staging, "package-lock.json"));
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  if (run(npm, ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: staging }) !== 0) {
    throw new Error("Cannot install the toolchain: npm install failed (see above)");
  }
  for (const tool of ["deno", "bun", "just"]) {
    if (run(join(staging, "node_modules", ".bin", tool), ["--version"], { stdio: "ignore" }) !== 0) {
      throw new Error(`Cannot install the toolchain: ${tool} does not run after installation`);
    }
  }
  writeFileSync(join(staging, "ready"), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return bin;
}

function ensureDependencies(env) {
  const marker = join(root, "node_modules", ".qeynos-installed");
  const lockTime = statSync(join(root, "bun.lockb")).mtimeMs;
  const packageTime = statSync(join(root, "package.json")).mtimeMs;
  if (existsSync(marker) && readFileSync(marker, "utf8") === `${lockTime}:${packageTime}`) return;
  say("installing dependencies from bun.lockb");
  if (run("bun", ["install", "--frozen-lockfile"], { cwd: root, env }) !== 0) {
    throw new Error("Cannot install dependencies: bun install --frozen-lockfile failed (see above)");
  }
  writeFileSync(marker, `${lockTime}:${packageTime}`);
}

try {
  const [task, ...args] = process.argv.slice(2);
  if (task === undefined) throw new Error("Usage: node scripts/bootstrap.mjs <task> [args...]");
  const bin = ensureToolchain();
  const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };
  ensureDependencies(env);
  process.exitCode = run("deno", ["task", "--quiet", task, ...args], { cwd: root, env });
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
