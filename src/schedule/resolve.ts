/**
 * The effective rotation schedule of a secret: its own `schedule:` block over the defaults of
 * `schedules:` in keyturn.yaml over the built-in defaults, key by key, with where each value
 * came from. Pure: no I/O, no clock.
 *
 * Precedence, lowest first: the built-in defaults; `schedules.all`; `schedules.types.TYPE`;
 * `schedules.paths.PREFIX` for each prefix of the path, shortest first (so the most specific
 * prefix wins); the secret's own `schedule:`. Within one block, a `preset:` counts first and the
 * block's own keys win over it. The cadence (`every`, `rate`, `cron` with its `timezone`, or
 * `manual`) is one key: a block that sets one of them replaces the cadence whole. `window` is
 * one key too (a block's window replaces the inherited one, `window: null` removes it).
 *
 * @example
 * ```ts
 * const { schedule, issues } = resolveSchedule({
 *   path: 'prod/api/token', type: 'app-secret', rotatable: true,
 *   own: { jitter: '10m' },
 *   defaults: { paths: { prod: { preset: 'api-token' } } },
 * });
 * schedule.cadence; // { every: '60d' }
 * schedule.sources.cadence; // { from: 'preset', preset: 'api-token', key: 'schedules.paths.prod.preset' }
 * schedule.sources.jitter; // { from: 'secret', key: 'secrets.prod/api/token.schedule' }
 * ```
 */
import { pathHasPrefix } from '../core/paths.js';
import { formatDuration } from '../core/duration.js';
import { PRESETS, type Preset, type PresetName } from './presets.js';
import { durationMs, normalizeWindow, type ScheduleInput } from './schema.js';
import type { WindowSpec } from './window.js';

/** The keys of an effective schedule, each with its own source. */
export const SCHEDULE_KEYS = ['cadence', 'window', 'jitter', 'maxAge', 'expiryWarning', 'retainPrevious', 'grace'] as const;
export type ScheduleKey = (typeof SCHEDULE_KEYS)[number];

/** How often a secret rotates. */
export type Cadence = { every: string } | { rate: string } | { cron: string; timezone: string } | { manual: true };

/**
 * Where a value came from: a built-in default; a block of keyturn.yaml (`key` is its dot-path:
 * `schedules.all`, `schedules.types.app-secret`, `schedules.paths.prod`,
 * `secrets.prod/api/token.schedule`); or a preset named in such a block (`key` ends in `.preset`).
 */
export type ScheduleSource = { from: 'built-in' } | { from: 'all' | 'type' | 'prefix' | 'secret'; key: string } | { from: 'preset'; preset: PresetName; key: string };

/** The values of a schedule, every one explicit. Durations are texts such as `90d` (./schema.ts `durationMs`). */
export interface ScheduleValues {
  readonly cadence: Cadence;
  /** When a rotation may start; null: any time. */
  readonly window: WindowSpec | null;
  /** `0s`: none. */
  readonly jitter: string;
  /** Null: the secret is overdue `expiryWarning` past its planned due time (./due.ts). */
  readonly maxAge: string | null;
  readonly expiryWarning: string;
  readonly retainPrevious: string;
  /** Null: the previous credential keeps working until the next rotation. */
  readonly grace: string | null;
}

export interface EffectiveSchedule extends ScheduleValues {
  readonly sources: Readonly<Record<ScheduleKey, ScheduleSource>>;
  /** Why a value from a default does not apply (a secret that is not rotated keeps no cadence). */
  readonly notes: readonly string[];
}

/** The defaults section of keyturn.yaml (`schedules:`). */
export interface ScheduleDefaults {
  readonly all?: ScheduleInput | undefined;
  readonly types?: Readonly<Record<string, ScheduleInput | undefined>> | undefined;
  readonly paths?: Readonly<Record<string, ScheduleInput | undefined>> | undefined;
}

