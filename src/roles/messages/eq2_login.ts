/**
 * The EQ2 login-server messages, byte-compatible with the real EQ2 client.
 *
 * Layouts are the facts of EQ2Emu `server/LoginStructs.xml` (each `ClientVersion` becomes a layout's
 * `since`; layouts identical to the one before are folded), plus the character-list reply and the
 * create-character request, which EQ2Emu builds in code or declares in `WorldStructs.xml`. Field names
 * are the XML `ElementName`s in camelCase (`num_worlds` → `numWorlds`), except where the XML repeats a
 * name or misspells one (documented in `docs/app_protocol.md`).
 *
 * All these structs use zero defaults: a field the value leaves out is written as zero, as EQ2Emu does.
 * The real client of `test/vectors/eq2_login_capture.txt` is version 546.
 *
 * @module
 */
import { AppMessageError } from "./app_message_error.ts";
import { decodeStruct } from "./codec.ts";
import { defineProfile } from "./profile.ts";
import {
  bytes,
  color,
  count8,
  defineStruct,
  f32,
  fixed,
  i8,
  list,
  nested,
  record,
  str16,
  str32,
  str8,
  u16,
  u32,
  u64,
  u8,
} from "./schema.ts";

/** The client version of the real EQ2 client in the login capture. */
export const EQ2_CAPTURE_CLIENT_VERSION = 546;

const morph = fixed(i8, 3);

// ---- Login request / reply -------------------------------------------------------------------------

/** Client → login: account name and password (opcode 0). */
export const LoginRequest = defineStruct("LoginRequest", [
  {
    since: 1,
    fields: [
      ["sessionId", str16],
      ["sessionRecycleToken", str16],
      ["username", str16],
      ["password", str16],
      ["acctNum", u32],
      ["passCode", u32],
      ["version", u16],
    ],
  },
  {
    since: 562,
    fields: [
      ["accessCode", str16],
      ["unknown1", str16],
      ["username", str16],
      ["password", str16],
      ["unknown2", bytes(8)],
      ["unknown3", bytes(2)],
      ["version", u32],
      ["unknown3b", u16],
      ["unknown4", u32],
    ],
  },
  {
    since: 1208,
    fields: [
      ["accessCode", str16],
      ["unknown1", str16],
      ["username", str16],
      ["password", str16],
      ["unknown2", bytes(8)],
      ["unknown3", bytes(2)],
      ["version", u16],
      ["unknown4", u8],
      ["unknown5", fixed(u32, 3)],
      ["unknown6", u16],
      ["unknown7", str16],
    ],
  },
], { zeroDefaults: true });

const startingItem16 = record([
  ["modelId", u16],
  ["slotId", u8],
  ["useColor", u8],
  ["useHighlightColor", u8],
  ["modelColor", color],
  ["modelHighlightColor", color],
]);
const startingItem32 = record([
  ["modelId", u32],
  ["slotId", u8],
  ["useColor", u8],
  ["useHighlightColor", u8],
  ["modelColor", color],
  ["modelHighlightColor", color],
]);
const classItems16 = record([["classId", u8], ["numItems", count8], [
  "startingItems",
  list(startingItem16, "numItems"),
]]);
const classItems32 = record([["classId", u8], ["numItems", count8], [
  "startingItems",
  list(startingItem32, "numItems"),
]]);
const array2Entry = record([["array2Unknown", u32]]);

/** The login reply's head shared by the layouts of 843 … 1188. */
const REPLY_843_HEAD = [
  ["loginResponse", u8],
  ["unknown", str16],
  ["parentalControlFlag", u8],
  ["parentalControlTimer", u32],
  ["unknown2", bytes(8)],
  ["accountId", u32],
  ["unknown3", str16],
  ["resetAppearance", u8],
  ["doNotForceSoga", u8],
  ["unknown4", u8],
  ["unknown5", u16],
] as const;
const REPLY_CLASS_ITEMS_16 = [
  ["unknown10", u8],
  ["numClassItems", count8, { if: "unknown10" }],
  ["classItems", list(classItems16, "numClassItems"), { if: "unknown10" }],
  ["unknownArray2Size", count8],
  ["unknownArray2", list(array2Entry, "unknownArray2Size")],
] as const;
const REPLY_CLASS_ITEMS_32 = [
  ["unknown10", u8],
  ["numClassItems", count8, { if: "unknown10" }],
  ["classItems", list(classItems32, "numClassItems"), { if: "unknown10" }],
  ["unknownArray2Size", count8],
  ["unknownArray2", list(array2Entry, "unknownArray2Size")],
] as const;
const REPLY_ACCOUNT_TAIL = [
  ["unknown11", u32],
  ["subLevel", u32],
  ["raceFlag", u32],
  ["classFlag", u32],
  ["password", str16],
  ["username", str16],
] as const;
const REPLY_LVL90_AND_TIME_LOCKED = [
  ["unknown12", u8],
  ["lvl90NumClassItems", count8, { if: "unknown12" }],
  ["lvl90ClassItems", list(classItems32, "lvl90NumClassItems"), { if: "unknown12" }],
  ["unknown13", u8],
  ["timeLockedNumClassItems", count8, { if: "unknown13" }],
  ["timeLockedClassItems", list(classItems32, "timeLockedNumClassItems"), { if: "unknown13" }],
] as const;

