/**
 * Every workload and check the `qeynos scenario` command can use: importing this module registers
 * them. To add a workload, put one `import` line here for the module that calls `registerWorkload`
 * (and `registerCheck`).
 * @module
 */
import "../scenario/builtin_checks.ts";
import "./echo.ts";
import "./eqstream.ts";
import "./roles/mod.ts";