/** What is known of a secret when resolving its schedule. */
export interface ScheduleSubject {
  readonly path: string;
  readonly type: string;
  /** Whether Keyturn can rotate it (it has a target, or is an app-secret). */
  readonly rotatable: boolean;
  /** The secret's own `schedule:` block. */
  readonly own?: ScheduleInput | undefined;
  readonly defaults?: ScheduleDefaults | undefined;
}

/** A problem with the combination, at a key path of keyturn.yaml. */
export interface ScheduleIssue {
  path: string[];
  message: string;
}

const BUILT_IN: ScheduleValues = Object.freeze({
  cadence: { manual: true as const },
  window: null,
  jitter: '0s',
  maxAge: null,
  expiryWarning: '7d',
  retainPrevious: '7d',
  grace: null,
});

type Mutable = { -readonly [K in keyof ScheduleValues]: ScheduleValues[K] };

/** A preset as the block it stands for. */
function presetBlock(name: PresetName): ScheduleInput {
  const { description: _d, ...values } = PRESETS[name] as Preset;
  return values;
}

/** The cadence a block sets, if any. */
function cadenceOf(b: ScheduleInput): Cadence | undefined {
  if (b.every !== undefined) return { every: b.every };
  if (b.rate !== undefined) return { rate: b.rate };
  if (b.cron !== undefined) return { cron: b.cron, timezone: b.timezone ?? 'UTC' };
  if (b.manual) return { manual: true };
  return undefined;
}

/** The values a block sets, key by key (a preset's are applied before it by the caller). */
function valuesOf(b: ScheduleInput): Partial<Mutable> {
  const out: Partial<Mutable> = {};
  const cadence = cadenceOf(b);
  if (cadence) out.cadence = cadence;
  if (b.window !== undefined) out.window = b.window === null ? null : normalizeWindow(b.window);
  if (b.jitter !== undefined) out.jitter = b.jitter;
  if (b.maxAge !== undefined) out.maxAge = b.maxAge;
  if (b.expiryWarning !== undefined) out.expiryWarning = b.expiryWarning;
  if (b.retainPrevious !== undefined) out.retainPrevious = b.retainPrevious;
  if (b.grace !== undefined) out.grace = b.grace;
  return out;
}

/** A cadence as text: `every 90d`, `rate 20m`, `cron "0 2 * * 1" (Europe/Paris)`, `manual`. */
export function describeCadence(c: Cadence): string {
  if ('every' in c) return `every ${c.every}`;
  if ('rate' in c) return `rate ${c.rate}`;
  if ('cron' in c) return `cron "${c.cron}" (${c.timezone})`;
  return 'manual';
}

/** A source as text: `built-in default`, `schedules.paths.prod`, `preset api-token (schedules.paths.prod.preset)`. */
export function describeSource(s: ScheduleSource): string {
  if (s.from === 'built-in') return 'built-in default';
  if (s.from === 'preset') return `preset ${s.preset} (${s.key})`;
  return s.key;
}

/** The fixed period of a cadence (every, rate) in milliseconds; null for cron and manual. */
export function periodMs(c: Cadence): number | null {
  if ('every' in c) return durationMs(c.every);
  if ('rate' in c) return durationMs(c.rate);
  return null;
}

/** The blocks that apply to a secret, lowest precedence first, each with its key path and kind. */
function layers(subject: ScheduleSubject): Array<{ block: ScheduleInput; from: 'all' | 'type' | 'prefix' | 'secret'; key: string[] }> {
  const d = subject.defaults ?? {};
  const out: Array<{ block: ScheduleInput; from: 'all' | 'type' | 'prefix' | 'secret'; key: string[] }> = [];
  if (d.all) out.push({ block: d.all, from: 'all', key: ['schedules', 'all'] });
  const byType = d.types?.[subject.type];
  if (byType) out.push({ block: byType, from: 'type', key: ['schedules', 'types', subject.type] });
  const prefixes = Object.keys(d.paths ?? {})
    .filter((p) => pathHasPrefix(subject.path, p))
    .sort((a, b) => a.split('/').length - b.split('/').length);
  for (const p of prefixes) out.push({ block: d.paths![p]!, from: 'prefix', key: ['schedules', 'paths', p] });
  if (subject.own) out.push({ block: subject.own, from: 'secret', key: ['secrets', subject.path, 'schedule'] });
  return out;
}

