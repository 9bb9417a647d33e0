import { nowMs, num, numOrNull, type RepositoryContext, str, violated } from "./_context.ts";
import type { SqlRow, SqlValue } from "./_sql.ts";
import * as v from "./_validate.ts";
import {
  type Appearance,
  type Character,
  type CharacterInput,
  type CharacterPatch,
  type CharacterPosition,
  type Characters,
  STORE_RULES,
} from "./store.ts";
import { STORE_ERROR_CODES, StoreError } from "./store_error.ts";

function toCharacter(row: SqlRow): Character {
  return {
    id: num(row, "id"),
    accountId: num(row, "account_id"),
    worldId: num(row, "world_id"),
    name: str(row, "name"),
    race: num(row, "race_id"),
    class: num(row, "class_id"),
    gender: num(row, "gender"),
    level: num(row, "level"),
    zone: str(row, "zone"),
    x: num(row, "x"),
    y: num(row, "y"),
    z: num(row, "z"),
    heading: num(row, "heading"),
    appearance: JSON.parse(str(row, "appearance")) as Appearance,
    createdMs: num(row, "created_ms"),
    updatedMs: num(row, "updated_ms"),
    deletedMs: numOrNull(row, "deleted_ms"),
  };
}

/** Patch fields → column and checker. The column names are constants, never input. */
const PATCH_COLUMNS: Record<
  keyof CharacterPatch,
  readonly [string, (value: unknown, context: RepositoryContext) => SqlValue]
> = {
  race: ["race_id", (value) => v.integer("race", value, STORE_RULES.race)],
  class: ["class_id", (value) => v.integer("class", value, STORE_RULES.class)],
  gender: ["gender", (value) => v.integer("gender", value, STORE_RULES.gender)],
  level: ["level", (value) => v.integer("level", value, STORE_RULES.level)],
  zone: ["zone", (value) => v.zoneName(value)],
  x: ["x", (value) => v.coordinate("x", value)],
  y: ["y", (value) => v.coordinate("y", value)],
  z: ["z", (value) => v.coordinate("z", value)],
  heading: ["heading", (value) => v.coordinate("heading", value)],
  appearance: [
    "appearance",
    (value, context) => v.jsonObject("appearance", value, context.limits.maxAppearanceBytes),
  ],
};

/** Characters over SQL. */
export class SqlCharacters implements Characters {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(input: CharacterInput): Promise<Character> {
    const context = this.#context;
    const accountId = v.id("accountId", input.accountId);
    const worldId = v.integer("worldId", input.worldId, STORE_RULES.worldId);
    const name = v.characterName(input.name);
    const values: SqlValue[] = [
      v.integer("race", input.race, STORE_RULES.race),
      v.integer("class", input.class, STORE_RULES.class),
      v.integer("gender", input.gender, STORE_RULES.gender),
      v.integer("level", input.level ?? 1, STORE_RULES.level),
      v.zoneName(input.zone),
      v.coordinate("x", input.x ?? 0),
      v.coordinate("y", input.y ?? 0),
      v.coordinate("z", input.z ?? 0),
      v.coordinate("heading", input.heading ?? 0),
      v.jsonObject("appearance", input.appearance ?? {}, context.limits.maxAppearanceBytes),
    ];
    const limit = context.limits.maxCharactersPerAccount;
    return await context.exec.atomic(async (tx) => {
      // Locking the account row serializes concurrent creations for it, so the count below holds.
      const account = await tx.get(
        `select id from accounts where id = ? and kind = 'player'${context.dialect.forUpdate}`,
        [accountId],
      );
      if (account === undefined) {
        throw new StoreError(
          STORE_ERROR_CODES.NOT_FOUND,
          `Cannot create character: no player account with id ${accountId}`,
        );
      }
      const count = await tx.get(
        "select count(*) as n from characters where account_id = ? and world_id = ? and deleted_ms is null",
        [accountId, worldId],
      );
      if (num(count!, "n") >= limit) {
        throw new StoreError(
          STORE_ERROR_CODES.LIMIT_EXCEEDED,
          `Cannot create character: account ${accountId} already has ${
            num(count!, "n")
          } characters on world ${worldId} (limit ${limit})`,
        );
      }
      // The name check spares the insert from failing, which in PostgreSQL would abort a surrounding transaction.
      const taken = await tx.get(
        "select id from characters where world_id = ? and name_key = ? and deleted_ms is null",
        [worldId, v.nameKey(name)],
      );
      const duplicate = () =>
        new StoreError(
          STORE_ERROR_CODES.DUPLICATE_NAME,
          `Cannot create character: name ${v.quote(name)} is taken on world ${worldId}`,
        );
      if (taken !== undefined) throw duplicate();
      const now = nowMs(context);
      try {
        const row = await tx.get(
          `insert into characters (account_id, world_id, name, name_key, race_id, class_id, gender, level, zone,
             x, y, z, heading, appearance, created_ms, updated_ms)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning *`,
          [accountId, worldId, name, v.nameKey(name), ...values, now, now],
        );
        return toCharacter(row!);
      } catch (error) {
        if (violated(error)?.kind === "unique") throw duplicate();
        throw error;
      }
    });
  }

