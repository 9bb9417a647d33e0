/**
 * Project lint rules, loaded by `deno lint` (see deno.json).
 *
 * `qeynos/sans-io`: protocol, role and store code must take time, timers and randomness from the
 * injected Platform, or the simulator cannot control them. Flags `Date.now`, `performance.now`,
 * `Math.random`, `crypto.getRandomValues`, `crypto.randomUUID`, `setTimeout`, `setInterval`
 * (and `new Date()` without arguments) in src/wire, src/eqstream, src/servertalk, src/roles, src/store.
 *
 * `qeynos/runtime-quarantine`: `Deno.*` and `Bun.*` only inside src/platform (and the SQLite adapter).
 */
const SANS_IO_DIRS = ["/src/wire/", "/src/eqstream/", "/src/servertalk/", "/src/roles/", "/src/store/"];
const BANNED_MEMBERS: Record<string, string[]> = {
  Date: ["now"],
  performance: ["now"],
  Math: ["random"],
  crypto: ["getRandomValues", "randomUUID"],
};
const BANNED_CALLS = new Set(["setTimeout", "setInterval", "setImmediate", "queueMicrotask"]);

function isSansIo(filename: string): boolean {
  const path = filename.replaceAll("\\", "/");
  return SANS_IO_DIRS.some((dir) => path.includes(dir));
}

function isRuntimeAllowed(filename: string): boolean {
  const path = filename.replaceAll("\\", "/");
  return !path.includes("/src/") || path.includes("/src/platform/") || /\/src\/store\/sqlite[^/]*\.ts$/.test(path);
}

const plugin: Deno.lint.Plugin = {
  name: "qeynos",
  rules: {
    "sans-io": {
      create(context) {
        if (!isSansIo(context.filename)) return {};
        return {
          MemberExpression(node) {
            if (node.object.type !== "Identifier" || node.property.type !== "Identifier") return;
            const object = node.object.name === "globalThis" ? undefined : node.object.name;
            if (object && BANNED_MEMBERS[object]?.includes(node.property.name)) {
              context.report({
                node,
                message:
                  `${object}.${node.property.name} is not allowed in sans-IO code: use the injected Platform (clock, timers, rng)`,
              });
            }
          },
          CallExpression(node) {
            if (node.callee.type === "Identifier" && BANNED_CALLS.has(node.callee.name)) {
              context.report({
                node,
                message: `${node.callee.name} is not allowed in sans-IO code: use platform.timers`,
              });
            }
          },
          NewExpression(node) {
            if (node.callee.type === "Identifier" && node.callee.name === "Date" && node.arguments.length === 0) {
              context.report({ node, message: "new Date() reads the wall clock: use platform.clock.wallMs()" });
            }
          },
        };
      },
    },
    "runtime-quarantine": {
      create(context) {
        if (isRuntimeAllowed(context.filename)) return {};
        return {
          MemberExpression(node) {
            if (node.object.type === "Identifier" && (node.object.name === "Deno" || node.object.name === "Bun")) {
              context.report({
                node,
                message:
                  `${node.object.name}.* is only allowed in src/platform/: keep one source tree for Deno and Bun`,
              });
            }
          },
        };
      },
    },
  },
};

export default plugin;
