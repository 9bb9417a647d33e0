/**
 * The operators' HTTP endpoint: `/status.json`, `/metrics` (Prometheus) and `POST /notify`.
 * @module
 */
export { type AdminOptions, type AdminServer, type AdminSource, startAdminServer } from "./status_server.ts";
export { renderMetrics, type Report } from "./metrics.ts";