  async get(id: number): Promise<Character | undefined> {
    v.id("character id", id);
    const row = await this.#context.exec.get("select * from characters where id = ?", [id]);
    return row === undefined ? undefined : toCharacter(row);
  }

  async findByName(worldId: number, name: string): Promise<Character | undefined> {
    v.integer("worldId", worldId, STORE_RULES.worldId);
    const rule = STORE_RULES.characterName;
    if (typeof name !== "string" || name.length < rule.min || name.length > rule.max || !rule.pattern.test(name)) {
      return undefined;
    }
    const row = await this.#context.exec.get(
      "select * from characters where world_id = ? and name_key = ? and deleted_ms is null",
      [worldId, v.nameKey(name)],
    );
    return row === undefined ? undefined : toCharacter(row);
  }

  async listByAccount(accountId: number, options?: { readonly worldId?: number }): Promise<Character[]> {
    v.id("accountId", accountId);
    const worldId = options?.worldId === undefined
      ? undefined
      : v.integer("worldId", options.worldId, STORE_RULES.worldId);
    const rows = await this.#context.exec.all(
      `select * from characters where account_id = ? and deleted_ms is null${
        worldId === undefined ? "" : " and world_id = ?"
      } order by id limit ${STORE_RULES.pageMax}`,
      worldId === undefined ? [accountId] : [accountId, worldId],
    );
    return rows.map(toCharacter);
  }

  async update(id: number, patch: CharacterPatch): Promise<Character> {
    v.id("character id", id);
    if (typeof patch !== "object" || patch === null) {
      throw new StoreError(STORE_ERROR_CODES.INVALID_ARGUMENT, "Invalid character patch: expected an object");
    }
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      const entry = PATCH_COLUMNS[field as keyof CharacterPatch];
      if (entry === undefined) {
        throw new StoreError(
          STORE_ERROR_CODES.INVALID_ARGUMENT,
          `Invalid character patch: unknown field ${v.quote(field)}`,
        );
      }
      sets.push(`${entry[0]} = ?`);
      params.push(entry[1](value, this.#context));
    }
    const row = await this.#context.exec.get(
      `update characters set ${[...sets, "updated_ms = ?"].join(", ")} where id = ? and deleted_ms is null returning *`,
      [...params, nowMs(this.#context), id],
    );
    if (row === undefined) throw this.#notFound("update", id);
    return toCharacter(row);
  }

  async savePosition(id: number, position: CharacterPosition): Promise<void> {
    v.id("character id", id);
    const changed = await this.#context.exec.run(
      "update characters set zone = ?, x = ?, y = ?, z = ?, heading = ?, updated_ms = ? where id = ? and deleted_ms is null",
      [
        v.zoneName(position.zone),
        v.coordinate("x", position.x),
        v.coordinate("y", position.y),
        v.coordinate("z", position.z),
        v.coordinate("heading", position.heading),
        nowMs(this.#context),
        id,
      ],
    );
    if (changed === 0) throw this.#notFound("save", id);
  }

  async delete(id: number): Promise<void> {
    v.id("character id", id);
    const now = nowMs(this.#context);
    const changed = await this.#context.exec.run(
      "update characters set deleted_ms = ?, updated_ms = ? where id = ? and deleted_ms is null",
      [now, now, id],
    );
    if (changed === 0) throw this.#notFound("delete", id);
  }

  #notFound(verb: string, id: number): StoreError {
    return new StoreError(STORE_ERROR_CODES.NOT_FOUND, `Cannot ${verb} character: no live character with id ${id}`);
  }
}
