/**
 * A uniform spatial grid over the horizontal plane (x, z) for interest management: which players are
 * close enough to see each other. Cells are squares of `cellSize`; a query looks at the cells that a
 * circle of the given radius touches and filters by distance.
 * @module
 */
import { RoleError, RoleErrorCode } from "../role_error.ts";

/** Cell coordinates are offset by this so that the key stays a non-negative safe integer. */
const OFFSET = 2 ** 25;
const SPAN = 2 ** 26;

interface Entry {
  x: number;
  z: number;
  cell: number;
}

/** A spatial index of ids at (x, z) positions. */
export class InterestGrid {
  readonly cellSize: number;
  readonly #entries = new Map<number, Entry>();
  readonly #cells = new Map<number, Set<number>>();

  constructor(cellSize: number) {
    if (!(Number.isFinite(cellSize) && cellSize > 0)) {
      throw new RoleError(RoleErrorCode.BadOption, `Invalid grid cell size: ${cellSize} is not a positive number`);
    }
    this.cellSize = cellSize;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Occupied cells. */
  get cells(): number {
    return this.#cells.size;
  }

  #coord(v: number): number {
    const c = Math.floor(v / this.cellSize);
    return Math.min(OFFSET - 1, Math.max(-OFFSET, c));
  }

  #key(cx: number, cz: number): number {
    return (cx + OFFSET) * SPAN + (cz + OFFSET);
  }

  /** Adds `id` at (x, z), or moves it there if present. */
  insert(id: number, x: number, z: number): void {
    if (this.#entries.has(id)) {
      this.move(id, x, z);
      return;
    }
    const cell = this.#key(this.#coord(x), this.#coord(z));
    this.#entries.set(id, { x, z, cell });
    this.#cellSet(cell).add(id);
  }

  /** Moves `id` to (x, z); returns whether it changed cells. Unknown ids are inserted. */
  move(id: number, x: number, z: number): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      this.insert(id, x, z);
      return true;
    }
    entry.x = x;
    entry.z = z;
    const cell = this.#key(this.#coord(x), this.#coord(z));
    if (cell === entry.cell) return false;
    this.#removeFromCell(entry.cell, id);
    entry.cell = cell;
    this.#cellSet(cell).add(id);
    return true;
  }

  remove(id: number): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    this.#removeFromCell(entry.cell, id);
    return true;
  }

  has(id: number): boolean {
    return this.#entries.has(id);
  }

  /** The position of `id`, if present. */
  position(id: number): { readonly x: number; readonly z: number } | undefined {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : { x: entry.x, z: entry.z };
  }

  /**
   * Appends to `out` every id within `radius` of (x, z) (distance in the x/z plane, inclusive), in a
   * deterministic order (cell by cell, then insertion order); returns `out`.
   */
  query(x: number, z: number, radius: number, out: number[] = []): number[] {
    const r2 = radius * radius;
    // A hair wider than the circle, so rounding in the distance check never meets an unvisited cell.
    const reach = radius + (radius + this.cellSize) * 1e-9;
    const x0 = this.#coord(x - reach);
    const x1 = this.#coord(x + reach);
    const z0 = this.#coord(z - reach);
    const z1 = this.#coord(z + reach);
    // A huge radius touches more cells than exist: scan the occupied cells instead.
    if ((x1 - x0 + 1) * (z1 - z0 + 1) > this.#cells.size) {
      for (const [id, e] of this.#entries) {
        const dx = e.x - x;
        const dz = e.z - z;
        if (dx * dx + dz * dz <= r2) out.push(id);
      }
      return out;
    }
    for (let cx = x0; cx <= x1; cx++) {
      for (let cz = z0; cz <= z1; cz++) {
        const set = this.#cells.get(this.#key(cx, cz));
        if (set === undefined) continue;
        for (const id of set) {
          const e = this.#entries.get(id)!;
          const dx = e.x - x;
          const dz = e.z - z;
          if (dx * dx + dz * dz <= r2) out.push(id);
        }
      }
    }
    return out;
  }

  #cellSet(cell: number): Set<number> {
    let set = this.#cells.get(cell);
    if (set === undefined) {
      set = new Set();
      this.#cells.set(cell, set);
    }
    return set;
  }

  #removeFromCell(cell: number, id: number): void {
    const set = this.#cells.get(cell);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.#cells.delete(cell);
  }
}