/** Login → client: the answer to a login request (opcode 4); `loginResponse` is a {@linkcode LoginResponse}. */
export const LoginReply = defineStruct("LoginReply", [
  {
    since: 1,
    fields: [
      ["loginResponse", u8],
      ["worldName", str16],
      ["parentalControlFlag", u8],
      ["parentalControlTimer", fixed(u32, 2)],
      ["parentalControlNext", u32],
      ["accountId", u32],
    ],
  },
  {
    since: 284,
    fields: [
      ["loginResponse", u8],
      ["unknown", str16],
      ["parentalControlFlag", u8],
      ["parentalControlTimer", u32],
      ["unknown2", bytes(8)],
      ["cacheSettingAccountId", u32],
      ["unknown3", str16],
      ["resetAppearance", u8],
      ["doNotForceSoga", u8],
      ["unknown5", u16],
      ["unknown6", u8],
      ["unknown7", u32],
      ["unknown8", bytes(2)],
      ...REPLY_CLASS_ITEMS_16,
    ],
  },
  {
    since: 843,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", u8],
      ["unknown7", u32],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", u8],
      ...REPLY_CLASS_ITEMS_16,
    ],
  },
  {
    since: 1096,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", bytes(5)],
      ["unknown7", u32],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", u8],
      ...REPLY_CLASS_ITEMS_16,
      ...REPLY_ACCOUNT_TAIL,
    ],
  },
  {
    since: 1142,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", bytes(5)],
      ["unknown7", u32],
      ["unknown7a", u32],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", u8],
      ...REPLY_CLASS_ITEMS_16,
      ...REPLY_ACCOUNT_TAIL,
    ],
  },
  {
    since: 1188,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", bytes(5)],
      ["unknown7", u32],
      ["unknown7a", u32],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", u8],
      ...REPLY_CLASS_ITEMS_16,
      ...REPLY_ACCOUNT_TAIL,
      ["unknown12", str16],
    ],
  },
  {
    since: 57080,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", bytes(5)],
      ["unknown7", u32],
      ["unknown7a", u32],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", u8],
      ...REPLY_CLASS_ITEMS_32,
      ...REPLY_ACCOUNT_TAIL,
      ["service", str16],
      ["web1", str16],
      ["web2", str16],
      ["web3", str16],
      ["web4", str16],
      ["web5", str16],
      ["web6", str16],
      ["web7", str16],
      ["web8", str16],
      ["web9", str16],
      ["unknown12", u8],
      // The XML guards this second list by unknown10, not unknown12, in this version.
      ["lvl90NumClassItems", count8, { if: "unknown10" }],
      ["lvl90ClassItems", list(classItems32, "lvl90NumClassItems"), { if: "unknown10" }],
      ["unknown13", bytes(5)],
    ],
  },
  {
    since: 60100,
    fields: [
      ["loginResponse", u8],
      ["unknown", str16],
      ["parentalControlFlag", u8],
      ["parentalControlTimer", u32],
      ["unknown2", bytes(8)],
      ["accountId", u32],
      ["unknown3", str16],
      ["resetAppearance", u8],
      ["doNotForceSoga", u8],
      ["unknown5", u64],
      ["unknown7", u32],
      ["unknown7a", u16],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", bytes(3)],
      ...REPLY_CLASS_ITEMS_32,
      ...REPLY_ACCOUNT_TAIL,
      ["service", str16],
      ...REPLY_LVL90_AND_TIME_LOCKED,
      ["unknown14", bytes(13)],
    ],
  },
  {
    since: 63181,
    fields: [
      ...REPLY_843_HEAD,
      ["unknown6", bytes(5)],
      ["unknown6a", bytes(8)],
      ["unknown7", u32],
      ["unknown7a", u16],
      ["raceUnknown", u8],
      ["unknown8", bytes(3)],
      ["unknown9", bytes(3)],
      ...REPLY_CLASS_ITEMS_32,
      ...REPLY_ACCOUNT_TAIL,
      ["service", str16],
      ...REPLY_LVL90_AND_TIME_LOCKED,
      ["unknown14", bytes(9)],
    ],
  },
  {
    since: 65534,
    fields: [
      ["loginResponse", u8],
      ["worldName", str16],
      ["parentalControlFlag", u8],
      ["parentalControlTimer", u64],
      ["unknown2", u32],
      ["accountId", u32],
      ["unknown3", str16],
      ["resetAppearance", u8],
      ["doNotForceSoga", u8],
      ["unknown4", str32],
      ["unknown7", str32],
      ["raceUnknown", u32],
      ["unknown8", u8],
      // The XML also guards unknown_array2 by its own size, which changes no byte.
      ...REPLY_CLASS_ITEMS_32,
      ...REPLY_ACCOUNT_TAIL,
      ["service", str16],
      ...REPLY_LVL90_AND_TIME_LOCKED,
      ["unknown14", bytes(13)],
    ],
  },
], { zeroDefaults: true });