/**
 * The effective schedule of a secret and the problems of its combination (each at a key path of
 * keyturn.yaml; empty when it is fine). Blocks are assumed valid on their own (./schema.ts).
 */
export function resolveSchedule(subject: ScheduleSubject): { schedule: EffectiveSchedule; issues: ScheduleIssue[] } {
  const values: Mutable = { ...BUILT_IN };
  const sources = Object.fromEntries(SCHEDULE_KEYS.map((k) => [k, { from: 'built-in' }])) as Record<ScheduleKey, ScheduleSource>;
  const apply = (set: Partial<Mutable>, source: ScheduleSource) => {
    for (const k of SCHEDULE_KEYS) {
      if (!(k in set)) continue;
      (values as Record<ScheduleKey, unknown>)[k] = set[k];
      sources[k] = source;
    }
  };
  for (const layer of layers(subject)) {
    const key = layer.key.join('.');
    if (layer.block.preset) apply(valuesOf(presetBlock(layer.block.preset)), { from: 'preset', preset: layer.block.preset, key: `${key}.preset` });
    apply(valuesOf(layer.block), { from: layer.from, key });
  }
  const issues: ScheduleIssue[] = [];
  const notes: string[] = [];
  const at = ['secrets', subject.path, 'schedule'];
  const where = (k: ScheduleKey) => describeSource(sources[k]);
  const ownCadence = subject.own !== undefined && (sources.cadence.from === 'secret' || (sources.cadence.from === 'preset' && sources.cadence.key.startsWith('secrets.')));
  if (subject.own !== undefined && sources.cadence.from === 'built-in') {
    issues.push({ path: at, message: 'no cadence: set one of every, rate, cron or manual: true, or a preset (here or as a default under schedules:)' });
  }
  if (!subject.rotatable && !('manual' in values.cadence)) {
    const what = `${subject.type} without a target is stored, not rotated`;
    if (ownCadence) issues.push({ path: at, message: `a ${what}: use manual: true to track its age, or give it a target` });
    else {
      notes.push(`${describeCadence(values.cadence)} from ${where('cadence')} does not apply: a ${what}`);
      values.cadence = { manual: true };
      sources.cadence = { from: 'built-in' };
    }
  }
  const period = periodMs(values.cadence);
  const jitter = durationMs(values.jitter, true) ?? 0;
  if (period !== null && jitter >= period) {
    issues.push({ path: at, message: `jitter ${values.jitter} (from ${where('jitter')}) must be shorter than ${describeCadence(values.cadence)} (from ${where('cadence')})` });
  }
  const maxAge = values.maxAge === null ? null : durationMs(values.maxAge);
  if (period !== null && maxAge !== null && maxAge < period + jitter) {
    issues.push({
      path: at,
      message: `maxAge ${values.maxAge} (from ${where('maxAge')}) is shorter than ${describeCadence(values.cadence)}${jitter > 0 ? ` plus jitter ${formatDuration(jitter)}` : ''}: the secret would be overdue before it is due`,
    });
  }
  return { schedule: { ...values, sources, notes }, issues };
}

/** Whether every value of the schedule is a built-in default (nothing in keyturn.yaml says anything about it). */
export function isBuiltIn(schedule: EffectiveSchedule): boolean {
  return SCHEDULE_KEYS.every((k) => schedule.sources[k].from === 'built-in') && schedule.notes.length === 0;
}

/** The schedule of a secret that keyturn.yaml says nothing about. */
export function builtInSchedule(): EffectiveSchedule {
  return resolveSchedule({ path: '-', type: '-', rotatable: true }).schedule;
}
