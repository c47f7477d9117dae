/**
 * The three patch formats the Kubernetes API accepts on PATCH, applied to a plain JSON object:
 * JSON merge patch (RFC 7386, `application/merge-patch+json`), strategic merge patch
 * (`application/strategic-merge-patch+json`; here a merge patch that also honours the
 * `$patch: delete|replace` directives on maps; lists are replaced whole, as for the fields
 * Secrets and the pod-template annotations have) and JSON patch (RFC 6902,
 * `application/json-patch+json`: add, remove, replace, move, copy, test).
 *
 * @example
 * ```ts
 * applyPatch({ a: { b: 1 } }, 'application/merge-patch+json', { a: { c: 2 } }); // { a: { b: 1, c: 2 } }
 * ```
 */
import { ApiFailure, badRequest, failure } from './status.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386 merge (with the strategic `$patch` map directives when `strategic`). */
function merge(target: Json | undefined, patch: Json, strategic: boolean): Json {
  if (!isObject(patch)) return clone(patch);
  if (strategic && patch.$patch === 'delete') return null;
  if (strategic && patch.$patch === 'replace') {
    const { $patch: _drop, ...rest } = patch;
    return clone(rest);
  }
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (strategic && k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else {
      const merged = merge(out[k], v, strategic);
      if (merged === null && strategic) delete out[k];
      else out[k] = merged;
    }
  }
  return out;
}

/** An RFC 6901 pointer as its reference tokens. */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new ApiFailure(badRequest(`the JSON pointer "${pointer}" does not start with "/"`));
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: Json, path: string[]): { parent: JsonObject | Json[]; key: string } {
  let cur: Json = doc;
  for (const t of path.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch path /${path.join('/')} does not exist`));
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch path /${path.join('/')} does not name a member`));
  return { parent: cur, key: path[path.length - 1]! };
}

function getAt(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const t of path) cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
  return cur;
}

function removeAt(doc: Json, path: string[]): Json {
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch path /${path.join('/')} does not exist`));
    return parent.splice(i, 1)[0]!;
  }
  if (!(key in parent)) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch path /${path.join('/')} does not exist`));
  const old = parent[key]!;
  delete parent[key];
  return old;
}

function addAt(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return clone(value);
  const { parent, key } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch index at /${path.join('/')} is out of range`));
    parent.splice(i, 0, clone(value));
  } else parent[key] = clone(value);
  return doc;
}

function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new ApiFailure(badRequest('a JSON patch must be an array of operations'));
  let out = clone(doc);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new ApiFailure(badRequest('each JSON patch operation needs "op" and "path"'));
    const path = tokens(op.path);
    switch (op.op) {
      case 'add':
        out = addAt(out, path, op.value ?? null);
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        if (path.length === 0) out = clone(op.value ?? null);
        else {
          removeAt(out, path);
          out = addAt(out, path, op.value ?? null);
        }
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new ApiFailure(badRequest(`a JSON patch "${op.op}" needs "from"`));
        const from = tokens(op.from);
        const value = op.op === 'move' ? removeAt(out, from) : clone(getAt(out, from));
        if (value === undefined) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch path ${op.from} does not exist`));
        out = addAt(out, path, value);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(out, path)) !== JSON.stringify(op.value)) throw new ApiFailure(failure(422, 'Invalid', `the JSON patch test at ${op.path} failed`));
        break;
      default:
        throw new ApiFailure(badRequest(`unknown JSON patch operation "${op.op}"`));
    }
  }
  return out;
}

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;

/** Applies a patch of one of {@link PATCH_TYPES} to `doc`, returning a new document. */
export function applyPatch(doc: Json, contentType: string, patch: Json): Json {
  switch (contentType) {
    case 'application/json-patch+json':
      return jsonPatch(doc, patch);
    case 'application/merge-patch+json':
      return merge(doc, patch, false);
    case 'application/strategic-merge-patch+json':
      return merge(doc, patch, true);
    default:
      throw new ApiFailure(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`));
  }
}
