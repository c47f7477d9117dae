/**
 * `keyturn audit tail`: the latest events with their ids, and new ones as they come (`--follow`:
 * it looks every --interval ms; through a server, `GET /v1/audit/events?after=SEQ`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { AuditEventView } from '../../../client/client.js';
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
With KEYTURN_ADDR, through the server: a token sees the events about paths it may audit (all with audit on **).

Examples:
  keyturn audit tail -n 50
  keyturn audit tail --follow --json | jq .action
  keyturn audit tail -n 0 --follow --max 1 --json   # wait for the next event, print it, exit`,
    )
    .action(async (opts: TailOptions) => {
      const { lines, interval } = opts;
      const max = opts.max ?? Number.POSITIVE_INFINITY;
      const { eventJson, eventText } = await import('./event-view.js');
      const print = (events: readonly AuditEventView[]): number => {
        for (const e of events) app.io.stdout.write(`${opts.json ? eventJson(e) : eventText(e)}\n`);
        return events.length;
      };
      await app.withClient(opts, async (client) => {
        const first = await client.audit.latest(Math.min(lines, max));
        let printed = print(first.events);
        let { next } = first;
        while (opts.follow && printed < max) {
          await sleep(interval);
          const page = await client.audit.from(next, Math.min(1000, max - printed));
          printed += print(page.events);
          next = page.next;
        }
      });
    });
}
