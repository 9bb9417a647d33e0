/**
 * Server-wide notifications with a time to live: shown to everyone online when issued, and to every
 * player who arrives while the notice is still alive. Bounded: the oldest notice goes when full.
 * @module
 */

/** A live notice. */
export interface Notice {
  readonly id: number;
  readonly text: string;
  readonly expiresAtUs: number;
}

/** Notices kept at most by default. */
export const DEFAULT_MAX_NOTICES = 256;

/** Live notices, oldest first. */
export class NoticeBoard {
  readonly #max: number;
  readonly #notices = new Map<number, Notice>();

  constructor(options: { readonly maxNotices?: number } = {}) {
    this.#max = options.maxNotices ?? DEFAULT_MAX_NOTICES;
  }

  /** Adds (or replaces) a notice alive for `ttlUs` from `nowUs`. */
  add(id: number, text: string, ttlUs: number, nowUs: number): Notice {
    const notice = { id, text, expiresAtUs: nowUs + Math.max(0, ttlUs) };
    this.#notices.delete(id);
    this.#notices.set(id, notice);
    while (this.#notices.size > this.#max) this.#notices.delete(this.#notices.keys().next().value!);
    return notice;
  }

  remove(id: number): boolean {
    return this.#notices.delete(id);
  }

  /** Notices alive at `nowUs`, oldest first (expired ones are dropped). */
  active(nowUs: number): Notice[] {
    const out: Notice[] = [];
    for (const [id, notice] of this.#notices) {
      if (notice.expiresAtUs <= nowUs) this.#notices.delete(id);
      else out.push(notice);
    }
    return out;
  }

  /** Whole seconds a notice has left at `nowUs` (at least 1 while alive). */
  static remainingSeconds(notice: Notice, nowUs: number): number {
    return Math.max(1, Math.ceil((notice.expiresAtUs - nowUs) / 1_000_000));
  }
}
