/**
 * Deduplication of a player's movement batch: a spawn that moved twice within the batch window
 * goes out once, with its latest position.
 * @module
 */

/** Batches up to this long are deduplicated pairwise; longer ones with a set. */
const PAIRWISE_DEDUP_MAX = 16;

/**
 * Keeps the last entry of each spawn among `entries[0..n)` (in place, at the front, in the order of
 * those last entries) and returns how many there are; the rest of the array is left as it was.
 */
export function keepLatestPerSpawn(entries: { readonly spawnId: number }[], n: number = entries.length): number {
  let kept = 0;
  if (n <= PAIRWISE_DEDUP_MAX) {
    outer: for (let i = 0; i < n; i++) {
      const spawnId = entries[i]!.spawnId;
      for (let j = i + 1; j < n; j++) if (entries[j]!.spawnId === spawnId) continue outer;
      entries[kept++] = entries[i]!;
    }
    return kept;
  }
  const later = new Set<number>();
  const latest: { readonly spawnId: number }[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (later.has(entry.spawnId)) continue;
    later.add(entry.spawnId);
    latest.push(entry);
  }
  for (let i = latest.length - 1; i >= 0; i--) entries[kept++] = latest[i]!;
  return kept;
}
