/** `keyturn audit prove EVENT_ID`: the event's inclusion proof in the C2SP tlog-proof form (locally or through a server). */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';

export function registerProve(audit: Command, app: CliApp): void {
  common(audit.command('prove <event>'))
    .description('Print the inclusion proof of one event (by ev_… id or seq) against a signed checkpoint (c2sp.org/tlog-proof)')
    .option('--output <file>', 'write the proof to a file instead of printing it')
    .addHelpText(
      'after',
      `
The proof verifies offline with the event's leaf (keyturn audit tail --json shows it) and the
audit verifier key: the index and audit path lead from SHA-256(0x00 || leaf) to the signed root.

Examples:
  keyturn audit prove ev_42_6e340b9cffb3 > event.proof
  keyturn audit prove 1234 --json`,
    )
    .action(async (event: string, opts: CommonOptions & { output?: string }) => {
      const data = await app.withClient(opts, (client) => client.audit.prove(event));
      if (opts.output !== undefined) writeFileSync(opts.output, data.proof, { mode: 0o644 });
      emit(app.io, !!opts.json, data, () =>
        opts.output === undefined ? data.proof : `Proof of ${data.id} (#${data.seq}) against the checkpoint at size ${data.checkpointSize} written to ${opts.output}`,
      );
    });
}
