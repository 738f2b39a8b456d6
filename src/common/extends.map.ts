import { badRequest } from './domain.error';
import { isCleanText, TEXT_RULE } from './text';

export type ExtendsMap = Record<string, string>;
export type ExtendsPatch = Record<string, string | null>;

export const EXTENDS_MAX_KEYS = 32;
export const EXTENDS_MAX_KEY_LENGTH = 64;
export const EXTENDS_MAX_VALUE_LENGTH = 1024;
/** What a TEXT column holds on MySQL; only reachable with many long multi-byte values. */
const EXTENDS_MAX_BYTES = 65535;

export function serializeExtends(map: ExtendsMap): string {
  const json = JSON.stringify(map);
  if (Buffer.byteLength(json) > EXTENDS_MAX_BYTES) {
    throw badRequest(`extends must serialize to at most ${EXTENDS_MAX_BYTES} bytes of JSON`);
  }
  return json;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a client-sent extends object. `allowNull` is for patches, where null deletes a key.
 * A "__proto__" key never gets here: the JSON body parser refuses it.
 */
export function parseExtends(value: unknown, field: string, allowNull: boolean): ExtendsPatch {
  if (!isPlainObject(value)) throw badRequest(`${field} must be an object of string values`);
  const keys = Object.keys(value);
  // A patch may name more keys than a map holds (delete 32, set 1): the merge checks the result.
  if (!allowNull && keys.length > EXTENDS_MAX_KEYS) {
    throw badRequest(`${field} may hold at most ${EXTENDS_MAX_KEYS} keys`);
  }
  for (const key of keys) {
    if (key.length < 1 || key.length > EXTENDS_MAX_KEY_LENGTH) {
      throw badRequest(`${field} keys must be 1-${EXTENDS_MAX_KEY_LENGTH} characters`);
    }
    // The key itself is left out of the message: it is what cannot be echoed.
    if (!isCleanText(key)) throw badRequest(`${field} keys ${TEXT_RULE}`);
    const v = value[key];
    if (v === null && allowNull) continue;
    if (typeof v !== 'string') {
      throw badRequest(`${field}.${key} must be a string${allowNull ? ' or null' : ''}`);
    }
    if (v.length > EXTENDS_MAX_VALUE_LENGTH) {
      throw badRequest(`${field}.${key} must be at most ${EXTENDS_MAX_VALUE_LENGTH} characters`);
    }
    if (!isCleanText(v)) throw badRequest(`${field}.${key} ${TEXT_RULE}`);
  }
  return value as ExtendsPatch;
}

export interface ExtendsMerge {
  merged: ExtendsMap;
  /** Only the keys whose value really changed; empty when the patch changes nothing. */
  changed: ExtendsPatch;
}

export function mergeExtends(current: ExtendsMap, patch: ExtendsPatch): ExtendsMerge {
  const merged: ExtendsMap = { ...current };
  const changed: ExtendsPatch = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      if (Object.prototype.hasOwnProperty.call(merged, key)) {
        delete merged[key];
        changed[key] = null;
      }
    } else if (merged[key] !== value) {
      merged[key] = value;
      changed[key] = value;
    }
  }
  if (Object.keys(merged).length > EXTENDS_MAX_KEYS) {
    throw badRequest(`extends would hold more than ${EXTENDS_MAX_KEYS} keys`);
  }
  return { merged, changed };
}

/** The extends a room or relay is created with (absent: empty), checked to fit its column. */
export function initialExtends(value: unknown): ExtendsMap {
  const map = value === undefined ? {} : (parseExtends(value, 'extends', false) as ExtendsMap);
  serializeExtends(map);
  return map;
}

/** The stored JSON of the extends a room is created with. */
export const initialExtendsJson = (value: unknown): string =>
  serializeExtends(initialExtends(value));
