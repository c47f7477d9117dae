/**
 * `keyturn audit ...`: the tamper-evident audit log. tail, export, verify, prove, checkpoint,
 * pubkey, hash, plus tick (heartbeat), deliver (sinks) and rotate-hash-key. docs/audit.md.
 */
import type { Command } from 'commander';
import type { CliApp } from '../app.js';
import { registerCheckpoint } from './audit/checkpoint.js';
import { registerExport } from './audit/export.js';
import { registerKeys } from './audit/keys.js';
import { registerProve } from './audit/prove.js';
import { registerTail } from './audit/tail.js';
import { registerVerify } from './audit/verify.js';

export function registerAudit(program: Command, app: CliApp): void {
  const audit = program
    .command('audit')
    .description('Read, export, prove and verify the tamper-evident audit log')
    .addHelpText(
      'after',
      `
Every write, value read, rotation step and config change is an event; values never are.
The log verifies with its public key alone (keyturn audit pubkey). See docs/audit.md.

Examples:
  keyturn audit tail -n 50
  keyturn audit verify
  keyturn audit pubkey > audit.vkey
  keyturn audit export --hours 24 --output audit-today.jsonl`,
    );
  registerTail(audit, app);
  registerExport(audit, app);
  registerVerify(audit, app);
  registerProve(audit, app);
  registerCheckpoint(audit, app);
  registerKeys(audit, app);
}
