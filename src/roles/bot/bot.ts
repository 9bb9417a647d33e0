/**
 * A headless client that plays the whole flow over EQStream: login (EQ2 login protocol of client
 * 546) → world list → character (created if the account has none on the world) → play → world (with
 * the access key) → zone → a script (walk, chat, zone-hop, idle) → logout. It runs on any Platform:
 * real sockets for `qeynos bot`, the simulator for scenario workloads.
 * @module
 */
import type { ClientSessionOptions } from "../../eqstream/mod.ts";
import type { Platform } from "../../platform/platform.ts";
import {
  ChatKind,
  ChatResultCode,
  CreateCharacterResponse,
  EnterResult,
  Eq2Login,
  type Eq2LoginMessage,
  LoginResponse,
  PlayResponse,
  ProtocolErrorCode,
  QEYNOS_PROTOCOL_VERSION,
  type QeynosInput,
  type QeynosMessage,
  QeynosWorld,
  WorldTag,
  ZoneChangeResult,
} from "../messages/mod.ts";
import { RoleError, RoleErrorCode } from "../role_error.ts";
import { forEachMoveUpdate } from "../messages/move_updates.ts";
import { ZONE_ACK_DELAY_US } from "../shared/zone_session.ts";
import { BotLink } from "./bot_link.ts";
import { atan2, cos, sin } from "../../platform/portable_math.ts";

/** The client version bots announce: the captured real client's. */
export const BOT_CLIENT_VERSION = 546;

const V = QEYNOS_PROTOCOL_VERSION;
const MOVE_UPDATES = QeynosWorld.opcodeOf("MoveUpdates", V);

/** What a bot does once in a zone. */
export type BotScriptName = "walk" | "chat" | "zone-hop" | "idle";

/** Steps of the flow, in order. */
export type BotStep =
  | "connect"
  | "login"
  | "world-list"
  | "character"
  | "play"
  | "world"
  | "zone"
  | "script"
  | "logout"
  | "done";

/** Options of {@linkcode runBot}. */
export interface BotOptions {
  /** The login server. */
  readonly server: { readonly address: string; readonly port: number };
  readonly account: string;
  readonly password: string;
  /** The character to play (created if the account has none by that name on the world). */
  readonly characterName: string;
  /** What to do in the zone; default "walk". */
  readonly script?: BotScriptName;
  /** How long the script runs; default 10 s. */
  readonly durationUs?: number;
  /** Movement updates per second; default 10. */
  readonly moveHz?: number;
  /** Walking speed, units per second; default 5. */
  readonly speed?: number;
  /** Bots wander within this distance of where they spawned; default 40. */
  readonly wanderRadius?: number;
  /** Chat script: one line every this long; default 2 s. */
  readonly chatIntervalUs?: number;
  /** Zone-hop script: a zone change every this long; default 5 s. */
  readonly hopIntervalUs?: number;
  /** Zone-hop script: the zones to cycle through; default ["qeynos", "antonica"]. */
  readonly zones?: readonly string[];
  /** Chat script: names to send tells to (default: itself). */
  readonly peers?: readonly string[];
  /** Chat script: the channel to join and speak in; default "qeynos". */
  readonly channel?: string;
  /** Name of the world to play on; default the first one up. */
  readonly world?: string;
  /** Local address to bind (in the simulator: the bot host's address); default "127.0.0.1". */
  readonly bindAddress?: string;
  /** EQStream session options. */
  readonly session?: ClientSessionOptions;
  /** Each step of the flow must finish within this; default 15 s. */
  readonly stepTimeoutUs?: number;
  /** Whole-flow attempts before giving up; default 1. */
  readonly attempts?: number;
  /** Wait between attempts; default 1 s. */
  readonly retryDelayUs?: number;
  /** Receives what the bot does and sees (for checks and latency measurements). */
  readonly observer?: (event: BotEvent) => void;
  /**
   * Receives each movement update of a player in view instead of the observer's `move.seen` event
   * (ten or more per move the zone relays: this builds no event object).
   */
  readonly onMoveSeen?: (fromCharId: number, sequence: number, atUs: number) => void;
  /** Stops the script early (checked between actions). */
  readonly signal?: { readonly aborted: boolean };
}

