/** `keyturn audit tail`: the latest events with their ids, and new ones as they come (`--follow`). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { LeafRow } from '../../../audit/repo.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { intOption } from '../../options.js';

interface TailOptions extends CommonOptions {
  lines: number;
  follow?: boolean;
  interval: number;
  max?: number;
}

export function registerTail(audit: Command, app: CliApp): void {
  common(audit.command('tail'))
    .description('Print the latest audit events, each with its id; --follow keeps printing new ones')
    .option('-n, --lines <n>', 'how many of the latest events to print first (0: none)', intOption('--lines', { min: 0 }), 20)
    .option('-f, --follow', 'keep printing events as they are written')
    .option('--interval <ms>', 'with --follow: how often to look for new events, in milliseconds (10 to 3600000)', intOption('--interval', { min: 10, max: 3_600_000 }), 1000)
    .option('--max <n>', 'stop after printing this many events (for scripts)', intOption('--max', { min: 1 }))
    .addHelpText(
      'after',
      `
Each event: ID  #SEQ  TIME  ACTION  OUTCOME [CODE]  ACTOR via SOURCE  PATH[@VERSION]  [run RUN]
With --json, one JSON object per line: {"id":"ev_…", …the event's fields}. Values are never in events.

Examples:
  keyturn audit tail -n 50
  keyturn audit tail --follow --json | jq .action
  keyturn audit tail -n 0 --follow --max 1 --json   # wait for the next event, print it, exit`,
    )
    .action(async (opts: TailOptions) => {
      const { lines, interval } = opts;
      const max = opts.max ?? Number.POSITIVE_INFINITY;
      const { eventJson, eventText } = await import('./event-view.js');
      const print = (row: LeafRow): void => {
        app.io.stdout.write(`${opts.json ? eventJson(row) : eventText(row)}\n`);
      };
      await app.withKeyturn(opts, async (kt) => {
        let printed = 0;
        const first = lines === 0 ? [] : await kt.audit.tail(Math.min(lines, max));
        for (const row of first) print(row);
        printed += first.length;
        let next = first.length > 0 ? (first[first.length - 1] as { seq: number }).seq + 1 : (await kt.audit.head()).size;
        while (opts.follow && printed < max) {
          await sleep(interval);
          const rows = await kt.audit.between(next, undefined, Math.min(1000, max - printed));
          for (const row of rows) print(row);
          printed += rows.length;
          if (rows.length > 0) next = (rows[rows.length - 1] as { seq: number }).seq + 1;
        }
      });
    });
}
