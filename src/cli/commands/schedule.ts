/**
 * `keyturn schedule show PATH`: a secret's effective rotation schedule, where each value came
 * from (the secret, a default under `schedules:`, a preset, or the built-in default), its last
 * rotation and its next due time; `keyturn schedule presets`: the built-in presets. (`keyturn
 * policy` is about access policies; rotation schedules live here.)
 */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';

// What prints a schedule (and the schedule modules, with croner and zod) loads only when a subcommand runs.
const view = () => import('./schedule/view.js');

export function registerSchedule(program: Command, app: CliApp): void {
  const schedule = program
    .command('schedule')
    .description('Show rotation schedules: when a secret rotates by itself, and why')
    .addHelpText(
      'after',
      `
A secret's schedule comes from keyturn.yaml: its own schedule: block, over the defaults under
schedules: (by path prefix, then by type, then all), over the built-in defaults (manual: never
rotated by itself). See docs/schedule.md.

Examples:
  keyturn schedule show prod/api/token
  keyturn schedule show prod/api/token --json | jq -r .next.dueAt
  keyturn schedule presets`,
    );

  common(schedule.command('show <path>'))
    .description('Show the effective schedule of a secret, where each value came from, its last rotation and next due time')
    .addHelpText(
      'after',
      `
The last rotation is the creation of the current version (a value stored by hand restarts the
clock too). Times are UTC. Through a server (KEYTURN_ADDR) the token needs list on the path.

Examples:
  keyturn schedule show prod/api/token
  keyturn schedule show prod/api/token --json | jq '{due: .next.dueAt, from: .sources.cadence}'`,
    )
    .action(async (path: string, opts: CommonOptions) => {
      const shown = await app.withClient(opts, (client) => client.runs.schedule(path));
      const { scheduleJson, scheduleText } = await view();
      emit(app.io, !!opts.json, scheduleJson(shown), () => scheduleText(shown));
    });

  common(schedule.command('presets'))
    .description('List the built-in presets (preset: NAME in a schedule block)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn schedule presets
  keyturn schedule presets --json | jq -r '.[].name'`,
    )
    .action(async (opts: CommonOptions) => {
      const list = (await view()).presetList();
      emit(app.io, !!opts.json, list, () =>
        table(
          ['PRESET', 'EVERY', 'WARNING', 'FOR'],
          list.map((p) => [p.name, p.every, p.expiryWarning, p.description]),
        ),
      );
    });
}