// ---- World list ------------------------------------------------------------------------------------

/** Client → login: asks for the world list (opcode 7). Its payload is not described; it is read as empty. */
export const WorldListRequest = defineStruct("WorldListRequest", [{ since: 1, fields: [] }], { zeroDefaults: true });

/** Login → client: the worlds (opcode 8). `tag` 1 = up, 0 = down; `locked`, `hidden` 0/1; `load` the world's status. */
export const WorldList = defineStruct("WorldList", [
  {
    since: 1,
    fields: [
      ["numWorlds", count8],
      [
        "worldList",
        list(
          record([["id", u32], ["name", str16], ["online", u8], ["locked", u8], ["unknown2", u8], ["unknown3", u8], [
            "load",
            u8,
          ]]),
          "numWorlds",
        ),
      ],
    ],
  },
  {
    since: 373,
    fields: [
      ["numWorlds", count8],
      [
        "worldList",
        list(
          record([
            ["id", u32],
            ["name", str16],
            ["tag", u8],
            ["locked", u8],
            ["hidden", u8],
            ["unknown", u8],
            ["numPlayers", u16],
            ["load", u8],
            ["numberOnlineFlag", u8],
            ["allowedRaces", u32],
          ]),
          "numWorlds",
        ),
      ],
    ],
  },
  {
    since: 546,
    fields: [
      ["numWorlds", count8],
      [
        "worldList",
        list(
          record([
            ["id", u32],
            ["name", str16],
            ["name2", str16],
            ["tag", u8],
            ["locked", u8],
            ["hidden", u8],
            ["unknown", u8],
            ["numPlayers", u16],
            ["load", u8],
            ["numberOnlineFlag", u8],
            ["unknown2", u8],
            ["allowedRaces", u32],
          ]),
          "numWorlds",
        ),
      ],
    ],
  },
  {
    since: 562,
    fields: [
      ["numWorlds", count8],
      [
        "worldList",
        list(
          record([
            ["id", u32],
            ["name", str16],
            ["name2", str16],
            ["tag", u8],
            ["locked", u8],
            ["hidden", u8],
            ["unknown", u8],
            ["numPlayers", u16],
            ["load", u8],
            ["numberOnlineFlag", u8],
            ["featureSet", bytes(2)],
            ["allowedRaces", u32],
          ]),
          "numWorlds",
        ),
      ],
      ["unknown2", u8],
    ],
  },
  {
    since: 65534,
    fields: [
      ["numWorlds", count8],
      [
        "worldList",
        list(
          record([
            ["id", u32],
            ["name", str16],
            ["name2", str16],
            ["tag", u8],
            ["locked", u8],
            ["hidden", u8],
            ["unknown", u8],
            ["numPlayers", u16],
            ["load", u8],
            ["numberOnlineFlag", u8],
            ["featureSet", bytes(3)],
            ["allowedRaces", u32],
          ]),
          "numWorlds",
        ),
      ],
      ["unknown2", u8],
    ],
  },
], { zeroDefaults: true });