/** What a bot reports as it goes. `bot` is the account name; times are the platform clock's µs. */
export type BotEvent =
  & { readonly bot: string; readonly atUs: number }
  & (
    | { readonly type: "step"; readonly step: BotStep }
    | { readonly type: "entered"; readonly charId: number; readonly zoneName: string; readonly instanceId: number }
    | { readonly type: "move.sent"; readonly charId: number; readonly sequence: number }
    | { readonly type: "move.seen"; readonly charId: number; readonly fromCharId: number; readonly sequence: number }
    | { readonly type: "chat.sent"; readonly charId: number; readonly kind: number; readonly messageId: number }
    | {
      readonly type: "chat.received";
      readonly charId: number;
      readonly kind: number;
      readonly senderId: number;
      readonly messageId: number;
    }
    | { readonly type: "chat.result"; readonly charId: number; readonly messageId: number; readonly result: number }
    | { readonly type: "notice"; readonly charId: number; readonly id: number; readonly text: string }
    | { readonly type: "failed"; readonly step: BotStep; readonly error: string }
  );

/** Counters of one bot. */
export interface BotCounts {
  movesSent: number;
  moveUpdatesSeen: number;
  playersSeen: number;
  chatSent: number;
  chatReceived: number;
  chatDuplicates: number;
  chatRefused: number;
  notices: number;
  zoneChanges: number;
  protocolErrors: number;
}

/** How a bot's run ended. */
export interface BotOutcome {
  readonly account: string;
  readonly character: string;
  readonly charId: number;
  readonly ok: boolean;
  /** The last step reached. */
  readonly step: BotStep;
  readonly error?: string;
  readonly attempts: number;
  /** Whether the logout reply said the character was saved. */
  readonly saved: boolean;
  /** Time from start to being in the zone, µs (-1 if never). */
  readonly enterUs: number;
  readonly totalUs: number;
  readonly counts: BotCounts;
}

/** A bot's character name from its index: letters only, as character names must be ("Botaab"). */
export function botCharacterName(prefix: string, index: number): string {
  const letters = prefix.replace(/[^A-Za-z]/g, "") || "Bot";
  let suffix = "";
  let n = index;
  for (let i = 0; i < 4; i++) {
    suffix = String.fromCharCode(97 + (n % 26)) + suffix;
    n = Math.floor(n / 26);
  }
  const head = letters.slice(0, 16);
  return head.charAt(0).toUpperCase() + head.slice(1).toLowerCase() + suffix;
}

type LoginMessage = Eq2LoginMessage;
type WorldMessage = QeynosMessage;

interface ZoneSession {
  readonly link: BotLink<WorldMessage>;
  readonly zoneName: string;
  readonly instanceId: number;
  spawnId: number;
  x: number;
  y: number;
  z: number;
  heading: number;
}

class Bot {
  readonly #platform: Platform;
  readonly #o: BotOptions;
  readonly counts: BotCounts = {
    movesSent: 0,
    moveUpdatesSeen: 0,
    playersSeen: 0,
    chatSent: 0,
    chatReceived: 0,
    chatDuplicates: 0,
    chatRefused: 0,
    notices: 0,
    zoneChanges: 0,
    protocolErrors: 0,
  };
  step: BotStep = "connect";
  charId = 0;
  accountId = 0;
  character = "";
  saved = false;
  enterUs = -1;
  readonly #startUs: number;
  readonly #spawnToChar = new Map<number, number>();
  readonly #seenLines = new Set<string>();
  readonly #notices = new Set<number>();
  #sequence = 0;
  #messageId = 0;
  #zone: ZoneSession | undefined;
  #kicked: string | undefined;
  #homeX = 0;
  #homeZ = 0;

