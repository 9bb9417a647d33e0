/** The Qeynos release; kept equal to `version` in package.json and deno.json (a test checks). */
export const VERSION = "0.1.0";