/** Login → client: one world went up/down or was (un)locked (opcode 6). */
export const WorldStatusChange = defineStruct("WorldStatusChange", [
  { since: 1, fields: [["serverId", u32], ["up", u8], ["locked", u8], ["unknown1", u8], ["unknown2", u8]] },
], { zeroDefaults: true });

// ---- Characters ------------------------------------------------------------------------------------

const equipmentItem = record([["type", u16], ["color", color], ["highlight", color]]);

const PROFILE_MORPHS = [
  ["eyeType", morph],
  ["earType", morph],
  ["eyeBrowType", morph],
  ["cheekType", morph],
  ["lipType", morph],
  ["chinType", morph],
  ["noseType", morph],
] as const;
const PROFILE_SOGA_MORPHS = [
  ["sogaEyeType", morph],
  ["sogaEarType", morph],
  ["sogaEyeBrowType", morph],
  ["sogaCheekType", morph],
  ["sogaLipType", morph],
  ["sogaChinType", morph],
  ["sogaNoseType", morph],
] as const;
const PROFILE_HAIR_AND_FACE = [
  ["hairType", u16],
  ["hairTypeColor", color],
  ["hairTypeHighlightColor", color],
  ["hairFaceType", u16],
  ["hairFaceColor", color],
  ["hairFaceHighlightColor", color],
] as const;
const PROFILE_CHEST_AND_LEGS = [
  ["chestType", u16],
  ["shirtColor", color],
  ["unknownChestColor", color],
  ["legsType", u16],
  ["pantsColor", color],
  ["unknownLegsColor", color],
  ["unknown9", color],
] as const;
const PROFILE_562_HEAD = [
  ["version", u32],
  ["charid", u32],
  ["serverId", u32],
  ["name", str16],
  ["unknown", u8],
  ["race", u8],
  ["class", u8],
  ["gender", u8],
  ["level", u32],
  ["zone", str16],
  ["unknown1", u32],
  ["unknown2", u32],
  ["createdDate", u32],
  ["lastPlayed", u32],
  ["unknown3", u32],
  ["unknown4", u32],
  ["zonename2", str16],
  ["zonedesc", str16],
  ["unknown5", u32],
  ["serverName", str16],
  ["accountId", u32],
  ["unknown6", bytes(2)],
  ["unknown7", u32],
] as const;

/**
 * One character of the character-select list (EQ2Emu `CharSelectProfile`). Colours the XML types as
 * three signed bytes are read as {@linkcode color}s (the same bytes); morph sliders stay signed.
 */
