/**
 * The one registry helper behind every extension point (targets, consumers, stores): a list of
 * entries, one per implementation, each giving its `kind`, its strict zod config schema (whose
 * `type` is the kind) and `create()`; an entry may carry more (a target's strategies, whether a
 * store audits itself). From that one list come the kinds, the discriminated union the
 * keyturn.yaml schema uses, the parse with one dot-path problem per issue, and `create()` by type.
 * Adding an implementation adds one entry; no other list changes.
 *
 * This file loads no zod (importing it costs tens of milliseconds, and the store registry is on
 * every command's path): a registry whose configs come from keyturn.yaml passes zod in to get its
 * union. A store's config comes from its KEYTURN_* settings, checked (without zod) in
 * src/config/settings.ts, so a store entry may leave out its schema; its config is then taken as given.
 *
 * @example
 * ```ts
 * const targets = defineRegistry({ noun: 'target', invalid: 'KT_TARGET_CONFIG_INVALID', zod: z }, [
 *   registryEntry({ kind: 'generic', configSchema: genericConfigSchema, strategies: ['simple'], create: () => new GenericTarget() }),
 * ]);
 * targets.create({ type: 'generic' }, undefined).kind; // 'generic'
 * targets.entry('generic').strategies; // ['simple']
 * ```
 */
import { issueLines } from './issues.js';
import type { z } from 'zod';
import { KeyturnError, type ErrorCode } from './errors.js';

/** A zod object schema whose `type` is a string literal: the kind. */
export type KindSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

/** One implementation: its kind, its config schema (absent: configured by settings) and its factory (with what it needs, `Deps`). */
export interface RegistryEntry<Config extends { type: string }, Made, Deps = undefined> {
  readonly kind: Config['type'];
  readonly configSchema?: KindSchema;
  readonly create: (config: Config, deps: Deps) => Made;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an entry of any config, whatever its factory takes
type AnyEntry = RegistryEntry<any, unknown, any>;

/** The config an entry's factory takes. */
export type ConfigOf<E extends AnyEntry> = Parameters<E['create']>[0];

/**
 * An entry with a config schema, checked as it is written: `create` takes what `configSchema`
 * gives, and `kind` is the schema's `type` literal.
 *
 * @example
 * ```ts
 * registryEntry({ kind: 'file', configSchema: fileConfigSchema, create: (c) => createFileConsumer(c) });
 * ```
 */
export function registryEntry<S extends KindSchema, Made, Deps = undefined, Extra extends object = object>(
  entry: { readonly kind: z.output<S>['type']; readonly configSchema: S; readonly create: (config: z.output<S>, deps: Deps) => Made } & Extra,
): SchemaEntry<S, Made, Deps> & Extra {
  const literal: unknown = entry.configSchema.shape.type.value;
  if (literal !== entry.kind) throw new Error(`registry entry "${entry.kind}": its config schema's type is "${String(literal)}"`);
  return entry;
}

/** An entry whose config is parsed by its zod schema. */
export interface SchemaEntry<S extends KindSchema, Made, Deps = undefined> {
  readonly kind: z.output<S>['type'];
  readonly configSchema: S;
  readonly create: (config: z.output<S>, deps: Deps) => Made;
}

/** The union of the entries' config schemas. */
type UnionOf<E extends AnyEntry> = z.ZodDiscriminatedUnion<Array<NonNullable<E['configSchema']>>, 'type'>;

export interface Registry<E extends AnyEntry> {
  /** The kinds, in the order the entries were given (the order they are documented). */
  readonly kinds: readonly E['kind'][];
  /** Every kind's config, chosen by `type` (strict: unknown keys are errors); only for a registry given zod. */
  readonly configSchema: UnionOf<E>;
  /** The entry of `kind`. */
  entry<K extends E['kind']>(kind: K): Extract<E, { kind: K }>;
  /** The entry of `kind`, or undefined for a kind no entry has. */
  find(kind: string): E | undefined;
  /** Parses a config by its entry's schema, or throws the registry's `invalid` code listing each problem at its key (`port: must be ...`). */
  parse(input: unknown): ConfigOf<E>;
  /** Parses `input` (raw input is fine) and makes the implementation its `type` names. */
  create(input: unknown, deps: Parameters<E['create']>[1]): ReturnType<E['create']>;
}

/**
 * A registry over `entries`. `noun` names an implementation in messages ("a target must be an
 * object with a type (postgres, ...)"); `invalid` is the code of a config that does not parse;
 * `zod` (the `z` namespace) builds `configSchema`, for a registry whose configs are in keyturn.yaml.
 *
 * @example
 * ```ts
 * const consumers = defineRegistry({ noun: 'consumer', invalid: 'KT_CONSUMER_CONFIG_INVALID', zod: z }, [fileEntry, execEntry]);
 * consumers.parse({ type: 'file' }); // throws KT_CONSUMER_CONFIG_INVALID: path: must be the absolute path ...
 * ```
 */
export function defineRegistry<const E extends readonly [AnyEntry, ...AnyEntry[]]>(
  options: { noun: string; invalid: ErrorCode; zod?: Pick<typeof z, 'discriminatedUnion'> },
  entries: E,
): Registry<E[number]> {
  type Entry = E[number];
  const byKind = new Map<string, Entry>();
  for (const e of entries) {
    if (byKind.has(e.kind)) throw new Error(`${options.noun} registry: kind "${e.kind}" is listed twice`);
    byKind.set(e.kind, e);
  }
  const kinds = entries.map((e) => e.kind) as Array<Entry['kind']>;
  const types = kinds.join(', ');
  const invalid = (problems: string[]): KeyturnError => new KeyturnError(options.invalid, `the ${options.noun} configuration is not valid: ${problems.join('; ')}`, { details: { problems } });
  const parse = (input: unknown): ConfigOf<Entry> => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid([`a ${options.noun} must be an object with a type (${types})`]);
    const type: unknown = (input as { type?: unknown }).type;
    const entry = typeof type === 'string' ? byKind.get(type) : undefined;
    if (!entry) throw invalid([`type: type must be one of: ${types}`]);
    if (!entry.configSchema) return input as ConfigOf<Entry>;
    const result = entry.configSchema.safeParse(input);
    if (result.success) return result.data as ConfigOf<Entry>;
    throw invalid(issueLines(result.error.issues));
  };
  let union: UnionOf<Entry> | undefined;
  return {
    kinds,
    get configSchema(): UnionOf<Entry> {
      if (union) return union;
      const schemas = entries.map((e) => e.configSchema);
      if (!options.zod || !schemas.every((s) => s !== undefined)) throw new Error(`the ${options.noun} registry has no config schema`);
      union = options.zod.discriminatedUnion('type', schemas as [KindSchema, ...KindSchema[]], {
        error: (issue) => {
          if (issue.code === 'invalid_union') return `type must be one of: ${types}`;
          if (issue.code === 'invalid_type') return `a ${options.noun} must be an object with a type (${types})`;
          return undefined;
        },
      }) as unknown as UnionOf<Entry>;
      return union;
    },
    entry: <K extends Entry['kind']>(kind: K) => byKind.get(kind) as Extract<Entry, { kind: K }>,
    find: (kind) => byKind.get(kind),
    parse,
    create: (input, deps) => {
      const config = parse(input) as { type: string };
      return byKind.get(config.type)!.create(config, deps) as ReturnType<Entry['create']>;
    },
  };
}
