/**
 * A seeded generator of test corpora for the scanner: files of ordinary code and config lines
 * with fake secrets planted (valid formats, random values: they open nothing) and look-alike
 * decoys (examples, placeholders, test keys, wrong lengths, hashes, UUIDs, SRI values, variable
 * references) that must not be reported, each labelled by file and line. Used by the corpus test
 * (src/scan/corpus.test.ts) and `npm run bench:scan`; {@link evaluate} scores a scanner's
 * findings against the labels (a finding counts on the planted line it points at; a finding
 * anywhere else is a false positive, attributed to the decoy type of its line, or "filler").
 *
 * @example
 * ```ts
 * const files = generateCorpus({ seed: 7, files: 50, linesPerFile: 120 });
 * const score = evaluate(files, findings.map((f) => ({ file: f.file, line: f.line })));
 * ```
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same corpus on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const URLSAFE = `${ALNUM}_-`;
const HEX = '0123456789abcdef';
const B32 = `${UPPER}234567`;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** Substrings a random value must not contain by chance (they mark placeholders). */
const MARKERS = /example|xxxxx|\*{4}|0{8}|1234567890|abcdefghij|0123456789abcdef|placeholder|dummy|sample|changeme|redacted|your_|your-|insert|replace|fake|mock|lorem|notreal/i;

function chars(rng: Rng, alphabet: string, n: number): string {
  for (;;) {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
    if (!MARKERS.test(s)) return s;
  }
}

const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const ident = (rng: Rng): string => pick(rng, ['user', 'order', 'item', 'cart', 'invoice', 'report', 'session', 'account', 'price', 'queue', 'event', 'stream']);

/** One kind of secret: how to make a planted line (and its secret) and a decoy line. Multi-line texts are allowed. */
interface SecretType {
  readonly type: string;
  plant(rng: Rng): { text: string; secret: string };
  decoy(rng: Rng): string;
}