export const CharSelectProfile = defineStruct("CharSelectProfile", [
  {
    since: 1,
    fields: [
      ["charid", u32],
      ["serverId", u32],
      ["name", str16],
      ["race", u8],
      ["class", u8],
      ["level", u32],
      ["zone", str16],
      ["unknown1", u32],
      ["unknown2", u32],
      ["createdDate", u32],
      ["lastPlayed", u32],
      ["unknown3", u32],
      ["unknown4", u32],
      ["zonename2", str16],
      ["zonedesc", str16],
      ["version", u8],
      ["raceType", u16],
      ["skinColor", color],
      ["eyeColor", color],
      ["equip", fixed(equipmentItem, 21)],
      ...PROFILE_HAIR_AND_FACE,
      ...PROFILE_CHEST_AND_LEGS,
      ...PROFILE_MORPHS,
      ["bodySize", i8],
      ["bumpScale", i8],
      ["mount", u16],
      ["mountColor1", color],
      ["mountColor2", color],
      ["hairColor1", color],
      ["hairColor2", color],
      ["hairColor3", color],
      ["flags", u8],
    ],
  },
  {
    since: 546,
    fields: [
      ["charid", u32],
      ["serverId", u32],
      ["name", str16],
      ["race", u8],
      ["class", u8],
      ["gender", u8],
      ["level", u32],
      ["zone", str16],
      ["unknown1", u32],
      ["unknown2", u32],
      ["createdDate", u32],
      ["lastPlayed", u32],
      ["unknown3", u32],
      ["unknown4", u32],
      ["zonename2", str16],
      ["zonedesc", str16],
      ["unknown5", u32],
      ["version", u8],
      ["raceType", u16],
      ["skinColor", color],
      ["eyeColor", color],
      ["equip", fixed(equipmentItem, 23)],
      ...PROFILE_HAIR_AND_FACE,
      ...PROFILE_CHEST_AND_LEGS,
      ...PROFILE_MORPHS,
      ["bodySize", i8],
      ["bumpScale", i8],
      ["mount", u16],
      ["mountColor1", color],
      ["mountColor2", color],
      ["hairColor1", color],
      ["hairColor2", color],
      ["hairColor3", color],
      ["unknown11", bytes(10)],
      ["sogaRaceType", u16],
      // The XML names this one soga_skin_colorx.
      ["sogaSkinColor", color],
      ["sogaEyeColor", color],
      ["unknown12", bytes(3)],
      ...PROFILE_SOGA_MORPHS,
      ["sogaHairColor1", color],
      ["sogaChestType", u16],
      ["sogaHairColor2", color],
      ["sogaHairColor3", color],
      ["sogaHairType", u16],
      ["sogaHairTypeColor", color],
      ["sogaHairTypeHighlightColor", color],
      ["sogaHairFaceType", u16],
      ["sogaHairFaceColor", color],
      ["sogaHairFaceHighlightColor", color],
    ],
  },
  {
    since: 562,
    fields: [
      ...PROFILE_562_HEAD,
      ["unknown8", u8],
      ["raceType", u16],
      ["skinColor", color],
      ["eyeColor", color],
      ["equip", fixed(equipmentItem, 25)],
      ...PROFILE_HAIR_AND_FACE,
      ...PROFILE_CHEST_AND_LEGS,
      ...PROFILE_MORPHS,
      ["bodySize", i8],
      ["unknown10", bytes(9)],
      ["hairColor1", color],
      ["hairColor2", color],
      ["unknown11", bytes(13)],
      ["unknown15", bytes(7)],
    ],
  },
  {
    since: 887,
    fields: [
      ...PROFILE_562_HEAD,
      ["tradeskillClass", u8],
      ["tradeskillLevel", u32],
      ["unknown8", u8],
      ["raceType", u16],
      ["skinColor", color],
      ["eyeColor", color],
      ["equip", fixed(equipmentItem, 25)],
      ...PROFILE_HAIR_AND_FACE,
      ["wingType", u16],
      ["wingColor1", color],
      ["wingColor2", color],
      ...PROFILE_CHEST_AND_LEGS,
      ...PROFILE_MORPHS,
      ["bodySize", i8],
      ["unknown10", bytes(9)],
      ["hairColor1", color],
      ["hairColor2", color],
      ["unknown11", bytes(13)],
      ["sogaRaceType", u16],
      ["sogaSkinColor", color],
      ["sogaEyeColor", color],
      ["unknown12", bytes(3)],
      ...PROFILE_SOGA_MORPHS,
      ["unknown13", u16],
      ["sogaHairColor1", color],
      ["sogaHairColor2", color],
      ["unknown14", color],
      ["sogaHairType", u16],
      ["sogaHairTypeColor", color],
      ["sogaHairTypeHighlightColor", color],
      ["sogaHairFaceType", u16],
      ["sogaHairFaceColor", color],
      ["sogaHairFaceHighlightColor", color],
      ["unknown15", bytes(7)],
    ],
  },
], { zeroDefaults: true });

/** Client → login: asks for the character list (opcode 9). Its payload is not described; it is read as empty. */
export const CharactersRequest = defineStruct("CharactersRequest", [{ since: 1, fields: [] }], { zeroDefaults: true });

/**
 * Login → client: the account's characters (opcode 10): a count, the profiles, then account data
 * (EQ2Emu `LS_CharSelectList` with `LS_CharListAccountInfoEarlyClient` up to 561, `LS_CharListAccountInfo` after).
 */
export const CharactersReply = defineStruct("CharactersReply", [
  {
    since: 1,
    fields: [
      ["numCharacters", count8],
      ["characters", list(nested(CharSelectProfile), "numCharacters")],
      ["accountId", u32],
      ["unknown1", u32],
      ["unknown2", u16],
      ["maxChars", u32],
      ["unknown4", u8],
    ],
  },
  {
    since: 562,
    fields: [
      ["numCharacters", count8],
      ["characters", list(nested(CharSelectProfile), "numCharacters")],
      ["accountId", u32],
      ["unknown1", u32],
      ["unknown2", u16],
      ["maxChars", u32],
      ["unknown4", u8],
      ["unknown5", fixed(u32, 4)],
      ["vetAdvBonus", u8],
      ["vetTradeBonus", u8],
    ],
  },
], { zeroDefaults: true });

