import { describe, expect, it } from 'vitest';
import type { Stage } from '../core/types.js';
import { moveStageIn } from './stage-moves.js';

describe('moveStageIn', () => {
  it('current moving labels the version it left previous and clears pending from the new one', () => {
    const stages: Partial<Record<Stage, number>> = { current: 1, pending: 2 };
    expect(moveStageIn(stages, 'current', 2)).toBe(true);
    expect(stages).toEqual({ current: 2, previous: 1 });
  });

  it('current landing on the previous version (a rollback) takes previous off it when there was no current', () => {
    const stages: Partial<Record<Stage, number>> = { previous: 1 };
    moveStageIn(stages, 'current', 1);
    expect(stages).toEqual({ current: 1 });
  });

  it('a rollback with a current: the current becomes previous', () => {
    const stages: Partial<Record<Stage, number>> = { current: 2, previous: 1 };
    moveStageIn(stages, 'current', 1);
    expect(stages).toEqual({ current: 1, previous: 2 });
  });

  it('null takes a stage off; moving onto the same holder changes nothing', () => {
    const stages: Partial<Record<Stage, string>> = { current: 'a', pending: 'b' };
    expect(moveStageIn(stages, 'pending', null)).toBe(true);
    expect(stages).toEqual({ current: 'a' });
    expect(moveStageIn(stages, 'current', 'a')).toBe(false);
    expect(moveStageIn(stages, 'pending', null)).toBe(false);
    expect(stages).toEqual({ current: 'a' });
  });

  it('other stages move alone', () => {
    const stages: Partial<Record<Stage, string>> = { current: 'a', previous: 'z' };
    moveStageIn(stages, 'pending', 'b');
    moveStageIn(stages, 'previous', 'a');
    expect(stages).toEqual({ current: 'a', pending: 'b', previous: 'a' });
  });

  it('holders compared by `same` (objects by id)', () => {
    const stages: Partial<Record<Stage, { id: string; n: number }>> = { current: { id: 'a', n: 1 }, pending: { id: 'b', n: 2 } };
    expect(moveStageIn(stages, 'current', { id: 'b', n: 2 }, (x, y) => x.id === y.id)).toBe(true);
    expect(stages).toEqual({ current: { id: 'b', n: 2 }, previous: { id: 'a', n: 1 } });
    expect(moveStageIn(stages, 'current', { id: 'b', n: 2 }, (x, y) => x.id === y.id)).toBe(false);
  });
});
