/**
 * Localises damage in the part of an audit log no checkpoint vouches for, using the `seq` and
 * `prev` every event records (see event.ts).
 *
 * Leaves before `start` are proven by a signed checkpoint, so only `[start, n)` is examined:
 *
 * 1. Each entry is decoded (an undecodable one is kept as an unexplained entry).
 * 2. An entry is *confirmed* when the entry claiming the next seq records its leaf hash as
 *    `prev`, and *linked* when its own `prev` is the hash of an entry claiming the previous
 *    seq. For each seq, the best-anchored entry claiming it becomes its holder (confirmed beats
 *    linked; on a tie the later position wins, since insertions push originals later). An
 *    unanchored entry is accepted only if its seq fits between its anchored neighbours.
 * 3. Entries holding no seq are unexplained. A seq with no holder is missing; a missing seq
 *    whose slot (between the holders of its neighbours) has an unexplained entry was *changed*
 *    (its seq, prev or syntax was hit), otherwise it was *removed*. Remaining unexplained
 *    entries were *inserted*.
 * 4. A holder whose successor's `prev` is not its hash was *changed* (unless that successor was
 *    itself found changed: its `prev` is then no evidence, so of two altered neighbours the
 *    earlier one may go unnamed; the checkpoint mismatch still covers it).
 * 5. Holders out of seq order were *swapped* (pairs that exchanged places) or *reordered*.
 *
 * The chain alone cannot see a change to the very last entry, or a rewrite that re-links every
 * later `prev`; the caller reports those as a checkpoint mismatch over a range.
 *
 * @example
 * ```ts
 * const { problems, lastIndex } = diagnoseLeaves({ leaves, hashes, start: 900, claimedSize: 1000 });
 * ```
 */
import type { AuditEvent } from './event.js';
import { GENESIS_PREV, decodeEvent } from './event.js';
import type { LeafProblem } from './problem.js';

export interface DiagnoseInput {
  readonly leaves: readonly Uint8Array[];
  /** Leaf hash of every leaf, same length as `leaves`. */
  readonly hashes: readonly Uint8Array[];
  /** Leaves `[0, start)` are authenticated by a checkpoint; examination starts here. */
  readonly start: number;
  /** The largest size a valid checkpoint or the trusted checkpoint vouches for (0 if none). */
  readonly claimedSize: number;
}

export interface Diagnosis {
  readonly problems: LeafProblem[];
  /** The highest seq held by an entry (start - 1 when the region is empty). */
  readonly lastIndex: number;
}

/** Finds which entries in `[start, n)` were changed, removed, inserted or moved. */
export function diagnoseLeaves(input: DiagnoseInput): Diagnosis {
  const { leaves, hashes, start, claimedSize } = input;
  const n = leaves.length;
  if (start >= n) return { problems: [], lastIndex: start - 1 };

  const events = new Map<number, AuditEvent>();
  for (let p = start; p < n; p++) {
    try {
      events.set(p, decodeEvent(leaves[p] as Uint8Array));
    } catch {
      // Undecodable: stays unexplained and is matched against missing seqs below.
    }
  }
  const hex = (p: number): string => Buffer.from(hashes[p] as Uint8Array).toString('hex');
  const seqAt = (p: number): number | undefined => (p === start - 1 ? start - 1 : events.get(p)?.seq);

  const byHash = new Map<string, number[]>();
  const bySeq = new Map<number, number[]>();
  for (let p = Math.max(0, start - 1); p < n; p++) push(byHash, hex(p), p);
  for (const [p, e] of events) if (e.seq >= start) push(bySeq, e.seq, p);

  // Step 2: anchoring.
  const confirmed = new Set<number>();
  const linked = new Set<number>();
  for (const [p, e] of events) {
    if (e.seq === 0 ? e.prev === GENESIS_PREV : false) linked.add(p);
    for (const q of byHash.get(e.prev) ?? []) {
      if (seqAt(q) === e.seq - 1) {
        confirmed.add(q);
        linked.add(p);
      }
    }
  }
  const score = (p: number): number => (confirmed.has(p) ? 2 : 0) + (linked.has(p) ? 1 : 0);

  const holder = new Map<number, number>();
  for (const [seq, positions] of bySeq) {
    const best = pickBest(
      positions.filter((p) => score(p) > 0),
      score,
    );
    if (best !== undefined) holder.set(seq, best);
  }
  const anchored = [...holder.entries()].map(([seq, p]) => ({ seq, p })).sort((a, b) => a.p - b.p);
  const slack = Math.max(0, claimedSize - n) + 1;
  for (const [seq, positions] of bySeq) {
    if (holder.has(seq)) continue;
    const fits = positions.filter((p) => {
      const below = neighbourBelow(anchored, p) ?? { seq: start - 1, p: start - 1 };
      const above = neighbourAbove(anchored, p);
      if (seq <= below.seq) return false;
      return above !== undefined ? seq < above.seq : seq - below.seq <= p - below.p + slack;
    });
    const best = pickBest(fits, () => 0);
    if (best !== undefined) holder.set(seq, best);
  }

  // Step 3: missing seqs, changed slots, inserted entries.
  const held = new Set(holder.values());
  const unexplained: number[] = [];
  for (let p = start; p < n; p++) if (!held.has(p)) unexplained.push(p);
  let lastIndex = start - 1;
  for (const seq of holder.keys()) if (seq > lastIndex) lastIndex = seq;
  const positionOf = (seq: number): number | undefined => (seq === start - 1 ? start - 1 : holder.get(seq));
  const problems: LeafProblem[] = [];
  const used = new Set<number>();
  const changed = new Set<number>();
  for (let seq = start; seq <= lastIndex; seq++) {
    if (holder.has(seq)) continue;
    let lo = seq - 1;
    while (lo >= start && !holder.has(lo)) lo--;
    let hi = seq + 1;
    while (!holder.has(hi)) hi++;
    const low = lo < start ? start - 1 : (positionOf(lo) as number);
    const high = holder.get(hi) as number;
    const slot = unexplained.find((p) => !used.has(p) && p > low && p < high);
    if (slot !== undefined) {
      used.add(slot);
      changed.add(seq);
      problems.push(leafChanged(seq, slot, 'it no longer reads as the event written there'));
    } else {
      problems.push({ kind: 'leaf_missing', code: 'KT_AUDIT_LEAF_MISSING', index: seq, message: `entry ${seq} was removed: the entries around it are present but it is not` });
    }
  }
  for (const p of unexplained) {
    if (used.has(p)) continue;
    problems.push({ kind: 'leaf_inserted', code: 'KT_AUDIT_LEAF_INSERTED', position: p, message: `the entry at position ${p} was inserted: the log never wrote it there` });
  }

  // Step 4: content changes, seen from the successor's prev. Highest seq first, so a successor
  // already found changed is not trusted as a witness against its predecessor.
  for (const seq of [...holder.keys()].sort((a, b) => b - a)) {
    const p = holder.get(seq) as number;
    const next = holder.get(seq + 1);
    if (next === undefined || changed.has(seq) || changed.has(seq + 1)) continue;
    if ((events.get(next) as AuditEvent).prev !== hex(p)) {
      changed.add(seq);
      const witness = holder.has(seq + 2) ? '' : ` (or the prev of entry ${seq + 1}, the last one, was altered)`;
      problems.push(leafChanged(seq, p, `entry ${seq + 1} records a different hash for it${witness}`));
    }
  }
  const first = holder.get(start);
  if (start > 0 && first !== undefined && !changed.has(start) && (events.get(first) as AuditEvent).prev !== hex(start - 1)) {
    problems.push(leafChanged(start, first, `its prev does not match entry ${start - 1}, which a checkpoint proves`));
  }

  // Step 5: order.
  problems.push(...orderProblems([...holder.entries()].map(([seq, p]) => ({ seq, p })).sort((a, b) => a.p - b.p)));
  problems.sort((a, b) => rank(a) - rank(b));
  return { problems, lastIndex };
}