const LOOK_FILES = [
  ["hairFile", str16],
  ["hairTypeColor", color],
  ["hairTypeHighlightColor", color],
  ["faceFile", str16],
  ["hairFaceColor", color],
  ["hairFaceHighlightColor", color],
  ["wingFile", str16],
  ["wingColor1", color],
  ["wingColor2", color],
  ["chestFile", str16],
  ["shirtColor", color],
  ["unknownChestColor", color],
  ["legsFile", str16],
  ["pantsColor", color],
  ["unknownLegsColor", color],
  ["unknown9", color],
  ["eyes2", fixed(f32, 3)],
  ["ears", fixed(f32, 3)],
  ["eyeBrows", fixed(f32, 3)],
  ["cheeks", fixed(f32, 3)],
  ["lips", fixed(f32, 3)],
  ["chin", fixed(f32, 3)],
  ["nose", fixed(f32, 3)],
  ["bodySize", f32],
  ["bodyAge", f32],
] as const;

/**
 * Client → login: create a character (opcode 11). EQ2Emu declares this struct in `WorldStructs.xml`;
 * its first layout covers clients before 869 (later ones add colours and are not declared here).
 */
export const CreateCharacterRequest = defineStruct("CreateCharacterRequest", [
  {
    since: 1,
    fields: [
      ["unknown0", u8],
      ["unknown1", u32],
      ["accountId", u32],
      ["unknown3", u8],
      ["serverId", u32],
      ["name", str16],
      ["race", u8],
      ["gender", u8],
      ["deity", u8],
      ["class", u8],
      ["level", u8],
      ["startingZone", u8],
      ["version", u8],
      ["raceFile", str16],
      ["skinColor", color],
      ["skinColor2", color],
      ["eyeColor", color],
      ["hairColor1", color],
      ["hairColor2", color],
      ["unknown8", bytes(26)],
      ...LOOK_FILES,
      ["sogaVersion", u8],
      ["sogaRaceFile", str16],
      ["sogaSkinColor", color],
      ["sogaEyeColor", color],
      ["sogaHairColor1", color],
      ["sogaHairColor2", color],
      ["sogaHairHighlight", color],
      ["sogaUnknown11", bytes(26)],
      ["sogaHairFile", str16],
      ["sogaHairTypeColor", color],
      ["sogaHairTypeHighlightColor", color],
      ["sogaFaceFile", str16],
      ["sogaHairFaceColor", color],
      ["sogaHairFaceHighlightColor", color],
      ["sogaWingFile", str16],
      ["sogaWingColor1", color],
      ["sogaWingColor2", color],
      ["sogaChestFile", str16],
      ["sogaShirtColor", color],
      ["sogaUnknownChestColor", color],
      ["sogaLegsFile", str16],
      ["sogaPantsColor", color],
      ["sogaUnknownLegsColor", color],
      ["sogaUnknown12", color],
      ["sogaEyes2", fixed(f32, 3)],
      ["sogaEars", fixed(f32, 3)],
      ["sogaEyeBrows", fixed(f32, 3)],
      ["sogaCheeks", fixed(f32, 3)],
      ["sogaLips", fixed(f32, 3)],
      ["sogaChin", fixed(f32, 3)],
      ["sogaNose", fixed(f32, 3)],
      ["sogaBodySize", f32],
      ["sogaBodyAge", f32],
    ],
  },
], { zeroDefaults: true, validUntil: 868 });

/** Login → client: result of a create request (opcode 12); `response` is a {@linkcode CreateCharacterResponse}. */
export const CreateCharacterReply = defineStruct("CreateCharacterReply", [
  { since: 1, fields: [["accountId", u32], ["response", u8], ["name", str16]] },
  { since: 1189, fields: [["accountId", u32], ["unknown", u32], ["response", u8], ["name", str16]] },
], { zeroDefaults: true });

/** Client → login: delete a character (opcode 16; 15 before client 284). */
export const DeleteCharacterRequest = defineStruct("DeleteCharacterRequest", [
  { since: 1, fields: [["charId", u32], ["serverId", u32], ["unknown", u32], ["name", str16]] },
], { zeroDefaults: true });

