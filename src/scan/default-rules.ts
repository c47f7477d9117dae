/**
 * Keyturn's default rule set, in the gitleaks schema (src/scan/rule.ts). Each rule matches a
 * format precisely (a fixed prefix, an exact length and alphabet) or, for the generic
 * assignment rule, needs entropy and survives stopwords. Placeholders and examples are allowed
 * for every rule by {@link DEFAULT_ALLOWLISTS}; lock files are not scanned. A config with
 * `[extend] useDefault = true` adds its rules to these (src/scan/config.ts).
 *
 * @example
 * ```ts
 * DEFAULT_RULES.find((r) => r.id === 'aws-access-key-id')!.keywords; // ['akia', 'asia', ...]
 * ```
 */
import type { AllowlistSpec, RuleSpec } from './rule.js';

/** The end of a token: not followed by another character of its alphabet. */
const END = '(?![A-Za-z0-9_-])';

export const DEFAULT_RULES: readonly RuleSpec[] = [
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id',
    regex: '\\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\\b',
    entropy: 3,
    keywords: ['a3t', 'akia', 'asia', 'abia', 'acca'],
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key',
    regex: '(?i)aws[\\w.-]{0,20}?(?:secret|private)?[\\w.-]{0,20}?key[\\w"\']{0,4}\\s{0,4}(?:=|:=|:|=>|,)\\s{0,4}["\']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])',
    entropy: 4,
    keywords: ['aws'],
  },
  {
    id: 'github-token',
    description: 'GitHub token (classic personal, OAuth, app or refresh)',
    regex: `\\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36})${END}`,
    entropy: 3,
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
  },
  { id: 'github-fine-grained-pat', description: 'GitHub fine-grained personal access token', regex: `\\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})${END}`, entropy: 3, keywords: ['github_pat_'] },
  {
    id: 'gitlab-token',
    description: 'GitLab token (personal, pipeline trigger, deploy, runner, OAuth)',
    regex: `\\b((?:glpat|glptt|gldt|glrt|gloas)-[A-Za-z0-9_-]{20,300}(?:\\.[0-9a-z]{9})?)${END}`,
    entropy: 3,
    keywords: ['glpat-', 'glptt-', 'gldt-', 'glrt-', 'gloas-'],
  },
  { id: 'slack-bot-token', description: 'Slack bot token', regex: `\\b(xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{16,34})${END}`, keywords: ['xoxb-'] },
  { id: 'slack-app-token', description: 'Slack app-level token', regex: `\\b(xapp-\\d-[A-Z0-9]{9,12}-\\d{10,13}-[a-z0-9]{40,80})${END}`, keywords: ['xapp-'] },
  {
    id: 'slack-legacy-token',
    description: 'Slack legacy workspace or bot token',
    regex: `\\b(xox[aors]-[0-9]{8,13}-[0-9]{8,13}(?:-[A-Za-z0-9]{8,48})?(?:-[A-Za-z0-9]{8,48})?)${END}`,
    keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'],
  },
  { id: 'slack-user-token', description: 'Slack user or app token', regex: `\\b(xox[pe]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{28,34})${END}`, keywords: ['xoxp-', 'xoxe-'] },
  {
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook URL',
    regex: '(https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{23,34})(?![A-Za-z0-9])',
    keywords: ['hooks.slack.com'],
  },
  { id: 'stripe-live-key', description: 'Stripe live secret or restricted key', regex: `\\b((?:sk|rk)_live_[A-Za-z0-9]{24,247})${END}`, entropy: 3, keywords: ['sk_live_', 'rk_live_'] },
  { id: 'google-api-key', description: 'Google API key', regex: `\\b(AIza[A-Za-z0-9_-]{35})${END}`, entropy: 3, keywords: ['aiza'] },
  {
    id: 'openai-api-key',
    description: 'OpenAI API key',
    regex: `\\b(sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200})${END}`,
    entropy: 3,
    keywords: ['t3blbkfj'],
  },
  { id: 'anthropic-api-key', description: 'Anthropic API key', regex: `\\b(sk-ant-(?:api|admin)\\d{2}-[A-Za-z0-9_-]{80,120})${END}`, entropy: 3, keywords: ['sk-ant-'] },
  { id: 'sendgrid-api-key', description: 'SendGrid API key', regex: `\\b(SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43})${END}`, entropy: 3, keywords: ['sg.'] },
  { id: 'twilio-api-key', description: 'Twilio API key SID', regex: '\\b(SK[0-9a-f]{32})\\b', entropy: 3, keywords: ['sk'] },
  {
    id: 'twilio-auth-token',
    description: 'Twilio auth token',
    regex: '(?i)twilio[\\w.-]{0,20}?(?:auth|token|secret)[\\w"\']{0,20}\\s{0,4}(?:=|:=|:|=>|,)\\s{0,4}["\']?([0-9a-f]{32})\\b',
    entropy: 3,
    keywords: ['twilio'],
  },
  { id: 'mailgun-api-key', description: 'Mailgun private API key', regex: '\\b(key-[0-9a-f]{32})\\b', entropy: 3, keywords: ['key-'] },
  { id: 'mailgun-sending-key', description: 'Mailgun API or sending key', regex: '(?i)mailgun.{0,60}?\\b([0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\\b', entropy: 3, keywords: ['mailgun'] },
  { id: 'npm-token', description: 'npm access token', regex: `\\b(npm_[A-Za-z0-9]{36})${END}`, entropy: 3, keywords: ['npm_'] },
  { id: 'vault-service-token', description: 'HashiCorp Vault service token', regex: `\\b(hvs\\.[A-Za-z0-9_-]{24,250})${END}`, entropy: 3.5, keywords: ['hvs.'] },
  { id: 'vault-batch-token', description: 'HashiCorp Vault batch token', regex: `\\b(hvb\\.[A-Za-z0-9_-]{130,300})${END}`, entropy: 3.5, keywords: ['hvb.'] },
  {
    id: 'shopify-token',
    description: 'Shopify access token, app secret or private app password',
    regex: '\\b(shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,40})\\b',
    entropy: 3,
    keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
  },
  {
    id: 'datadog-api-key',
    description: 'Datadog API or application key',
    regex: '(?i)(?:datadog|\\bdd)[\\w.-]{0,20}?(?:api|app|application)[\\w.-]{0,4}key[\\w"\']{0,4}\\s{0,4}(?:=|:=|:|=>|,)\\s{0,4}["\']?([a-f0-9]{40}|[a-f0-9]{32})\\b',
    entropy: 3,
    keywords: ['datadog', 'dd_api', 'dd_app', 'dd-api', 'dd-app', 'ddapi', 'ddapp'],
  },
  { id: 'telegram-bot-token', description: 'Telegram bot token', regex: `\\b(\\d{8,10}:AA[A-Za-z0-9_-]{33})${END}`, keywords: [':aa'] },
  {
    id: 'azure-storage-key',
    description: 'Azure storage account key (connection string)',
    regex: '(?i)AccountKey\\s{0,2}=\\s{0,2}([A-Za-z0-9+/]{86}==)',
    entropy: 4,
    keywords: ['accountkey'],
    allowlists: [{ description: 'the public Azurite and storage emulator key', stopwords: ['Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='] }],
  },
  {
    id: 'private-key',
    description: 'Private key (PEM: RSA, EC, DSA, OpenSSH, PKCS#8, encrypted)',
    regex: '(-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\\s:,-]{64,20000}?-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)',
    keywords: ['-----begin'],
  },
  {
    id: 'database-url-password',
    description: 'Database or broker URL with a password',
    regex: '\\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|rediss?|amqps?|mssql|sqlserver|clickhouse)://[^:/\\s\'"@]{1,64}:([^@/\\s\'"]{3,128})@[A-Za-z0-9._-]{1,255})',
    secretGroup: 2,
    keywords: ['postgres', 'mysql', 'mariadb', 'mongodb', 'redis', 'amqp', 'mssql', 'sqlserver', 'clickhouse'],
    allowlists: [
      {
        description: 'placeholder passwords',
        stopwords: ['password', 'passwd'],
        regexes: ['^(?:pass(?:word)?|passwd|pwd|secret|changeme|root|admin|guest|postgres|mysql|redis|user|test|\\*+|x+|\\$\\w+|%\\w*%?|\\{\\w*\\}|:\\w+)$'],
      },
    ],
  },
  {
    id: 'url-password',
    description: 'URL with a password (git, HTTP, FTP, SMTP, ...)',
    regex: '\\b([a-z][a-z0-9+.-]{1,20}://[^:/\\s\'"@]{1,64}:([^@/\\s\'"]{3,128})@[A-Za-z0-9._-]{1,255})',
    secretGroup: 2,
    entropy: 2.5,
    keywords: ['://'],
    allowlists: [
      {
        description: 'placeholder passwords',
        stopwords: ['password', 'passwd'],
        regexes: ['^(?:pass(?:word)?|passwd|pwd|secret|changeme|root|admin|guest|user|test|\\*+|x+|\\$\\w+|%\\w*%?|\\{\\w*\\}|:\\w+)$'],
      },
    ],
  },
  {
    id: 'npm-legacy-auth',
    description: 'npm registry credentials in .npmrc (_auth, _authToken, _password)',
    regex: '(?:^|[\\s:])(?:_auth|_authToken|_password)\\s{0,2}=\\s{0,2}["\']?([A-Za-z0-9+/=_.-]{12,512})',
    entropy: 3,
    keywords: ['_auth', '_password'],
  },
  {
    id: 'docker-registry-auth',
    description: 'Docker registry credentials (base64 user:password in config.json or .dockercfg)',
    regex: '"auth"\\s{0,4}:\\s{0,4}"([A-Za-z0-9+/=]{12,1024})"',
    keywords: ['"auth"'],
  },
  {
    id: 'jwt',
    description: 'JSON Web Token',
    regex: `\\b(eyJ[A-Za-z0-9_-]{10,2000}\\.eyJ[A-Za-z0-9_-]{10,8000}\\.[A-Za-z0-9_-]{16,1000})${END}`,
    keywords: ['eyj'],
    allowlists: [{ description: "jwt.io's example token", stopwords: ['SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'] }],
  },
  {
    id: 'generic-secret-assignment',
    description: 'Password, secret or API key assigned a high-entropy value',
    regex:
      '(?i)(?:password|passwd|pwd|secret|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?token|access[_.-]?token|client[_.-]?secret|private[_.-]?key|app[_.-]?key|(?:encryption|signing|master)[_.-]?key)[\\w.-]{0,24}?["\']?\\s{0,4}(?:=|:=|:|=>|\\?=)\\s{0,4}(?:[rbfu]?"([^"\\s]{8,150})"|[rbfu]?\'([^\'\\s]{8,150})\'|\\x60([^\\x60\\s]{8,150})\\x60|([^\\s"\'\\x60;,<>(){}\\[\\]|\\\\]{8,150}))',
    entropy: 3.3,
    keywords: [
      'password',
      'passwd',
      'pwd',
      'secret',
      'api_key',
      'api-key',
      'api.key',
      'apikey',
      'access_key',
      'access-key',
      'accesskey',
      'token',
      'private_key',
      'private-key',
      'privatekey',
      'app_key',
      'app-key',
      'appkey',
      'encryption_key',
      'signing_key',
      'master_key',
    ],
    allowlists: [
      {
        description: 'hashes, UUIDs, SRI integrity values, references to variables and code; values of letters and _./:- only (type names, identifiers, paths, words)',
        regexes: [
          '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
          '^sha(?:1|256|384|512)[-:]',
          '^\\$[A-Za-z_]',
          '^%\\(\\w+\\)[sd]',
          '^[A-Za-z_$][\\w$]*\\.[A-Za-z_$][\\w$.]*$',
          '^[A-Za-z_$][\\w$]*(?:::|->)',
          '^[a-z][a-z_-]*$',
          '^[A-Z][A-Z0-9_]*$',
          '^[A-Za-z_./:-]+$',
          '^(?:true|false|null|none|nil|undefined)$',
          '^(?:https?|file)://',
          '^(?:\\.{0,2}/|~/)',
          '^(?:sk_test_|pk_(?:live|test)_|AIza|sk-|shp[a-z]{2}_|SK[0-9a-f]|SG\\.|gh[pousr]_|github_pat_|gl[a-z]{2,4}-|xox[bpe]-|npm_|hv[sb]\\.|A[KS]IA|key-|eyJ)',
        ],
      },
      {
        description: 'hashes: hex digests under a name that says so',
        regexTarget: 'match',
        regexes: [
          '(?i)(?:hash|sha\\d*|md5|digest|checksum|etag|commit|fingerprint|integrity)[\\w.-]{0,24}?["\']?\\s{0,4}(?:=|:=|:|=>)\\s{0,4}["\']?(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})\\b',
        ],
      },
      {
        description: 'words that mark an example or a reference',
        stopwords: [
          'process.env',
          'os.environ',
          'getenv',
          'secretkeyref',
          'secretref',
          'valuefrom',
          'vault:',
          'arn:aws',
          'keyvault',
          'ssm:',
          'env.',
          'secrets.',
          'config.',
          'settings.',
          'params.',
          'options.',
          'opts.',
          'props.',
          'args.',
          'self.',
          'this.',
        ],
      },
    ],
  },
];

