/**
 * The table of top-level commands: name, one-line summary for `keyturn --help`, and the module
 * that defines it, imported only when that command runs (or its help is asked for). Adding a
 * command adds one entry here and one module under commands/.
 *
 * @example
 * ```ts
 * const entry = COMMANDS.find((c) => c.name === 'secret')!;
 * (await entry.load())(program, app); // registers `keyturn secret ...`
 * ```
 */
import type { Command } from 'commander';
import type { CliApp } from '../app.js';

export type Register = (program: Command, app: CliApp) => void;

export interface CommandEntry {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Shown in the top-level command list. */
  readonly summary: string;
  readonly load: () => Promise<Register>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', summary: 'Create the home folder, root key and state database', load: async () => (await import('./init.js')).registerInit },
  { name: 'quickstart', summary: 'Try Keyturn end to end on the embedded store', load: async () => (await import('./quickstart.js')).registerQuickstart },
  { name: 'secret', summary: 'Store, read, list and delete secrets', load: async () => (await import('./secret/index.js')).registerSecret },
  { name: 'apply', summary: 'Apply keyturn.yaml: targets, policies, bootstrap values', load: async () => (await import('./apply.js')).registerApply },
  { name: 'rotate', summary: 'Rotate a secret now, every managed secret, or what is due (one scheduler pass)', load: async () => (await import('./rotate.js')).registerRotate },
  { name: 'schedule', summary: 'Show rotation schedules: effective policy, sources, last rotation, next due', load: async () => (await import('./schedule.js')).registerSchedule },
  { name: 'replicas', summary: 'Replica stores: lag per secret and replica, catch them up now', load: async () => (await import('./replicas.js')).registerReplicas },
  { name: 'report', summary: 'Compliance report: every secret against its policy (exit 1 when any is overdue)', load: async () => (await import('./report.js')).registerReport },
  { name: 'notify', summary: 'Webhook notifications: test a channel, list channels and deliveries', load: async () => (await import('./notify.js')).registerNotify },
  { name: 'anomalies', summary: 'List the access anomalies found by the detectors of keyturn server', load: async () => (await import('./anomalies.js')).registerAnomalies },
  { name: 'runs', summary: 'List, show, resume and cancel rotation runs', load: async () => (await import('./runs.js')).registerRuns },
  { name: 'audit', summary: 'Read, export, prove and verify the tamper-evident audit log', load: async () => (await import('./audit.js')).registerAudit },
  { name: 'key', summary: 'Manage the encryption keys', load: async () => (await import('./key.js')).registerKey },
  { name: 'server', summary: 'Serve the HTTP API (tokens and path policies decide)', load: async () => (await import('./server.js')).registerServer },
  { name: 'worker', summary: 'Rotate due secrets without serving the API (the scheduler alone)', load: async () => (await import('./worker.js')).registerWorker },
  { name: 'agent', summary: 'Render secrets from a server into files; run a command on each real change', load: async () => (await import('./agent.js')).registerAgent },
  { name: 'token', summary: 'Create, list and revoke API tokens', load: async () => (await import('./token.js')).registerToken },
  { name: 'breakglass', summary: 'Request, approve and list break-glass reads (through the server)', load: async () => (await import('./breakglass.js')).registerBreakglass },
  { name: 'policy', summary: 'Store, list and show path policies (what tokens may do)', load: async () => (await import('./policy.js')).registerPolicy },
  { name: 'oidc', summary: 'Store, list, show and remove OIDC issuers (JWT login to the API)', load: async () => (await import('./oidc.js')).registerOidc },
  { name: 'backup', summary: 'Encrypted backups of the whole home: create, verify, restore into an empty home', load: async () => (await import('./backup.js')).registerBackup },
  { name: 'status', summary: 'Show the home, state database, keys, counts and limits', load: async () => (await import('./status.js')).registerStatus },
  { name: 'health', summary: 'Check the state database, audit log, targets and runs (exit 1 when not ok)', load: async () => (await import('./health.js')).registerHealth },
  { name: 'jwks', summary: 'Print or write the JWKS (public keys) of a signing-key secret', load: async () => (await import('./jwks.js')).registerJwks },
  { name: 'scan', summary: 'Find leaked secrets in files, git history or staged changes (exit 1 when new ones are found)', load: async () => (await import('./scan.js')).registerScan },
  { name: 'cert', summary: 'Watch the TLS certificates endpoints serve: warn before they expire (exit 1)', load: async () => (await import('./cert.js')).registerCert },
  { name: 'ca', summary: 'The internal CA: create it, print its root for trust stores', load: async () => (await import('./ca.js')).registerCa },
  { name: 'completion', summary: 'Print the shell completion script for bash, zsh or fish', load: async () => (await import('./completion.js')).registerCompletion },
];
