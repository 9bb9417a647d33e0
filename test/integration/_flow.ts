/**
 * The whole flow as a reusable harness: login, world and zones plus bots, with the bookkeeping that
 * checks chat delivery exactly once and characters saved once. Used on the simulator and on loopback.
 */
import assert from "node:assert/strict";
import type { BotEvent, BotOutcome, RoleEvent } from "../../src/roles/mod.ts";

/** A chat line as (recipient, sender, message id, kind). */
function key(recipient: number, sender: number, messageId: number, kind: number): string {
  return `${recipient}<-${sender}#${messageId}/${kind}`;
}

/** Collects role and bot events and checks them. */
export class FlowRecorder {
  readonly roleEvents: RoleEvent[] = [];
  readonly botEvents: BotEvent[] = [];

  readonly onRole = (event: RoleEvent): void => void this.roleEvents.push(event);
  readonly onBot = (event: BotEvent): void => void this.botEvents.push(event);

  /**
   * Every line a zone handed to a player (say and shout to the players in range, tells and channel
   * lines routed by world) arrived at that player exactly once, and players got nothing else.
   */
  assertChatExactlyOnce(): { lines: number; deliveries: number } {
    const expected = new Set<string>();
    let lines = 0;
    for (const e of this.roleEvents) {
      if (e.type === "chat.local" || e.type === "chat.delivered") {
        lines++;
        for (const r of e.recipients) expected.add(key(r, e.senderId, e.messageId, e.kind));
      }
    }
    const received = new Map<string, number>();
    for (const e of this.botEvents) {
      if (e.type !== "chat.received") continue;
      const k = key(e.charId, e.senderId, e.messageId, e.kind);
      received.set(k, (received.get(k) ?? 0) + 1);
    }
    const duplicated = [...received].filter(([, n]) => n > 1).map(([k]) => k);
    const unexpected = [...received.keys()].filter((k) => !expected.has(k));
    const missing = [...expected].filter((k) => !received.has(k));
    assert.deepEqual({ duplicated, unexpected, missing }, { duplicated: [], unexpected: [], missing: [] });
    return { lines, deliveries: expected.size };
  }

  /** Every routed line world accepted was handed to each of its recipients by some zone (or missed there). */
  assertRoutedLinesReachedZones(): void {
    const handed = new Set<string>();
    for (const e of this.roleEvents) {
      if (e.type === "chat.delivered") {
        for (const r of [...e.recipients, ...e.missed]) handed.add(key(r, e.senderId, e.messageId, e.kind));
      }
    }
    const lost: string[] = [];
    for (const e of this.roleEvents) {
      if (e.type !== "chat.routed") continue;
      for (const r of e.recipients) {
        const k = key(r, e.senderId, e.messageId, e.kind);
        if (!handed.has(k)) lost.push(k);
      }
    }
    assert.deepEqual(lost, []);
  }
}

/** Asserts every bot finished the flow and was saved at logout. */
export function assertBotsOk(outcomes: readonly BotOutcome[], count: number): void {
  assert.equal(outcomes.length, count);
  const failed = outcomes.filter((o) => !o.ok || !o.saved).map((o) =>
    `${o.account}: ${o.step} ${o.error ?? "unsaved"}`
  );
  assert.deepEqual(failed, []);
}