/** Login → client: result of a delete request (opcode 17; 16 before 284); `response` 1 = deleted, 0 = refused. */
export const DeleteCharacterReply = defineStruct("DeleteCharacterReply", [
  {
    since: 1,
    fields: [
      ["response", u8],
      ["serverId", u32],
      ["charId", u32],
      ["accountId", u32],
      ["name", str16],
      ["maxCharacters", u32],
    ],
  },
], { zeroDefaults: true });

// ---- Play -------------------------------------------------------------------------------------------

/** Client → login: enter the world with a character (opcode 18; 17 before 284). */
export const PlayCharacterRequest = defineStruct("PlayCharacterRequest", [
  { since: 1, fields: [["charId", u32], ["name", str16]] },
  { since: 284, fields: [["charId", u32], ["serverId", u32], ["unknown", bytes(3)]] },
], { zeroDefaults: true });

/**
 * Login → client: where to connect (opcode 19; 18 before 284): the world's address and port, the
 * account and the one-time access key the world will accept. `response` is a {@linkcode PlayResponse}.
 */
export const PlayCharacterReply = defineStruct("PlayCharacterReply", [
  {
    since: 1,
    fields: [["response", u8], ["server", str8], ["port", u16], ["accountId", u32], ["accessCode", u32]],
  },
  {
    since: 1096,
    fields: [
      ["response", u8],
      ["unknown1", u16],
      ["server", str8],
      ["port", u16],
      ["accountId", u32],
      ["accessCode", u32],
    ],
  },
  {
    since: 60085,
    fields: [
      ["response", u8],
      ["unknown1", fixed(u16, 3)],
      ["server", str8],
      ["port", u16],
      ["accountId", u32],
      ["accessCode", u32],
    ],
  },
], { zeroDefaults: true });

// ---- Profile ----------------------------------------------------------------------------------------

const LOGIN_MESSAGES = {
  LoginRequest,
  LoginReply,
  WorldStatusChange,
  WorldListRequest,
  WorldList,
  CharactersRequest,
  CharactersReply,
  CreateCharacterRequest,
  CreateCharacterReply,
  DeleteCharacterRequest,
  DeleteCharacterReply,
  PlayCharacterRequest,
  PlayCharacterReply,
} as const;

/**
 * The EQ2 login profile: the messages above with EQ2Emu's opcodes for client versions 0–283 and
 * 284–546. Bytes after the last declared field are ignored when decoding, as EQ2Emu does.
 */
export const Eq2Login = defineProfile({
  name: "EQ2 login",
  messages: LOGIN_MESSAGES,
  trailingBytes: "ignore",
  opcodes: [
    {
      since: 0,
      until: 283,
      opcodes: {
        LoginRequest: 0,
        LoginReply: 4,
        WorldStatusChange: 6,
        WorldListRequest: 7,
        WorldList: 8,
        CharactersRequest: 9,
        CharactersReply: 10,
        CreateCharacterRequest: 11,
        CreateCharacterReply: 12,
        DeleteCharacterRequest: 15,
        DeleteCharacterReply: 16,
        PlayCharacterRequest: 17,
        PlayCharacterReply: 18,
      },
    },
    {
      since: 284,
      until: 546,
      opcodes: {
        LoginRequest: 0,
        LoginReply: 4,
        WorldStatusChange: 6,
        WorldListRequest: 7,
        WorldList: 8,
        CharactersRequest: 9,
        CharactersReply: 10,
        CreateCharacterRequest: 11,
        CreateCharacterReply: 12,
        DeleteCharacterRequest: 16,
        DeleteCharacterReply: 17,
        PlayCharacterRequest: 18,
        PlayCharacterReply: 19,
      },
    },
  ],
});

/**
 * The client version a login request announces, read before the version is known (as EQ2Emu does):
 * first with the oldest layout; if that gives 0 or a version without an opcode table, with the 1208
 * layout, whose `version` sits where every newer client puts it. Throws `APP_MESSAGE_MALFORMED` if
 * neither layout fits the payload.
 */
export function loginRequestVersion(payload: Uint8Array): number {
  const options = { trailingBytes: "ignore" } as const;
  let first: AppMessageError | undefined;
  try {
    const { version } = decodeStruct(LoginRequest, payload, 1, options);
    if (version !== 0 && Eq2Login.supportsVersion(version)) return version;
  } catch (error) {
    if (!(error instanceof AppMessageError)) throw error;
    first = error;
  }
  try {
    return decodeStruct(LoginRequest, payload, 1208, options).version;
  } catch (error) {
    throw first ?? error;
  }
}
