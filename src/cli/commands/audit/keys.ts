/**
 * `keyturn audit pubkey`, `audit hash VALUE` and `audit rotate-hash-key`: the verifying key to
 * publish (also through a server), the HMAC to search the log for a value, and rotating the HMAC
 * key (both only on a local home: the HMAC keys never leave it).
 */
import type { Command } from 'commander';
import { collect, common, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';
import { readValue, warnIfOnCommandLine, type ValueOptions } from '../secret/shared.js';
import { localOnly } from './format.js';

export function registerKeys(audit: Command, app: CliApp): void {
  common(audit.command('pubkey'))
    .description('Print the audit verifier key (C2SP vkey NAME+KEYID+BASE64): publish it; verifying needs nothing else')
    .addHelpText(
      'after',
      `
Examples:
  keyturn audit pubkey > audit.vkey
  keyturn audit verify --file audit-today.jsonl --pubkey audit.vkey`,
    )
    .action(async (opts: CommonOptions) => {
      const data = await app.withClient(opts, (client) => client.audit.verifierKey());
      emit(app.io, !!opts.json, data, () => data.verifierKey);
    });

  common(audit.command('hash [value]'))
    .description('Print the HMAC that audit events carry for a value (valueHmac), under every audit HMAC key; --find lists the events')
    .option('--stdin', 'read the value from standard input (one trailing newline is dropped)')
    .option('--file <file>', 'read the value from a file, as is')
    .option('--field <name=value>', 'a field of a fields value; repeat for every field; name=- reads that field from standard input', collect)
    .option('--json-value', 'parse the value as a JSON object of fields')
    .option('--allow-empty', 'hash an empty value, or fields with an empty value (refused by default: KT_VALUE_EMPTY)')
    .option('--find', 'also list the local events that carry it')
    .addHelpText(
      'after',
      `
A fields value is hashed as its RFC 8785 canonical JSON, so give every field (in any order).
The value argument is visible in the process list: prefer --stdin (at a terminal it asks, with
input hidden). The hash is computed with keys only this Keyturn holds; the request itself is
recorded (audit.hash), never the value. An empty value is refused like in \`secret put\`, so an
unset variable piped in does not come back as "0 events carry it"; --allow-empty hashes it (to
look for values stored with --allow-empty).

Examples:
  printf %s "$LEAKED" | keyturn audit hash --stdin --find
  printf %s "$PW" | keyturn audit hash --field username=app --field password=-`,
    )
    .action(async (value: string | undefined, opts: CommonOptions & ValueOptions & { find?: boolean }) => {
      await localOnly(app, opts, 'hash', "the audit HMAC keys never leave the home; run it on the server's host");
      const secret = await readValue({ ...opts, ...(value === undefined ? {} : { value }) }, app.io, 'Value to hash (input hidden): ');
      const [{ valueBytes }, { rowJson, rowText }] = await Promise.all([import('../../../audit/hooks.js'), import('./event-view.js')]);
      const data = await app.withKeyturn(opts, async (kt) => {
        const hashes = kt.audit.hashAll(valueBytes(secret));
        await kt.audit.append({ action: 'audit.hash', outcome: 'success' });
        const events: string[] = [];
        const json: unknown[] = [];
        if (opts.find) {
          await kt.audit.pages(0, (rows) => {
            for (const row of rows) {
              if (!hashes.some((h) => row.leaf.includes(`"valueHmac":"${h}"`))) continue;
              events.push(rowText(row));
              json.push(JSON.parse(rowJson(row)));
            }
          });
        }
        return { hashes, events, json };
      });
      warnIfOnCommandLine({ ...opts, ...(value === undefined ? {} : { value }) }, app.io);
      emit(app.io, !!opts.json, { hashes: data.hashes, ...(opts.find ? { events: data.json } : {}) }, () =>
        [...data.hashes, ...(opts.find ? ['', `${data.events.length} event(s) carry it${data.events.length ? ':' : '.'}`, ...data.events] : [])].join('\n'),
      );
    });

  common(audit.command('rotate-hash-key'))
    .description('Make a fresh audit HMAC key the active one; older keys stay, so older events remain searchable')
    .addHelpText(
      'after',
      `
Examples:
  keyturn audit rotate-hash-key
  keyturn audit rotate-hash-key --json`,
    )
    .action(async (opts: CommonOptions) => {
      await localOnly(app, opts, 'rotate-hash-key', "the audit HMAC keys never leave the home; run it on the server's host");
      const id = await app.withKeyturn(opts, async (kt) => {
        const keyId = await kt.audit.rotateHmacKey();
        await kt.audit.append({ action: 'audit.hash-key.rotate', outcome: 'success' });
        return keyId;
      });
      emit(app.io, !!opts.json, { hmacKeyId: id }, () => `The audit HMAC key is now ${id}; events from now on carry hmac-sha256:${id}:…`);
    });
}