function orderProblems(byPosition: { seq: number; p: number }[]): LeafProblem[] {
  const sorted = byPosition.map((h) => h.seq).sort((a, b) => a - b);
  const wrong: number[] = [];
  for (let k = 0; k < byPosition.length; k++) if ((byPosition[k] as { seq: number }).seq !== sorted[k]) wrong.push(k);
  if (wrong.length === 0) return [];
  const out: LeafProblem[] = [];
  const paired = new Set<number>();
  const wrongAt = new Map(wrong.map((k) => [sorted[k] as number, k]));
  for (const k of wrong) {
    if (paired.has(k)) continue;
    const here = byPosition[k] as { seq: number; p: number };
    const j = wrongAt.get(here.seq);
    if (j !== undefined && j !== k && !paired.has(j) && (byPosition[j] as { seq: number }).seq === sorted[k]) {
      const there = byPosition[j] as { seq: number; p: number };
      paired.add(k).add(j);
      const [a, b] = here.seq < there.seq ? [here, there] : [there, here];
      out.push({
        kind: 'leaves_swapped',
        code: 'KT_AUDIT_LEAVES_REORDERED',
        indices: [a.seq, b.seq],
        positions: [a.p, b.p],
        message: `entries ${a.seq} and ${b.seq} were swapped: ${a.seq} is at position ${a.p} and ${b.seq} at position ${b.p}`,
      });
    }
  }
  const rest = wrong.filter((k) => !paired.has(k)).map((k) => (byPosition[k] as { seq: number }).seq);
  if (rest.length > 0) {
    const shown = rest.slice(0, 20).join(', ') + (rest.length > 20 ? ', ...' : '');
    out.push({ kind: 'leaves_reordered', code: 'KT_AUDIT_LEAVES_REORDERED', indices: rest, message: `entries ${shown} are out of order` });
  }
  return out;
}

function leafChanged(index: number, position: number, why: string): LeafProblem {
  return { kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED', index, position, message: `entry ${index} was changed: ${why}` };
}

function rank(p: LeafProblem): number {
  switch (p.kind) {
    case 'leaf_changed':
    case 'leaf_missing':
      return p.index;
    case 'leaf_inserted':
      return p.position;
    case 'leaves_swapped':
      return p.positions[0];
    case 'leaves_reordered':
      return Number.MAX_SAFE_INTEGER;
  }
}

/** Highest score wins; on a tie, the later position (insertions push originals later). */
function pickBest(positions: number[], score: (p: number) => number): number | undefined {
  let best: number | undefined;
  for (const p of positions) {
    if (best === undefined || score(p) > score(best) || (score(p) === score(best) && p > best)) best = p;
  }
  return best;
}

function neighbourBelow(sorted: readonly { seq: number; p: number }[], p: number): { seq: number; p: number } | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as { p: number }).p < p) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? sorted[lo - 1] : undefined;
}

function neighbourAbove(sorted: readonly { seq: number; p: number }[], p: number): { seq: number; p: number } | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as { p: number }).p <= p) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
