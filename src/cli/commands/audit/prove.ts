/** `keyturn audit prove EVENT_ID`: the event's inclusion proof in the C2SP tlog-proof form. */
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
      const { proveEvent } = await import('../../../audit/prove.js');
      const { row, proof, checkpoint } = await app.withKeyturn(opts, (kt) => proveEvent(kt.audit, event));
      if (opts.output !== undefined) writeFileSync(opts.output, proof, { mode: 0o644 });
      const data = { id: row.id, seq: row.seq, leaf: row.leaf, leafHash: row.leaf_hash, checkpointSize: checkpoint.size, proof };
      emit(app.io, !!opts.json, data, () => (opts.output === undefined ? proof : `Proof of ${row.id} (#${row.seq}) against the checkpoint at size ${checkpoint.size} written to ${opts.output}`));
    });
}
