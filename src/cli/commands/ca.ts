/**
 * `keyturn ca init` and `keyturn ca show`: the internal certificate authority Keyturn keeps. `init`
 * makes a self-signed root and an intermediate it signs (src/certs/issue/ca.ts) and stores them
 * as the secrets `<prefix>/root` and `<prefix>/intermediate` (certificate values: cert, key,
 * chain, notAfter, serial; written like `keyturn secret put`, so audited), refusing with
 * KT_CA_EXISTS when either exists (deleted ones included). The intermediate is what an
 * `internal-ca` target names as its `admin:`. `show` prints the CA's certificates' facts, or with
 * `--pem` the root certificate itself, for trust stores. Private keys are never printed. Only this
 * file loads with `--help`: the X.509 code is imported when a command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import type { VersionInfo } from '../../core/types.js';
import type { KeyType } from '../../certs/issue/keys.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, emitData } from '../io.js';

/** The key types (src/certs/issue/keys.ts, not imported: it loads node:crypto, which --help must not). */
const KEY_TYPES = ['ec-p256', 'rsa-2048', 'ed25519'] as const satisfies readonly KeyType[];
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
const DEFAULT_PREFIX = 'pki/ca';
const DEFAULT_NAME = 'Keyturn Internal CA';

interface InitOptions extends CommonOptions {
  prefix: string;
  name: string;
  rootValidity: number;
  intermediateValidity: number;
  keyType: KeyType;
}

interface ShowOptions extends CommonOptions {
  prefix: string;
  pem?: boolean;
}

/** A validity: a duration (`90d`) or a whole number of 365-day years (`10y`). */
function validityOption(name: string): (value: string) => number {
  return (value) => {
    const years = /^(\d{1,3})y$/.exec(value.trim());
    const ms = years ? Number(years[1]) * YEAR_MS : parseDuration(value);
    if (ms === null || ms <= 0) throw new InvalidArgumentError(`${name} takes a duration such as 10y (365-day years), 1095d or 24h.`);
    if (ms > 100 * YEAR_MS) throw new InvalidArgumentError(`${name} takes at most 100y.`);
    return ms;
  };
}