/** Allowed for every rule: placeholders and examples, and lock files (which hold integrity hashes, never secrets). */
export const DEFAULT_ALLOWLISTS: readonly AllowlistSpec[] = [
  {
    description: 'placeholders and examples',
    regexes: [
      '(?i)example',
      '(?i)x{5,}',
      '\\*{4,}',
      '\\.{3}',
      '…',
      '0{8,}',
      '(?i)(?:1234567890|abcdefghij|0123456789abcdef)',
      '\\$\\{[^}]*\\}',
      '\\$\\([^)]*\\)',
      '\\{\\{[^}]*\\}\\}',
      '<[^>]*>',
      '^%\\w+%$',
    ],
    stopwords: ['placeholder', 'dummy', 'sample', 'changeme', 'change_me', 'redacted', 'your_', 'your-', 'yourkey', 'insert', 'replace', 'notreal', 'not_real', 'fake', 'mock', 'lorem'],
  },
  {
    description: 'lock files and other generated files holding integrity hashes',
    paths: [
      '(?:^|/)(?:package-lock\\.json|npm-shrinkwrap\\.json|yarn\\.lock|pnpm-lock\\.yaml|bun\\.lockb?|Cargo\\.lock|poetry\\.lock|Pipfile\\.lock|uv\\.lock|Gemfile\\.lock|composer\\.lock|go\\.sum|packages\\.lock\\.json|flake\\.lock|mix\\.lock|pubspec\\.lock|Podfile\\.lock|gradle\\.lockfile)$',
      '\\.(?:png|jpe?g|gif|ico|webp|pdf|zip|gz|tgz|jar|woff2?|ttf|eot|mp4|mp3|exe|dll|so|dylib|wasm)$',
    ],
  },
];

/** Extra checks of built-in rules that a regex cannot say: a JWT's header is JSON naming an algorithm. */
export const DEFAULT_VERIFY: Readonly<Record<string, (secret: string) => boolean>> = {
  'docker-registry-auth': (secret) => /^[^:\s]+:\S+$/.test(Buffer.from(secret, 'base64').toString('utf8')),
  jwt: (secret) => {
    try {
      const header = JSON.parse(Buffer.from(secret.slice(0, secret.indexOf('.')), 'base64url').toString('utf8')) as unknown;
      return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
    } catch {
      return false;
    }
  },
};
