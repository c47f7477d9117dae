/** `keyturn secret put PATH`: store a new version. */
import type { Command } from 'commander';
import type { SecretMetadata } from '../../../core/types.js';
import { parseStage } from '../../../core/values.js';
import { collect, common, keyValues, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';
import { readValue, versionJson, type ValueOptions } from './shared.js';

interface PutOptions extends CommonOptions, ValueOptions {
  type?: string;
  description?: string;
  owner?: string;
  tag?: string[];
  stage: string;
  versionId?: string;
}

export function registerPut(secret: Command, app: CliApp): void {
  common(secret.command('put <path>'))
    .description('Store a new version of a secret (created if missing); it becomes current unless --stage says otherwise')
    .option('--value <value>', 'the value as an argument (visible in the process list: prefer --stdin or --file)')
    .option('--stdin', 'read the value from standard input (one trailing newline is dropped)')
    .option('--file <file>', 'read the value from a file, as is')
    .option('--field <name=value>', 'a field of a JSON value; repeat for more fields', collect)
    .option('--json-value', 'parse the value (from --value, --stdin or --file) as a JSON object of fields')
    .option('--type <type>', 'kind of secret, e.g. app-secret, database-credential')
    .option('--description <text>', 'what the secret is for')
    .option('--owner <owner>', 'who owns it')
    .option('--tag <key=value>', 'a tag; repeat for more tags (replaces all tags)', collect)
    .option('--stage <stage>', 'stage of the new version: current, pending or previous', 'current')
    .option('--version-id <id>', 'version id; repeating a put with the same id and value is a no-op')
    .addHelpText(
      'after',
      `
Examples:
  printf %s "$TOKEN" | keyturn secret put prod/api/token --stdin
  keyturn secret put prod/db/app --field username=app --field password="$PW" --type database-credential
  keyturn secret put prod/cfg --file cfg.json --json-value --tag team=payments`,
    )
    .action(async (path: string, opts: PutOptions) => {
      const stage = parseStage(opts.stage);
      const value = await readValue(opts, app.io);
      const metadata: Partial<SecretMetadata> = {};
      if (opts.type !== undefined) metadata.type = opts.type;
      if (opts.description !== undefined) metadata.description = opts.description;
      if (opts.owner !== undefined) metadata.owner = opts.owner;
      if (opts.tag !== undefined) metadata.tags = keyValues(opts.tag, 'KT_TAG_INVALID');
      const version = await app.withKeyturn(opts, async (kt) => {
        const v = await kt.store.put(path, value, { stages: [stage], metadata, ...(opts.versionId ? { versionId: opts.versionId } : {}) });
        kt.log.debug({ path, versionId: v.id, number: v.number }, 'secret version stored');
        return v;
      });
      emit(app.io, !!opts.json, { path, ...versionJson(version) }, () => `${path}: stored version ${version.number} (${version.id}) as ${version.stages.join(', ') || 'unstaged'}`);
    });
}