  constructor(platform: Platform, options: BotOptions) {
    this.#platform = platform;
    this.#o = options;
    this.#startUs = platform.clock.now();
  }

  get #timeout(): number {
    return this.#o.stepTimeoutUs ?? 15_000_000;
  }

  #emit(event: Record<string, unknown> & { type: BotEvent["type"] }): void {
    this.#o.observer?.({ ...event, bot: this.#o.account, atUs: this.#platform.clock.now() } as BotEvent);
  }

  #to(step: BotStep): void {
    this.step = step;
    this.#emit({ type: "step", step });
  }

  #sleep(us: number): Promise<void> {
    return new Promise((resolve) => this.#platform.timers.setTimeout(resolve, Math.max(0, Math.round(us))));
  }

  #session(): ClientSessionOptions & { bindAddress?: string } {
    return { ...this.#o.session, ...(this.#o.bindAddress === undefined ? {} : { bindAddress: this.#o.bindAddress }) };
  }

  // -------------------------------------------------------------------------------------------
  // Login.

  async #login(): Promise<{ address: string; port: number; accessKey: number }> {
    const link = new BotLink<LoginMessage>(
      this.#platform,
      "login",
      (opcode, payload) => Eq2Login.decode(opcode, payload, BOT_CLIENT_VERSION),
    );
    this.#to("connect");
    await link.connect(this.#o.server, this.#session());
    const send = (message: Parameters<typeof Eq2Login.encode>[0]) => {
      const { opcode, payload } = Eq2Login.encode(message, BOT_CLIENT_VERSION);
      link.send(opcode, payload);
    };
    try {
      this.#to("login");
      send({
        kind: "LoginRequest",
        username: this.#o.account,
        password: this.#o.password,
        version: BOT_CLIENT_VERSION,
      });
      const reply = await link.expect(["LoginReply"], this.#timeout);
      if (reply.loginResponse !== LoginResponse.Accepted) {
        const name = Object.entries(LoginResponse).find(([, v]) => v === reply.loginResponse)?.[0] ?? "unknown";
        throw new RoleError(RoleErrorCode.Refused, `Login refused: ${name} (${reply.loginResponse})`);
      }
      this.#to("world-list");
      send({ kind: "WorldListRequest" });
      const list = await link.expect(["WorldList"], this.#timeout);
      const worlds = list.worldList as readonly { id: number; name: string; tag?: number; locked: number }[];
      const world = worlds.find((w) =>
        w.tag === WorldTag.Up && w.locked === 0 && (this.#o.world === undefined || w.name === this.#o.world)
      );
      if (world === undefined) {
        throw new RoleError(
          RoleErrorCode.Refused,
          `No world open: ${
            worlds.map((w) => `${w.name}=${w.tag === WorldTag.Up ? "up" : "down"}`).join(", ") || "none"
          }`,
        );
      }
      this.#to("character");
      let character = await this.#findCharacter(send, link, world.id);
      if (character === undefined) {
        send({
          kind: "CreateCharacterRequest",
          serverId: world.id,
          name: this.#o.characterName,
          race: 0,
          gender: 1,
          class: 1,
        });
        const created = await link.expect(["CreateCharacterReply"], this.#timeout);
        if (
          created.response !== CreateCharacterResponse.Success && created.response !== CreateCharacterResponse.NameTaken
        ) {
          throw new RoleError(
            RoleErrorCode.Refused,
            `Cannot create ${this.#o.characterName}: response ${created.response}`,
          );
        }
        character = await this.#findCharacter(send, link, world.id);
        if (character === undefined) {
          throw new RoleError(
            RoleErrorCode.Refused,
            `Character ${this.#o.characterName} is not on the list after creating it`,
          );
        }
      }
      this.charId = character.charid;
      this.character = character.name;
      this.#to("play");
      send({ kind: "PlayCharacterRequest", charId: character.charid, serverId: world.id });
      const play = await link.expect(["PlayCharacterReply"], this.#timeout);
      if (play.response !== PlayResponse.Success) {
        const name = Object.entries(PlayResponse).find(([, v]) => v === play.response)?.[0] ?? "unknown";
        throw new RoleError(RoleErrorCode.Refused, `Play refused: ${name} (${play.response})`);
      }
      this.accountId = play.accountId;
      return { address: play.server, port: play.port, accessKey: play.accessCode };
    } finally {
      link.close();
    }
  }

  async #findCharacter(
    send: (message: Parameters<typeof Eq2Login.encode>[0]) => void,
    link: BotLink<LoginMessage>,
    worldId: number,
  ): Promise<{ charid: number; name: string } | undefined> {
    send({ kind: "CharactersRequest" });
    const reply = await link.expect(["CharactersReply"], this.#timeout);
    this.accountId = reply.accountId;
    const mine = (reply.characters as readonly { charid: number; serverId: number; name: string }[]).filter((c) =>
      c.serverId === worldId
    );
    return mine.find((c) => c.name.toLowerCase() === this.#o.characterName.toLowerCase()) ?? mine[0];
  }

  // -------------------------------------------------------------------------------------------
  // World and zones.

  #encode(message: QeynosInput): { opcode: number; payload: Uint8Array } {
    return QeynosWorld.encode(message, V);
  }

  async #world(target: { address: string; port: number; accessKey: number }): Promise<{
    zoneName: string;
    address: string;
    port: number;
    accessKey: number;
  }> {
    this.#to("world");
    const link = new BotLink<WorldMessage>(this.#platform, "world", (o, p) => QeynosWorld.decode(o, p, V));
    await link.connect(target, this.#session());
    try {
      const { opcode, payload } = this.#encode({
        kind: "WorldEnterRequest",
        accountId: this.accountId,
        characterId: this.charId,
        accessKey: target.accessKey,
      });
      link.send(opcode, payload);
      const reply = await link.expect(["WorldEnterReply"], this.#timeout);
      if (reply.result !== EnterResult.Accepted) {
        throw new RoleError(RoleErrorCode.Refused, `World entry refused: result ${reply.result}`);
      }
      const assignment = await link.expect(["ZoneAssignment"], this.#timeout);
      return {
        zoneName: assignment.zoneName,
        address: assignment.address,
        port: assignment.port,
        accessKey: assignment.accessKey,
      };
    } finally {
      link.close();
    }
  }

  /** A movement update of a spawn in view (`atUs`: when its message arrived). */
  #moveSeen(spawnId: number, sequence: number, atUs: number): void {
    this.counts.moveUpdatesSeen++;
    const { observer, onMoveSeen } = this.#o;
    if (observer === undefined && onMoveSeen === undefined) return;
    const from = this.#spawnToChar.get(spawnId);
    if (from === undefined) return;
    if (onMoveSeen !== undefined) return onMoveSeen(from, sequence, atUs);
    // Built whole here, not through #emit: this runs for every update a bot sees.
    observer!({
      type: "move.seen",
      charId: this.charId,
      fromCharId: from,
      sequence,
      bot: this.#o.account,
      atUs,
    });
  }

  /** A `MoveUpdates`, read in place: the zone's most frequent message builds no object per update. */
  #movesSeen(payload: Uint8Array): undefined {
    const atUs = this.#platform.clock.now();
    forEachMoveUpdate(payload, (spawnId, sequence) => this.#moveSeen(spawnId, sequence, atUs));
    return undefined;
  }

  /** Messages that arrive on their own in a zone; returns true when consumed. */
  #onZoneMessage(message: WorldMessage): boolean {
    const zone = this.#zone;
    switch (message.kind) {
      case "PlayerEnteredView":
        this.#spawnToChar.set(message.spawnId, message.characterId);
        this.counts.playersSeen++;
        return true;
      case "PlayerLeftView":
        this.#spawnToChar.delete(message.spawnId);
        return true;
      case "MoveUpdate":
        this.#moveSeen(message.spawnId, message.sequence, this.#platform.clock.now());
        return true;
      case "ChatReceived": {
        const key = `${message.senderId}:${message.messageId}:${message.channelKind}`;
        if (this.#seenLines.has(key)) this.counts.chatDuplicates++;
        else {
          this.#seenLines.add(key);
          if (this.#seenLines.size > 100_000) this.#seenLines.clear();
        }
        this.counts.chatReceived++;
        this.#emit({
          type: "chat.received",
          charId: this.charId,
          kind: message.channelKind,
          senderId: message.senderId,
          messageId: message.messageId,
        });
        return true;
      }
      case "ChatResult":
        if (message.result !== ChatResultCode.Delivered) this.counts.chatRefused++;
        this.#emit({ type: "chat.result", charId: this.charId, messageId: message.messageId, result: message.result });
        return true;
      case "ChannelStatus":
        return true;
      case "ServerNotification":
        if (!this.#notices.has(message.notificationId)) {
          this.#notices.add(message.notificationId);
          this.counts.notices++;
          this.#emit({ type: "notice", charId: this.charId, id: message.notificationId, text: message.text });
        }
        return true;
      case "ProtocolError":
        this.counts.protocolErrors++;
        if (message.code === ProtocolErrorCode.Kicked || message.code === ProtocolErrorCode.ShuttingDown) {
          this.#kicked = message.text;
        }
        return true;
      case "SpawnSelf":
        if (zone !== undefined) {
          zone.spawnId = message.spawnId;
          zone.x = message.position.x;
          zone.y = message.position.y;
          zone.z = message.position.z;
          zone.heading = message.position.heading;
        }
        return false;
      default:
        return false;
    }
  }

  async #enterZone(target: { zoneName: string; address: string; port: number; accessKey: number }): Promise<void> {
    this.#to("zone");
    this.#spawnToChar.clear();
    const link = new BotLink<WorldMessage>(
      this.#platform,
      "zone",
      (o, p) => o === MOVE_UPDATES ? this.#movesSeen(p) : QeynosWorld.decode(o, p, V),
      (m) => this.#onZoneMessage(m),
    );
    const session: ZoneSession = {
      link,
      zoneName: target.zoneName,
      instanceId: 0,
      spawnId: 0,
      x: 0,
      y: 0,
      z: 0,
      heading: 0,
    };
    this.#zone = session;
    await link.connect(target, { ackDelayUs: ZONE_ACK_DELAY_US, ...this.#session() });
    const { opcode, payload } = this.#encode({
      kind: "ZoneEnterRequest",
      accountId: this.accountId,
      characterId: this.charId,
      accessKey: target.accessKey,
    });
    link.send(opcode, payload);
    const reply = await link.expect(["ZoneEnterReply"], this.#timeout);
    if (reply.result !== EnterResult.Accepted) {
      throw new RoleError(RoleErrorCode.Refused, `Zone entry refused: result ${reply.result}`);
    }
    const self = await link.expect(["SpawnSelf"], this.#timeout);
    this.#zone = { ...session, instanceId: reply.instanceId, spawnId: self.spawnId, ...self.position };
    this.#homeX = self.position.x;
    this.#homeZ = self.position.z;
    if (this.enterUs < 0) this.enterUs = this.#platform.clock.now() - this.#startUs;
    this.#emit({ type: "entered", charId: this.charId, zoneName: reply.zoneName, instanceId: reply.instanceId });
  }

  #zoneSend(message: QeynosInput): boolean {
    const zone = this.#zone;
    if (zone === undefined) return false;
    const { opcode, payload } = this.#encode(message);
    return zone.link.send(opcode, payload);
  }

  #checkZone(): void {
    const zone = this.#zone;
    if (this.#kicked !== undefined) throw new RoleError(RoleErrorCode.Refused, `Removed by the zone: ${this.#kicked}`);
    if (zone === undefined || !zone.link.open) {
      throw new RoleError(RoleErrorCode.Protocol, `Lost the zone connection (${zone?.link.closedReason ?? "none"})`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scripts.

  #step(dtUs: number): void {
    const zone = this.#zone!;
    const rng = this.#platform.rng;
    const speed = this.#o.speed ?? 5;
    const radius = this.#o.wanderRadius ?? 40;
    zone.heading += (rng.float() - 0.5) * 0.6;
    // Head home when straying too far, so bots stay within sight of each other.
    const dx = zone.x - this.#homeX;
    const dz = zone.z - this.#homeZ;
    if (dx * dx + dz * dz > radius * radius) zone.heading = atan2(-dx, -dz);
    const distance = (speed * dtUs) / 1_000_000;
    zone.x += sin(zone.heading) * distance;
    zone.z += cos(zone.heading) * distance;
    const sequence = ++this.#sequence >>> 0;
    if (
      this.#zoneSend({
        kind: "MoveRequest",
        sequence,
        clientTimeMs: Math.floor(this.#platform.clock.now() / 1000) >>> 0,
        position: { x: zone.x, y: zone.y, z: zone.z, heading: zone.heading },
      })
    ) {
      this.counts.movesSent++;
      this.#emit({ type: "move.sent", charId: this.charId, sequence });
    }
  }

  #chat(turn: number): void {
    const text = `line ${turn} from ${this.character}`;
    const messageId = ++this.#messageId >>> 0;
    const channel = this.#o.channel ?? "qeynos";
    const peers = this.#o.peers ?? [];
    let kind: number;
    switch (turn % 4) {
      case 0:
        kind = ChatKind.Say;
        this.#zoneSend({ kind: "ChatSay", messageId, text });
        break;
      case 1:
        kind = ChatKind.Shout;
        this.#zoneSend({ kind: "ChatShout", messageId, text });
        break;
      case 2: {
        kind = ChatKind.Tell;
        const others = peers.filter((p) => p.toLowerCase() !== this.character.toLowerCase());
        const to = others.length === 0 ? this.character : others[this.#platform.rng.u32() % others.length]!;
        this.#zoneSend({ kind: "ChatTell", messageId, to, text });
        break;
      }
      default:
        kind = ChatKind.Channel;
        this.#zoneSend({ kind: "ChannelMessage", messageId, channel, text });
    }
    this.counts.chatSent++;
    this.#emit({ type: "chat.sent", charId: this.charId, kind, messageId });
  }

  async #hop(zoneName: string): Promise<void> {
    const zone = this.#zone!;
    this.#zoneSend({ kind: "ZoneChangeRequest", zoneName });
    const reply = await zone.link.expect(["ZoneChangeReply"], this.#timeout);
    if (reply.result === ZoneChangeResult.AlreadyThere) return;
    if (reply.result !== ZoneChangeResult.Granted) {
      throw new RoleError(RoleErrorCode.Refused, `Zone change to ${zoneName} refused: result ${reply.result}`);
    }
    zone.link.close();
    this.counts.zoneChanges++;
    await this.#enterZone({
      zoneName: reply.zoneName,
      address: reply.address!,
      port: reply.port!,
      accessKey: reply.accessKey!,
    });
  }

  async #script(): Promise<void> {
    this.#to("script");
    const script = this.#o.script ?? "walk";
    const duration = this.#o.durationUs ?? 10_000_000;
    const moveEvery = Math.round(1_000_000 / (this.#o.moveHz ?? 10));
    const chatEvery = this.#o.chatIntervalUs ?? 2_000_000;
    const hopEvery = this.#o.hopIntervalUs ?? 5_000_000;
    const zones = this.#o.zones ?? ["qeynos", "antonica"];
    const start = this.#platform.clock.now();
    const end = start + duration;
    // Spread bots over the first interval so they do not act in lock step. Whole microseconds: a
    // fractional due time would make the timer (whole µs) wake the bot just before it, for nothing.
    let nextMove = start + Math.floor(this.#platform.rng.float() * moveEvery);
    let nextChat = start + Math.floor(this.#platform.rng.float() * chatEvery);
    let nextHop = start + Math.floor(hopEvery * (0.5 + this.#platform.rng.float() / 2));
    let turn = 0;
    let hops = 0;
    if (script === "chat") {
      this.#zoneSend({ kind: "ChannelJoin", channel: this.#o.channel ?? "qeynos" });
    }
    while (!this.#o.signal?.aborted) {
      this.#checkZone();
      const now = this.#platform.clock.now();
      if (now >= end) break;
      if (script !== "idle" && now >= nextMove) {
        this.#step(moveEvery);
        nextMove += moveEvery;
        if (nextMove < now) nextMove = now + moveEvery;
      }
      if (script === "chat" && now >= nextChat) {
        this.#chat(turn++);
        nextChat += chatEvery;
      }
      if (script === "zone-hop" && now >= nextHop) {
        const current = this.#zone!.zoneName;
        const others = zones.filter((z) => z.toLowerCase() !== current.toLowerCase());
        const target = others[hops++ % Math.max(1, others.length)];
        if (target !== undefined) await this.#hop(target);
        nextHop = this.#platform.clock.now() + hopEvery;
        continue;
      }
      const wakeAt = Math.min(
        end,
        script === "idle" ? end : nextMove,
        script === "chat" ? nextChat : end,
        script === "zone-hop" ? nextHop : end,
      );
      await this.#sleep(Math.max(1_000, Math.min(wakeAt - now, 100_000)));
    }
    this.#checkZone();
  }

  async #logout(): Promise<void> {
    this.#to("logout");
    const zone = this.#zone!;
    this.#zoneSend({ kind: "LogoutRequest" });
    const reply = await zone.link.expect(["LogoutReply"], this.#timeout);
    this.saved = reply.characterSaved;
    zone.link.close();
    await zone.link.closed(2_000_000);
  }

  async run(): Promise<void> {
    const play = await this.#login();
    const assignment = await this.#world(play);
    await this.#enterZone(assignment);
    await this.#script();
    await this.#logout();
    this.#to("done");
  }

  /** Continues after an earlier attempt: its counts, and its move and chat numbering (ids stay unique). */
  continueFrom(earlier: Bot): void {
    Object.assign(this.counts, earlier.counts);
    this.#sequence = earlier.#sequence;
    this.#messageId = earlier.#messageId;
  }

  /** Closes whatever connection is still open (after a failure). */
  abandon(): void {
    this.#zone?.link.close();
    this.#zone = undefined;
    this.#kicked = undefined;
  }
}

/**
 * Runs one bot through the whole flow; never rejects (a failure is in the outcome).
 *
 * ```ts
 * const outcome = await runBot(platform, {
 *   server: { address: "127.0.0.1", port: 9100 }, account: "bot1", password: "botpassword",
 *   characterName: "Botaaab", script: "walk", durationUs: 10_000_000,
 * });
 * ```
 */
export async function runBot(platform: Platform, options: BotOptions): Promise<BotOutcome> {
  const started = platform.clock.now();
  const attempts = Math.max(1, options.attempts ?? 1);
  let bot = new Bot(platform, options);
  let error: string | undefined;
  let attempt = 0;
  while (attempt < attempts) {
    attempt++;
    if (attempt > 1) {
      await new Promise<void>((resolve) => platform.timers.setTimeout(resolve, options.retryDelayUs ?? 1_000_000));
      const earlier = bot;
      bot = new Bot(platform, options);
      bot.continueFrom(earlier);
    }
    try {
      await bot.run();
      error = undefined;
      break;
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
      options.observer?.({ type: "failed", step: bot.step, error, bot: options.account, atUs: platform.clock.now() });
      bot.abandon();
    }
  }
  return {
    account: options.account,
    character: bot.character || options.characterName,
    charId: bot.charId,
    ok: error === undefined,
    step: bot.step,
    ...(error === undefined ? {} : { error }),
    attempts: attempt,
    saved: bot.saved,
    enterUs: bot.enterUs,
    totalUs: platform.clock.now() - started,
    counts: bot.counts,
  };
}
