/**
 * The schema's migrations, oldest first. Add a file `NNNN_name.ts` and append it here; never edit a
 * released one.
 * @module
 */
import { initial } from "./0001_initial.ts";
import type { Migration } from "./migration.ts";

export type { Migration } from "./migration.ts";

/** Every migration this code knows, by ascending version. */
export const MIGRATIONS: readonly Migration[] = [initial];