const pem = (rng: Rng, kind: string): string => {
  const body = Array.from({ length: int(rng, 8, 20) }, () => chars(rng, B64, 64)).join('\n');
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${body}\n${chars(rng, B64, int(rng, 10, 60))}=\n-----END ${kind}PRIVATE KEY-----`;
};

export const SECRET_TYPES: readonly SecretType[] = [
  {
    type: 'aws-access-key-id',
    plant: (r) => {
      const s = pick(r, ['AKIA', 'ASIA']) + chars(r, B32, 16);
      return { secret: s, text: pick(r, [`aws_access_key_id = ${s}`, `"AccessKeyId": "${s}",`, `export AWS_ACCESS_KEY_ID=${s}`, `  accessKeyId: '${s}',`]) };
    },
    decoy: (r) => pick(r, ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', `key = "AKIA${chars(r, B32, 12)}"`, 'AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX', `id = "akia${chars(r, LOWER, 16)}"`]),
  },
  {
    type: 'aws-secret-access-key',
    plant: (r) => {
      const s = chars(r, B64, 40);
      return { secret: s, text: pick(r, [`aws_secret_access_key = ${s}`, `AWS_SECRET_ACCESS_KEY="${s}"`, `  "awsSecretKey": "${s}",`]) };
    },
    decoy: (r) =>
      pick(r, [
        'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        'AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}',
        'aws_secret_access_key = <your-secret-access-key>',
        `aws_secret_access_key_id = ${chars(r, UPPER, 20)}`,
      ]),
  },
  {
    type: 'github-token',
    plant: (r) => {
      const s = pick(r, ['ghp_', 'gho_', 'ghs_']) + chars(r, ALNUM, 36);
      return { secret: s, text: pick(r, [`GITHUB_TOKEN=${s}`, `  token: ${s}`, `const gh = new Octokit({ auth: '${s}' });`]) };
    },
    decoy: (r) => pick(r, [`GITHUB_TOKEN=ghp_${'x'.repeat(36)}`, `token: ghp_${chars(r, ALNUM, 30)}`, 'GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}', 'auth: ghp_<your-token>']),
  },
  {
    type: 'github-fine-grained-pat',
    plant: (r) => {
      const s = `github_pat_${chars(r, ALNUM, 22)}_${chars(r, ALNUM, 59)}`;
      return { secret: s, text: pick(r, [`GH_PAT=${s}`, `"token": "${s}"`]) };
    },
    decoy: (r) => pick(r, [`GH_PAT=github_pat_${'X'.repeat(22)}_${'X'.repeat(59)}`, `GH_PAT=github_pat_${chars(r, ALNUM, 22)}`, 'GH_PAT=github_pat_...']),
  },
  {
    type: 'gitlab-token',
    plant: (r) => {
      const s = `glpat-${chars(r, URLSAFE, 20)}`;
      return { secret: s, text: pick(r, [`GITLAB_TOKEN=${s}`, `private_token: ${s}`, `curl --header "PRIVATE-TOKEN: ${s}"`]) };
    },
    decoy: (r) => pick(r, ['GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx', `GITLAB_TOKEN=glpat-${chars(r, ALNUM, 12)}`, 'private_token: glpat-<token>']),
  },
  {
    type: 'slack-bot-token',
    plant: (r) => {
      const s = `xoxb-${chars(r, DIGITS, 11)}-${chars(r, DIGITS, 12)}-${chars(r, ALNUM, 24)}`;
      return { secret: s, text: pick(r, [`SLACK_BOT_TOKEN=${s}`, `slack_token = "${s}"`]) };
    },
    decoy: (r) => pick(r, ['SLACK_BOT_TOKEN=xoxb-your-bot-token', `SLACK_BOT_TOKEN=xoxb-${'x'.repeat(11)}-${'x'.repeat(12)}-${'x'.repeat(24)}`, `slack_token = "xoxb-${chars(r, DIGITS, 4)}"`]),
  },
  {
    type: 'slack-webhook-url',
    plant: (r) => {
      const s = `https://hooks.slack.com/services/T${chars(r, UPPER + DIGITS, 8)}/B${chars(r, UPPER + DIGITS, 10)}/${chars(r, ALNUM, 24)}`;
      return { secret: s, text: pick(r, [`SLACK_WEBHOOK=${s}`, `webhook_url: "${s}"`]) };
    },
    decoy: () => 'SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
  },
  {
    type: 'stripe-live-key',
    plant: (r) => {
      const s = `${pick(r, ['sk_live_', 'rk_live_'])}${chars(r, ALNUM, pick(r, [24, 99]))}`;
      return { secret: s, text: pick(r, [`STRIPE_SECRET_KEY=${s}`, `const stripe = new Stripe('${s}');`]) };
    },
    decoy: (r) => pick(r, [`STRIPE_SECRET_KEY=sk_test_${chars(r, ALNUM, 24)}`, `const stripe = new Stripe('pk_live_${chars(r, ALNUM, 24)}');`, 'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx']),
  },
  {
    type: 'google-api-key',
    plant: (r) => {
      const s = `AIza${chars(r, URLSAFE, 35)}`;
      return { secret: s, text: pick(r, [`GOOGLE_API_KEY=${s}`, `<script src="https://maps.googleapis.com/maps/api/js?key=${s}"></script>`]) };
    },
    decoy: (r) => pick(r, [`GOOGLE_API_KEY=AIza${chars(r, URLSAFE, 20)}`, 'GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', 'key: <YOUR_GOOGLE_API_KEY>']),
  },
  {
    type: 'openai-api-key',
    plant: (r) => {
      const s = `sk-proj-${chars(r, URLSAFE, 60)}T3BlbkFJ${chars(r, URLSAFE, 60)}`;
      return { secret: s, text: pick(r, [`OPENAI_API_KEY=${s}`, `client = OpenAI(api_key="${s}")`]) };
    },
    decoy: (r) => pick(r, ['OPENAI_API_KEY=sk-your-openai-api-key', 'OPENAI_API_KEY=sk-proj-...', `OPENAI_API_KEY=sk-${chars(r, ALNUM, 20)}`]),
  },
  {
    type: 'anthropic-api-key',
    plant: (r) => {
      const s = `sk-ant-api03-${chars(r, URLSAFE, 93)}AA`;
      return { secret: s, text: pick(r, [`ANTHROPIC_API_KEY=${s}`, `anthropic = Anthropic(api_key="${s}")`]) };
    },
    decoy: (r) => pick(r, ['ANTHROPIC_API_KEY=sk-ant-...', 'ANTHROPIC_API_KEY=sk-ant-api03-xxxxxxxx']),
  },
  {
    type: 'sendgrid-api-key',
    plant: (r) => {
      const s = `SG.${chars(r, URLSAFE, 22)}.${chars(r, URLSAFE, 43)}`;
      return { secret: s, text: pick(r, [`SENDGRID_API_KEY=${s}`, `sg = SendGridAPIClient('${s}')`]) };
    },
    decoy: (r) => pick(r, [`SENDGRID_API_KEY=SG.${chars(r, ALNUM, 10)}.${chars(r, ALNUM, 20)}`, 'SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']),
  },
  {
    type: 'twilio-api-key',
    plant: (r) => {
      const s = `SK${chars(r, HEX, 32)}`;
      return { secret: s, text: pick(r, [`TWILIO_API_KEY=${s}`, `twilio_api_key_sid = "${s}"`]) };
    },
    decoy: (r) => pick(r, [`TWILIO_API_KEY=SK${chars(r, HEX, 20)}`, `product_sku = "sk${chars(r, HEX, 32)}"`]),
  },
  {
    type: 'mailgun-api-key',
    plant: (r) => {
      const s = `key-${chars(r, HEX, 32)}`;
      return { secret: s, text: pick(r, [`MAILGUN_API_KEY=${s}`, `mailgun.client({ username: 'api', key: '${s}' });`]) };
    },
    decoy: (r) => pick(r, ['MAILGUN_API_KEY=key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', `cache-key-${chars(r, HEX, 12)}`]),
  },
  {
    type: 'npm-token',
    plant: (r) => {
      const s = `npm_${chars(r, ALNUM, 36)}`;
      return { secret: s, text: pick(r, [`//registry.npmjs.org/:_authToken=${s}`, `NPM_TOKEN=${s}`]) };
    },
    decoy: (r) => pick(r, ['//registry.npmjs.org/:_authToken=${NPM_TOKEN}', `npm_config_cache=/tmp/${ident(r)}`, `NPM_TOKEN=npm_${'x'.repeat(36)}`]),
  },
  {
    type: 'vault-service-token',
    plant: (r) => {
      const s = `hvs.${chars(r, URLSAFE, pick(r, [24, 91]))}`;
      return { secret: s, text: pick(r, [`VAULT_TOKEN=${s}`, `vault login ${s}`]) };
    },
    decoy: (r) => pick(r, ['VAULT_TOKEN=hvs.xxxxxxxxxxxxxxxxxxxxxxxx', `VAULT_TOKEN=hvs.${chars(r, ALNUM, 10)}`, 'VAULT_TOKEN=$(vault print token)']),
  },
  {
    type: 'shopify-token',
    plant: (r) => {
      const s = `${pick(r, ['shpat_', 'shpss_', 'shpca_'])}${chars(r, HEX, 32)}`;
      return { secret: s, text: pick(r, [`SHOPIFY_ACCESS_TOKEN=${s}`, `"X-Shopify-Access-Token": "${s}"`]) };
    },
    decoy: (r) => pick(r, ['SHOPIFY_ACCESS_TOKEN=shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', `SHOPIFY_ACCESS_TOKEN=shpat_${chars(r, HEX, 20)}`]),
  },
  {
    type: 'datadog-api-key',
    plant: (r) => {
      const s = chars(r, HEX, pick(r, [32, 40]));
      return { secret: s, text: pick(r, [`DD_API_KEY=${s}`, `datadog_api_key = "${s}"`, `DD_APP_KEY: ${s}`]) };
    },
    decoy: (r) => pick(r, ['DD_API_KEY=${DD_API_KEY}', 'DD_API_KEY=<your-datadog-api-key>', `dd_trace_id = "${chars(r, HEX, 32)}"`, `commit: ${chars(r, HEX, 40)}`]),
  },
  {
    type: 'telegram-bot-token',
    plant: (r) => {
      const s = `${chars(r, DIGITS, 10)}:AA${chars(r, URLSAFE, 33)}`;
      return { secret: s, text: pick(r, [`TELEGRAM_BOT_TOKEN=${s}`, `bot = telebot.TeleBot("${s}")`]) };
    },
    decoy: (r) => pick(r, ['TELEGRAM_BOT_TOKEN=123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11', `at ${int(r, 10, 23)}:${int(r, 10, 59)}:AA${chars(r, ALNUM, 6)}`]),
  },
  {
    type: 'azure-storage-key',
    plant: (r) => {
      const s = `${chars(r, B64, 86)}==`;
      return { secret: s, text: `AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=${chars(r, LOWER, 10)};AccountKey=${s};EndpointSuffix=core.windows.net"` };
    },
    decoy: (r) =>
      pick(r, [
        'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"',
        'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=<account-key>;EndpointSuffix=core.windows.net"',
      ]),
  },
  {
    type: 'private-key',
    plant: (r) => {
      const s = pem(r, pick(r, ['RSA ', 'EC ', 'OPENSSH ', '']));
      return { secret: s, text: s };
    },
    decoy: (r) =>
      pick(r, [
        `-----BEGIN PUBLIC KEY-----\n${chars(r, B64, 64)}\n${chars(r, B64, 40)}==\n-----END PUBLIC KEY-----`,
        '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----',
        `-----BEGIN CERTIFICATE-----\n${chars(r, B64, 64)}\n${chars(r, B64, 64)}\n-----END CERTIFICATE-----`,
        'const header = "-----BEGIN OPENSSH PRIVATE KEY-----";',
      ]),
  },
  {
    type: 'database-url-password',
    plant: (r) => {
      const s = chars(r, ALNUM, int(r, 12, 24));
      const scheme = pick(r, ['postgres', 'postgresql', 'mysql', 'mongodb+srv', 'redis', 'amqp']);
      return { secret: s, text: pick(r, [`DATABASE_URL=${scheme}://${ident(r)}_app:${s}@db-${int(r, 1, 9)}.internal:5432/${ident(r)}`, `url: "${scheme}://svc:${s}@${ident(r)}.prod.local/app"`]) };
    },
    decoy: (r) =>
      pick(r, [
        'DATABASE_URL=postgres://user:password@localhost:5432/app',
        'DATABASE_URL=postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST}/app',
        'DATABASE_URL=mysql://root:@localhost/test',
        `DATABASE_URL=postgres://localhost:5432/${ident(r)}`,
        'REDIS_URL=redis://:<password>@localhost:6379',
        'MONGO_URL=mongodb://admin:changeme@mongo:27017',
      ]),
  },
  {
    type: 'jwt',
    plant: (r) => {
      const header = b64url(JSON.stringify({ alg: pick(r, ['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
      const payload = b64url(JSON.stringify({ sub: chars(r, DIGITS, 8), name: ident(r), iat: 1700000000 + int(r, 0, 9999999), scope: ident(r) }));
      const s = `${header}.${payload}.${chars(r, URLSAFE, 43)}`;
      return { secret: s, text: pick(r, [`Authorization: Bearer ${s}`, `SESSION_TOKEN=${s}`]) };
    },
    decoy: (r) =>
      pick(r, [
        'token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"',
        `data = "${b64url(JSON.stringify({ kind: ident(r), n: int(r, 1, 99) }))}"`,
        'Authorization: Bearer eyJhbGciOi...',
      ]),
  },
  {
    type: 'generic-secret-assignment',
    plant: (r) => {
      const s = chars(r, `${ALNUM}!#%&*+=?@^~`, int(r, 14, 32));
      const key = pick(r, ['password', 'db_password', 'DB_PASSWORD', 'secret', 'client_secret', 'api_key', 'apiKey', 'SECRET_KEY', 'auth_token', 'access_token']);
      return { secret: s, text: pick(r, [`${key} = "${s}"`, `  ${key}: '${s}'`, `"${key}": "${s}",`, `${key.toUpperCase()}=${s}`]) };
    },
    decoy: (r) =>
      pick(r, [
        'password = "changeme"',
        'password: ${DB_PASSWORD}',
        'password = os.environ["DB_PASSWORD"]',
        `secret_hash = "${chars(r, HEX, 64)}"`,
        'api_key = config.api_key',
        'password_field = "password"',
        `"integrity": "sha512-${chars(r, B64, 86)}=="`,
        `token_id = "${chars(r, HEX, 8)}-${chars(r, HEX, 4)}-4${chars(r, HEX, 3)}-a${chars(r, HEX, 3)}-${chars(r, HEX, 12)}"`,
        'password = "<your-password>"',
        'secret: {{ .Values.secret }}',
        'const token = process.env.API_TOKEN;',
        'PASSWORD_MIN_LENGTH=12',
        'api_key = "${API_KEY}"',
        `access_token = get_access_token(${ident(r)}_id)`,
      ]),
  },
];

/** Ordinary lines, some with the words secrets hide behind (token, password, key). */
function filler(r: Rng): string {
  return pick(r, [
    () => `import { ${ident(r)}Service } from './${ident(r)}/${ident(r)}-service.js';`,
    () => `const total${int(r, 1, 99)} = items.reduce((sum, x) => sum + x.${ident(r)}, 0);`,
    () => `  // TODO: refresh the token before it expires (${ident(r)})`,
    () => `    "version": "${int(r, 0, 9)}.${int(r, 0, 30)}.${int(r, 0, 99)}",`,
    () => `sha256: ${chars(r, HEX, 64)}`,
    () => `  id: ${chars(r, HEX, 8)}-${chars(r, HEX, 4)}-4${chars(r, HEX, 3)}-8${chars(r, HEX, 3)}-${chars(r, HEX, 12)}`,
    () => `  "integrity": "sha512-${chars(r, B64, 86)}==",`,
    () => `const url = 'https://api.${ident(r)}.io/v${int(r, 1, 3)}/${ident(r)}s?page=${int(r, 1, 50)}';`,
    () => `  const password = await prompt('Password for ${ident(r)}: ');`,
    () => `  if (!token) throw new Error('no token for ${ident(r)}');`,
    () => `export function ${ident(r)}Key(${ident(r)}: string): string { return \`\${${ident(r)}}:${int(r, 1, 9)}\`; }`,
    () => `logo = "data:image/png;base64,${chars(r, B64, 120)}"`,
    () => `        return self.${ident(r)}_repository.find_by_id(${ident(r)}_id)`,
    () => `| ${ident(r)} | ${int(r, 1, 9999)} | ${ident(r)} |`,
    () => `    <div class="${ident(r)}-panel" data-id="${int(r, 1, 99999)}">`,
    () => `SELECT ${ident(r)}_id, created_at FROM ${ident(r)}s WHERE status = 'open';`,
    () => `	err := s.${ident(r)}Store.Save(ctx, ${ident(r)})`,
    () => `  secretName: ${ident(r)}-credentials`,
    () => `  passwordPolicy: { minLength: ${int(r, 8, 20)}, symbols: true },`,
    () => `- name: ${ident(r)}\n  image: registry.local/${ident(r)}:${int(r, 1, 9)}.${int(r, 0, 9)}`,
    () => '',
  ])();
}

export interface Label {
  readonly line: number;
  readonly type: string;
  readonly kind: 'secret' | 'decoy';
  readonly secret?: string;
}

export interface CorpusFile {
  readonly path: string;
  readonly text: string;
  readonly labels: readonly Label[];
}

export interface CorpusOptions {
  readonly seed: number;
  readonly files: number;
  /** Filler lines per file (about 50 bytes each). */
  readonly linesPerFile: number;
  /** Planted secrets and decoys per file, on average. */
  readonly secretsPerFile?: number;
  readonly decoysPerFile?: number;
}

const EXTENSIONS = ['ts', 'js', 'py', 'go', 'yaml', 'env', 'json', 'md', 'sh', 'tf'];

/** The corpus of `seed`: the same seed gives the same files, secrets and labels. */
export function generateCorpus(opts: CorpusOptions): CorpusFile[] {
  const r = prng(opts.seed);
  const out: CorpusFile[] = [];
  const perSecret = opts.secretsPerFile ?? 1;
  const perDecoy = opts.decoysPerFile ?? 1;
  for (let f = 0; f < opts.files; f++) {
    const lines: string[] = [];
    const labels: Label[] = [];
    const plantAt = new Map<number, Array<{ kind: 'secret' | 'decoy'; t: SecretType }>>();
    const add = (kind: 'secret' | 'decoy', expected: number): void => {
      let n = Math.floor(expected);
      if (r() < expected - n) n++;
      for (let i = 0; i < n; i++) {
        const at = int(r, 0, opts.linesPerFile);
        const list = plantAt.get(at) ?? [];
        list.push({ kind, t: pick(r, SECRET_TYPES) });
        plantAt.set(at, list);
      }
    };
    add('secret', perSecret);
    add('decoy', perDecoy);
    for (let i = 0; i <= opts.linesPerFile; i++) {
      for (const p of plantAt.get(i) ?? []) {
        const line = lines.length + 1;
        if (p.kind === 'secret') {
          const { text, secret } = p.t.plant(r);
          labels.push({ line, type: p.t.type, kind: 'secret', secret });
          lines.push(...text.split('\n'));
        } else {
          const text = p.t.decoy(r);
          labels.push({ line, type: p.t.type, kind: 'decoy' });
          lines.push(...text.split('\n'));
        }
      }
      if (i < opts.linesPerFile) lines.push(...filler(r).split('\n'));
    }
    const ext = pick(r, EXTENSIONS);
    out.push({ path: `d${String(f % 100).padStart(2, '0')}/${ident(r)}-${f}.${ext}`, text: `${lines.join('\n')}\n`, labels });
  }
  return out;
}

export interface TypeScore {
  readonly type: string;
  readonly planted: number;
  readonly found: number;
  readonly falsePositives: number;
  readonly recall: number;
  readonly precision: number;
}

export interface Score {
  readonly byType: readonly TypeScore[];
  readonly overall: TypeScore;
}

/**
 * Scores findings (file and line of each) against the labels: a planted secret is found when a
 * finding points at its first line; any finding on a line with no planted secret is a false
 * positive (of the decoy type on that line, else "filler").
 */
export function evaluate(files: readonly CorpusFile[], findings: ReadonlyArray<{ readonly file: string; readonly line: number }>): Score {
  const planted = new Map<string, Label>();
  const decoys = new Map<string, Label>();
  for (const f of files) for (const l of f.labels) (l.kind === 'secret' ? planted : decoys).set(`${f.path}:${l.line}`, l);
  const stats = new Map<string, { planted: number; found: number; fp: number }>();
  const stat = (type: string) => stats.get(type) ?? (stats.set(type, { planted: 0, found: 0, fp: 0 }), stats.get(type)!);
  for (const l of planted.values()) stat(l.type).planted++;
  const hit = new Set<string>();
  for (const f of findings) {
    const key = `${f.file}:${f.line}`;
    const p = planted.get(key);
    if (p) {
      if (!hit.has(key)) stat(p.type).found++;
      hit.add(key);
    } else stat(decoys.get(key)?.type ?? 'filler').fp++;
  }
  const score = (type: string, s: { planted: number; found: number; fp: number }): TypeScore => ({
    type,
    planted: s.planted,
    found: s.found,
    falsePositives: s.fp,
    recall: s.planted === 0 ? 1 : s.found / s.planted,
    precision: s.found + s.fp === 0 ? 1 : s.found / (s.found + s.fp),
  });
  const byType = [...stats.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, s]) => score(t, s));
  const all = [...stats.values()].reduce((a, s) => ({ planted: a.planted + s.planted, found: a.found + s.found, fp: a.fp + s.fp }), { planted: 0, found: 0, fp: 0 });
  return { byType, overall: score('overall', all) };
}

/** The score as a table, one row per type. */
export function formatScore(s: Score): string {
  const rows = [...s.byType, s.overall].map(
    (t) => `${t.type.padEnd(28)} ${String(t.planted).padStart(6)} ${String(t.found).padStart(6)} ${String(t.falsePositives).padStart(4)}  ${t.recall.toFixed(3)}  ${t.precision.toFixed(3)}`,
  );
  return [`${'type'.padEnd(28)} ${'planted'.padStart(6)} ${'found'.padStart(6)} ${'FP'.padStart(4)}  recall precision`, ...rows].join('\n');
}
