/**
 * `keyturn secret put PATH`: store a new version. The value comes from exactly one source (typed
 * hidden at a terminal with --stdin, or one field of it with --field NAME=-); an empty one is
 * refused unless --allow-empty; with --expect-version N it is written only while version N is
 * current (0: only if it does not exist). A value typed on the command line gets a warning.
 * A secret with an unfinished rotation run is refused (KT_RUN_ACTIVE) unless --supersede, which
 * stores the value under the secret's lease and cancels the run without touching the target.
 */
import type { Command } from 'commander';
import { assertValidPath } from '../../../core/paths.js';
import type { SecretMetadata } from '../../../core/types.js';
import { parseStage, printable } from '../../../core/values.js';
import { argumentsHint } from '../../arguments.js';
import { collect, common, keyValues, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';
import { canPrompt } from '../../prompt.js';
import { parseExpectVersion, readValue, versionJson, warnIfOnCommandLine, type ValueOptions } from './shared.js';

interface PutOptions extends CommonOptions, ValueOptions {
  type?: string;
  description?: string;
  owner?: string;
  tag?: string[];
  stage: string;
  versionId?: string;
  expectVersion?: string;
  supersede?: boolean;
}

export function registerPut(secret: Command, app: CliApp): void {
  common(argumentsHint(secret.command('put <path>'), 'give the value with --stdin, --file or --field'))
    .description('Store a new version of a secret (created if missing); it becomes current unless --stage says otherwise')
    .option('--value <value>', 'the value as an argument (visible in the process list: prefer --stdin or --file)')
    .option('--stdin', 'read the value from standard input (one trailing newline is dropped); at a terminal, asks for it with input hidden')
    .option('--file <file>', 'read the value from a file, as is')
    .option('--field <name=value>', 'a field of a JSON value; repeat for more fields; name=- reads that one field from standard input (asked hidden at a terminal)', collect)
    .option('--json-value', 'parse the value (from --value, --stdin or --file) as a JSON object of fields')
    .option('--allow-empty', 'accept an empty value, or a field with an empty value (refused by default: KT_VALUE_EMPTY)')
    .option('--type <type>', 'kind of secret, e.g. app-secret, database-credential')
    .option('--description <text>', 'what the secret is for')
    .option('--owner <owner>', 'who owns it')
    .option('--tag <key=value>', 'a tag; repeat for more tags (replaces all tags)', collect)
    .option('--stage <stage>', 'stage of the new version: current, pending or previous', 'current')
    .option('--version-id <id>', 'version id; repeating a put with the same id and value is a no-op')
    .option('--expect-version <n>', 'write only if version n is current now (compare-and-set); 0: only if the secret does not exist yet')
    .option('--supersede', 'when the secret has an unfinished rotation run: store the value anyway and cancel that run without touching the target')
    .addHelpText(
      'after',
      `
An empty value (an unset variable piped in, an empty file, --field password=) is refused with
KT_VALUE_EMPTY and nothing is stored; add --allow-empty when empty is what you mean.
With --expect-version, a secret whose current version is another one is left alone
(KT_VERSION_MISMATCH, exit 1): see \`keyturn secret history PATH\`, then retry.
A secret with an unfinished rotation run (\`keyturn runs ls PATH\`) is left alone (KT_RUN_ACTIVE,
exit 1): the run would otherwise set its own value on the target over yours. When you have fixed
the credential by hand (say, set a new password on the database), store it with --supersede: the
run is cancelled without touching the target, and its pending value stays staged unless your
value is seen to log in.
A value on the command line (--value, --field password=...) is visible to every user in the
process list: a warning says so. --field NAME=- reads that one field from standard input instead
(one trailing newline dropped; asked with input hidden at a terminal; only one field, not with --stdin).

Examples:
  printf %s "$TOKEN" | keyturn secret put prod/api/token --stdin
  keyturn secret put prod/api/token --stdin                            # at a terminal: asks, input hidden
  printf %s "$PW" | keyturn secret put prod/db/app --field username=app --field password=- --type database-credential
  keyturn secret put prod/db/app --field username=app --field password=-   # at a terminal: asks, input hidden
  keyturn secret put prod/cfg --file cfg.json --json-value --tag team=payments
  keyturn secret put prod/api/token --stdin --expect-version 3         # only while version 3 is current
  keyturn secret put prod/api/new --file token.txt --expect-version 0  # only if it does not exist yet
  keyturn secret put prod/flags/banner --value '' --allow-empty`,
    )
    .action(async (path: string, opts: PutOptions) => {
      const stage = parseStage(opts.stage);
      const expectCurrentVersion = parseExpectVersion(opts.expectVersion);
      // A bad path is refused before asking for a value at the terminal, not after.
      if ((opts.stdin || opts.field?.some((f) => f.endsWith('=-'))) && canPrompt(app.io)) assertValidPath(path);
      const metadata: Partial<SecretMetadata> = {};
      if (opts.type !== undefined) metadata.type = opts.type;
      if (opts.description !== undefined) metadata.description = opts.description;
      if (opts.owner !== undefined) metadata.owner = opts.owner;
      if (opts.tag !== undefined) metadata.tags = keyValues(opts.tag, 'KT_TAG_INVALID');
      const value = await readValue(opts, app.io, `Value for ${printable(path)} (input hidden): `);
      const { version, cancelled } = await app.withClient(opts, (client) =>
        client.secrets.put(path, value, {
          stages: [stage],
          metadata,
          ...(opts.versionId ? { versionId: opts.versionId } : {}),
          ...(expectCurrentVersion === undefined ? {} : { expectCurrentVersion }),
          ...(opts.supersede ? { supersede: true } : {}),
        }),
      );
      warnIfOnCommandLine(opts, app.io);
      const note = cancelled ? `; run ${cancelled.id} cancelled without touching the target (${cancelled.errorCode === 'KT_RUN_SUPERSEDED' ? 'superseded by this value' : cancelled.status})` : '';
      emit(
        app.io,
        !!opts.json,
        { path, ...versionJson(version), ...(cancelled ? { cancelledRun: cancelled.id } : {}) },
        () => `${path}: stored version ${version.number} (${version.id}) as ${version.stages.join(', ') || 'unstaged'}${note}`,
      );
    });
}