function keyTypeOption(value: string): KeyType {
  if (!(KEY_TYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--key-type takes one of ${KEY_TYPES.join(', ')}.`);
  return value as KeyType;
}

function prefixOf(text: string): string {
  return text.replace(/\/+$/, '');
}

/** What is shown of a CA certificate (never its key). */
interface CaFacts {
  path: string;
  version?: number;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

async function factsOf(path: string, pem: string, version?: VersionInfo): Promise<CaFacts> {
  const { certificateFacts } = await import('../../certs/probe.js');
  const f = certificateFacts(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  return {
    path,
    ...(version ? { version: version.number } : {}),
    subject: f.subject,
    issuer: f.issuer,
    serial: f.serialNumber.toLowerCase(),
    notBefore: f.notBefore,
    notAfter: f.notAfter,
    fingerprint256: f.fingerprint256,
  };
}

function factsText(f: CaFacts): string {
  return [
    `${f.path}${f.version === undefined ? '' : ` (version ${f.version})`}`,
    `  subject       ${f.subject}`,
    `  serial        ${f.serial}`,
    `  not after     ${f.notAfter}`,
    `  sha-256       ${f.fingerprint256}`,
  ].join('\n');
}

export function registerCa(program: Command, app: CliApp): void {
  const ca = program
    .command('ca')
    .description("Keyturn's internal certificate authority: create it, show it")
    .addHelpText(
      'after',
      `
The internal CA is a root and an intermediate stored as secrets (<prefix>/root and
<prefix>/intermediate). An internal-ca target names the intermediate as its admin: and issues
TLS certificates from it with the renew strategy (docs/certificates.md).

Examples:
  keyturn ca init
  keyturn ca show --pem > keyturn-root.pem`,
    );

  common(ca.command('init'))
    .description('Create the internal CA: a root and an intermediate it signs, stored as <prefix>/root and <prefix>/intermediate')
    .option('--prefix <path>', 'where the two secrets are stored', DEFAULT_PREFIX)
    .option('--name <name>', 'the CA name: the root is "<name> Root", the intermediate "<name> Intermediate"', DEFAULT_NAME)
    .addOption(new Option('--root-validity <duration>', 'how long the root is valid (y = 365 days)').argParser(validityOption('--root-validity')).default(10 * YEAR_MS, '10y'))
    .addOption(
      new Option('--intermediate-validity <duration>', "how long the intermediate is valid (never past the root's end)")
        .argParser(validityOption('--intermediate-validity'))
        .default(3 * YEAR_MS, '3y'),
    )
    .option('--key-type <type>', `key type of both CA keys: ${KEY_TYPES.join(', ')}`, keyTypeOption, 'ec-p256' as KeyType)
    .addHelpText(
      'after',
      `
Refused with KT_CA_EXISTS when <prefix>/root or <prefix>/intermediate exists (deleted ones too):
a new CA would make every certificate issued from the old one untrusted.

The root's private key is stored with the intermediate's in the Keyturn home; only the
intermediate issues certificates. Add the root certificate (keyturn ca show --pem) to the
trust stores of the clients. Private keys are never printed.

Examples:
  keyturn ca init
  keyturn ca init --prefix pki/staging-ca --name "Staging CA" --root-validity 5y --intermediate-validity 1y
  keyturn ca init --json | jq -r .root.fingerprint256`,
    )
    .action(async (opts: InitOptions) => {
      const prefix = prefixOf(opts.prefix);
      const rootPath = `${prefix}/root`;
      const intermediatePath = `${prefix}/intermediate`;
      if (opts.name.trim() === '' || opts.name.length > 50) throw new KeyturnError('KT_USAGE', '--name must be 1 to 50 characters (the common names add " Intermediate")');
      const { createRootCa, createIntermediateCa } = await import('../../certs/issue/ca.js');
      const { toSecretValue } = await import('../../certs/value.js');
      const exists = (): KeyturnError =>
        new KeyturnError('KT_CA_EXISTS', `an internal CA is already stored under ${prefix} (${rootPath} or ${intermediatePath} exists): nothing was changed`, { details: { prefix } });
      const stored = await app.withClient(opts, async (client) => {
        const present = await client.secrets.list(prefix, { deleted: true });
        if (present.some((s) => s.path === rootPath || s.path === intermediatePath)) throw exists();
        const now = Date.now();
        const root = await createRootCa({ name: opts.name, validityMs: opts.rootValidity, keyType: opts.keyType, now });
        const intermediate = await createIntermediateCa(root, { name: opts.name, validityMs: opts.intermediateValidity, keyType: opts.keyType, now });
        const put = async (path: string, value: typeof root, description: string) => {
          try {
            return (
              await client.secrets.put(path, toSecretValue(value), {
                stages: ['current'],
                metadata: { type: 'certificate-authority', description },
                expectCurrentVersion: 0,
              })
            ).version;
          } catch (e) {
            if (isKeyturnError(e, 'KT_VERSION_MISMATCH')) throw exists();
            throw e;
          }
        };
        const rootVersion = await put(rootPath, root, `${opts.name}: root CA (signs the intermediate only)`);
        const intermediateVersion = await put(intermediatePath, intermediate, `${opts.name}: intermediate CA (the admin of internal-ca targets)`);
        return { root: await factsOf(rootPath, root.cert, rootVersion), intermediate: await factsOf(intermediatePath, intermediate.cert, intermediateVersion) };
      });
      emit(app.io, !!opts.json, { prefix, ...stored }, () =>
        [
          `Internal CA created under ${prefix}:`,
          factsText(stored.root),
          factsText(stored.intermediate),
          '',
          'Trust the root on the clients: keyturn ca show --pem' + (prefix === DEFAULT_PREFIX ? '' : ` --prefix ${prefix}`) + ' > keyturn-root.pem',
          `Issue from the intermediate: a target { type: internal-ca, ... } with admin: ${intermediatePath} (docs/certificates.md)`,
        ].join('\n'),
      );
    });

  common(ca.command('show'))
    .description("Show the internal CA's certificates, or print the root certificate (--pem) for trust stores")
    .option('--prefix <path>', 'where the CA is stored', DEFAULT_PREFIX)
    .option('--pem', 'print only the root certificate, PEM (public: for trust stores)')
    .addHelpText(
      'after',
      `
Examples:
  keyturn ca show
  keyturn ca show --pem > /usr/local/share/ca-certificates/keyturn-root.crt && update-ca-certificates
  keyturn ca show --prefix pki/staging-ca --json`,
    )
    .action(async (opts: ShowOptions) => {
      const prefix = prefixOf(opts.prefix);
      const { asCertificateValue } = await import('../../certs/value.js');
      const read = await app.withClient(opts, async (client) => {
        const root = await client.secrets.get(`${prefix}/root`, { stage: 'current' });
        const rootValue = asCertificateValue(`${prefix}/root`, root.value);
        if (opts.pem) return { pem: rootValue.cert, facts: [] as CaFacts[] };
        const intermediate = await client.secrets.get(`${prefix}/intermediate`, { stage: 'current' });
        const intermediateValue = asCertificateValue(`${prefix}/intermediate`, intermediate.value);
        return { pem: rootValue.cert, facts: [await factsOf(root.path, rootValue.cert, root), await factsOf(intermediate.path, intermediateValue.cert, intermediate)] };
      });
      if (opts.pem) {
        emitData(app.io, !!opts.json, { path: `${prefix}/root`, pem: read.pem }, () => read.pem);
        return;
      }
      emit(app.io, !!opts.json, { prefix, root: { ...read.facts[0], pem: read.pem }, intermediate: read.facts[1] }, () => read.facts.map(factsText).join('\n'));
    });
}
