/**
 * `keyturn backup create|verify|restore|keygen|run-scheduled`: encrypted backups of a whole
 * Keyturn home (src/backup/): made to a passphrase (scrypt) or to an X25519 recipient key, checked
 * without writing anything, restored into an empty home only (then the restored credentials are
 * tried on their targets, and the stale ones can be rotated); one pass of the scheduled backups
 * of keyturn.yaml. See docs/backup.md.
 *
 * @example
 * ```sh
 * keyturn backup create --out /backups/keyturn.ktbk --passphrase-file /run/secrets/backup-pass
 * keyturn backup verify /backups/keyturn.ktbk --passphrase-file /run/secrets/backup-pass
 * keyturn backup restore /backups/keyturn.ktbk --home /srv/keyturn-new --passphrase-file /run/secrets/backup-pass
 * ```
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import type { OpenKey, SealKey, VerifyResult } from '../../backup/backup.js';
import type { CredentialCheck, StaleRotation } from '../../backup/credential-check.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, table, workingDir } from '../io.js';
import { canPrompt, readHidden } from '../prompt.js';

interface KeyOptions {
  passphraseFile?: string;
  recipient?: string;
  identity?: string;
}

function readKeyFile(app: CliApp, file: string, what: string): string {
  const path = resolve(workingDir(app.io), file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new KeyturnError('KT_USAGE', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The passphrase from --passphrase-file (one trailing newline dropped) or typed twice (create) or once on a terminal. */
async function passphrase(app: CliApp, opts: KeyOptions, twice: boolean): Promise<string> {
  let p: string;
  if (opts.passphraseFile !== undefined) p = readKeyFile(app, opts.passphraseFile, 'passphrase file').replace(/\r?\n$/, '');
  else if (canPrompt(app.io)) {
    p = await readHidden(app.io, 'Backup passphrase (input hidden): ');
    if (twice && (await readHidden(app.io, 'Same passphrase again: ')) !== p) throw new KeyturnError('KT_USAGE', 'the two passphrases differ; nothing was written');
  } else {
    throw new KeyturnError(
      'KT_USAGE',
      `give --passphrase-file FILE${twice ? ' or --recipient KEYFILE' : ' or --identity KEYFILE'} (standard input is not a terminal, so the passphrase cannot be typed)`,
    );
  }
  if (p.length === 0) throw new KeyturnError('KT_BACKUP_KEY_INVALID', 'the backup passphrase is empty');
  return p;
}

/**
 * The key of a backup: for create (`seal`), --recipient (a public key) or a passphrase; for verify
 * and restore (`open`), --identity (a private key) or a passphrase.
 */
async function sealKey(app: CliApp, opts: KeyOptions): Promise<SealKey> {
  const { parseRecipientKey } = await import('../../backup/envelope.js');
  const key = await keyFrom(app, opts, '--recipient', opts.recipient, true);
  return typeof key === 'string' ? { passphrase: key } : { recipient: parseRecipientKey(key.pem, key.file) };
}

async function openKey(app: CliApp, opts: KeyOptions): Promise<OpenKey> {
  const { parseIdentityKey } = await import('../../backup/envelope.js');
  const key = await keyFrom(app, opts, '--identity', opts.identity, false);
  return typeof key === 'string' ? { passphrase: key } : { identity: parseIdentityKey(key.pem, key.file) };
}

/** The passphrase, or the PEM of the key file given with `flag`. */
async function keyFrom(app: CliApp, opts: KeyOptions, flag: string, file: string | undefined, twice: boolean): Promise<string | { pem: string; file: string }> {
  if (file !== undefined && opts.passphraseFile !== undefined) throw new KeyturnError('KT_USAGE', `give ${flag} or --passphrase-file, not both`);
  if (file !== undefined) return { pem: readKeyFile(app, file, `${flag.slice(2)} key`), file };
  return passphrase(app, opts, twice);
}

function readBackupFile(app: CliApp, file: string): Buffer {
  const path = resolve(workingDir(app.io), file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KeyturnError('KT_USAGE', `cannot read the backup ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function summaryText(s: VerifyResult['summary']): string[] {
  return [
    `  secrets    ${s.secrets} (${s.versions} version${s.versions === 1 ? '' : 's'})`,
    `  audit log  ${s.auditEvents} event${s.auditEvents === 1 ? '' : 's'}, ${s.auditCheckpoints} checkpoint${s.auditCheckpoints === 1 ? '' : 's'}`,
    `  tables     ${s.tables}, ${s.rows} rows`,
  ];
}

/** What the check after a restore found (null check: it could not run; the restore stands). */
interface AfterRestore {
  check: CredentialCheck | null;
  rotations: StaleRotation[];
  error: { code: string; message: string } | null;
}

/** Opens the restored home, logs in to its targets with the restored credentials, and rotates the stale ones when asked; never throws. */
async function checkAfterRestore(app: CliApp, opts: CommonOptions, rotate: boolean): Promise<AfterRestore> {
  const { checkRestoredCredentials, rotateStale } = await import('../../backup/credential-check.js');
  try {
    return await app.withKeyturn(opts, async (kt) => {
      const check = await checkRestoredCredentials(kt);
      return { check, rotations: rotate ? await rotateStale(kt, check.stale) : [], error: null };
    });
  } catch (e) {
    const error = isKeyturnError(e) ? { code: e.code, message: e.message } : { code: 'KT_INTERNAL', message: 'unexpected error' };
    return { check: null, rotations: [], error };
  }
}

function targetsLine(a: AfterRestore): string {
  if (a.check === null) return `not checked: ${a.error!.code}: ${a.error!.message}`;
  const c = a.check;
  if (c.checked === 0) return 'no secret with a target to check';
  return `${c.checked} credential${c.checked === 1 ? '' : 's'} tried: ${c.ok.length} log in, ${c.stale.length} refused (changed since the backup), ${c.unknown.length} not checked`;
}

/** The warnings of the check, one line each (stderr in text mode). */
function warnings(app: CliApp, a: AfterRestore): string[] {
  if (a.check === null) return [`warning ${a.error!.code}: the restored credentials were not checked against their targets: ${a.error!.message}`];
  const rotated = new Set(a.rotations.filter((x) => x.status === 'done').map((x) => x.path));
  return [
    ...a.check.stale.map(
      (s) =>
        `warning ${s.code}: ${s.path}: the target no longer accepts the restored value; run ${app.self} rotate ${s.path} (a rotation with an admin credential recovers it)${rotated.has(s.path) ? ' [rotated now by --rotate-stale]' : ''}`,
    ),
    ...a.check.unknown.map((u) => `warning ${u.code}: ${u.path}: not checked: target ${u.target} could not tell whether the restored value logs in`),
  ];
}

export function registerBackup(program: Command, app: CliApp): void {
  const backup = program
    .command('backup')
    .description('Encrypted backups of the whole home: create, verify, restore into an empty home, scheduled backups')
    .addHelpText(
      'after',
      `
A backup holds every table of the state database (secrets with all versions and stages, sealed
as stored; policies, targets, runs and their journal, schedules, token hashes, access policies,
the audit log with its checkpoints and keys) and the root key, encrypted to a passphrase or to an
X25519 recipient key. See docs/backup.md.

Examples:
  keyturn backup create --out keyturn.ktbk --passphrase-file pass.txt
  keyturn backup keygen --out backup.key && keyturn backup create --out keyturn.ktbk --recipient backup.key.pub
  keyturn backup verify keyturn.ktbk --identity backup.key
  keyturn backup restore keyturn.ktbk --home /srv/keyturn-new --passphrase-file pass.txt`,
    );

  common(backup.command('create'))
    .description('Write an encrypted backup of the home (the state database and the root key) to a new file')
    .requiredOption('--out <file>', 'the backup file to write (must not exist; written mode 0600)')
    .option('--passphrase-file <file>', 'encrypt to the passphrase in this file (one trailing newline is dropped)')
    .option('--recipient <keyfile>', 'encrypt to this X25519 public key (PEM; `keyturn backup keygen` makes one)')
    .addHelpText(
      'after',
      `
Without --passphrase-file or --recipient, the passphrase is asked for twice on a terminal.
The state is read in one transaction; the audit log records backup.create (its intent is inside
the backup, its outcome after). The file is written to a temporary name and renamed, so it is
there whole or not at all.

Examples:
  keyturn backup create --out /backups/keyturn-$(date +%F).ktbk --passphrase-file /run/secrets/backup-pass
  keyturn backup create --out keyturn.ktbk --recipient ops-backup.key.pub --json
  keyturn backup create --out keyturn.ktbk            # asks for a passphrase`,
    )
    .action(async (opts: CommonOptions & KeyOptions & { out: string }) => {
      if (opts.identity !== undefined) throw new KeyturnError('KT_USAGE', '--identity is for verify and restore; create takes --recipient (the public key)');
      const settings = await app.settings(opts);
      const key = await sealKey(app, opts);
      const { createBackup } = await import('../../backup/backup.js');
      const r = await createBackup(settings, key, resolve(workingDir(app.io), opts.out), { audit: await app.auditContext() });
      emit(app.io, !!opts.json, r, () =>
        [
          `Backup written to ${r.file} (${r.bytes} bytes, ${r.encryption === 'passphrase' ? 'passphrase, scrypt' : `recipient ${r.recipient}`})`,
          `  from       ${r.source.location} (${r.source.dialect}), root key ${r.rootKeyId}`,
          ...summaryText(r.summary),
          'The backup holds the root key: anyone with it and its passphrase or private key can read every secret. Keep it as safe as root.key.',
        ].join('\n'),
      );
    });

  common(backup.command('verify <file>'))
    .description('Decrypt a backup and check everything in it (every value opens, the audit log verifies); writes nothing')
    .option('--passphrase-file <file>', 'the passphrase the backup was made with')
    .option('--identity <keyfile>', 'the X25519 private key of a --recipient backup')
    .addHelpText(
      'after',
      `
Every chunk is decrypted and authenticated, the tables are loaded into a database in memory, every
version of every secret is opened with its data key and the audit log is verified with its own
verifier key. Exit 0 and a summary when all holds; a KT_BACKUP_* code otherwise.

Examples:
  keyturn backup verify keyturn.ktbk --passphrase-file pass.txt
  keyturn backup verify keyturn.ktbk --identity backup.key --json`,
    )
    .action(async (file: string, opts: CommonOptions & KeyOptions) => {
      if (opts.recipient !== undefined) throw new KeyturnError('KT_USAGE', '--recipient is for create; verify takes --identity (the private key)');
      const settings = await app.settings(opts);
      const data = readBackupFile(app, file);
      const { readHeader } = await import('../../backup/envelope.js');
      readHeader(data);
      const key = await openKey(app, opts);
      const { verifyBackup } = await import('../../backup/backup.js');
      const r = await verifyBackup(data, key, settings);
      emit(app.io, !!opts.json, r, () =>
        [
          `Backup ${file} is intact (${r.encryption === 'passphrase' ? 'passphrase' : `recipient ${r.recipient}`})`,
          `  made       ${r.createdAt} from ${r.source.location} (${r.source.dialect}), root key ${r.rootKeyId}`,
          ...summaryText(r.summary),
          `  checked    ${r.valuesOpened} value${r.valuesOpened === 1 ? '' : 's'} opened with ${r.dataKeys} data key${r.dataKeys === 1 ? '' : 's'}; audit log verified (${r.audit.size} events, key ${r.audit.verifierKey})`,
          '',
          table(
            ['TABLE', 'ROWS'],
            Object.entries(r.summary.perTable).map(([t, n]) => [t, n]),
          ).replace(/\n+$/, ''),
        ].join('\n'),
      );
    });

  common(backup.command('restore <file>'))
    .description('Rebuild a home from a backup, into a new or empty home only (--home, or KEYTURN_HOME / KEYTURN_DATABASE_URL)')
    .option('--passphrase-file <file>', 'the passphrase the backup was made with')
    .option('--identity <keyfile>', 'the X25519 private key of a --recipient backup')
    .option('--new-root-key', 'make a fresh root key for the restored home and re-wrap the data keys under it')
    .option('--no-check-targets', 'after the restore, do not log in to the targets to find credentials changed since the backup')
    .option('--rotate-stale', 'rotate right away each restored secret whose target refuses its credential (needs an admin credential or alternating users to recover)')
    .addHelpText(
      'after',
      `
The whole file is decrypted and checked before anything is written; after the load, every
value is opened and the audit log verified, as verify does. The home must not exist or be an
empty folder; with KEYTURN_DATABASE_URL, the PostgreSQL database must hold no Keyturn rows.
A refused or failed restore removes what it made. The restored home gets the backup's root key in
root.key, unless --new-root-key (a fresh one) or KEYTURN_ROOT_KEY (that one) is used: then the
data keys are re-wrapped under it. The audit log is restored as it was, with its signing key, so
\`keyturn audit verify\` checks it with the same public key and it continues from there.

Once the restore has committed, every secret with a target is checked: its restored current
credential is tried on the target. One the target refuses was rotated after the backup was made:
a warning (KT_BACKUP_CREDENTIAL_STALE, on stderr; staleCredentials in --json) says to run
\`keyturn rotate PATH\`, which --rotate-stale does right away. A target that cannot be reached
is reported as not checked (its code), not as stale. The check never undoes the restore: the exit
code is 0 once the restore succeeded, whatever the check finds. --no-check-targets skips it.

Examples:
  keyturn backup restore keyturn.ktbk --home /srv/keyturn-new --passphrase-file pass.txt
  keyturn backup restore keyturn.ktbk --home ./restored --identity backup.key --new-root-key --json
  keyturn backup restore keyturn.ktbk --home /srv/keyturn-new --passphrase-file pass.txt --rotate-stale
  KEYTURN_DATABASE_URL=postgres://keyturn@db/keyturn keyturn backup restore keyturn.ktbk --home /srv/kt --passphrase-file pass.txt`,
    )
    .action(async (file: string, opts: CommonOptions & KeyOptions & { newRootKey?: boolean; checkTargets: boolean; rotateStale?: boolean }) => {
      if (opts.recipient !== undefined) throw new KeyturnError('KT_USAGE', '--recipient is for create; restore takes --identity (the private key)');
      if (opts.rotateStale && !opts.checkTargets) throw new KeyturnError('KT_USAGE', '--rotate-stale rotates what the target check finds: leave out --no-check-targets');
      const settings = await app.settings(opts);
      const data = readBackupFile(app, file);
      const { readHeader } = await import('../../backup/envelope.js');
      readHeader(data);
      const key = await openKey(app, opts);
      const { restoreBackup } = await import('../../backup/backup.js');
      const r = await restoreBackup(settings, data, key, { newRootKey: !!opts.newRootKey });
      const after = opts.checkTargets ? await checkAfterRestore(app, opts, !!opts.rotateStale) : null;
      const out = {
        ...r,
        targetsChecked: after !== null && after.error === null,
        checkedCredentials: after?.check?.checked ?? 0,
        staleCredentials: after?.check?.stale ?? [],
        uncheckedCredentials: after?.check?.unknown ?? [],
        checkError: after?.error ?? null,
        ...(opts.rotateStale ? { rotations: after?.rotations ?? [] } : {}),
      };
      if (!opts.json && after !== null) for (const line of warnings(app, after)) app.io.stderr.write(`${line}\n`);
      emit(app.io, !!opts.json, out, () =>
        [
          `Restored ${file} into ${r.home}`,
          `  state      ${r.state} (${r.dialect})`,
          `  root key   ${r.rootKeyId} (${r.rootKeySource})${r.rewrapped ? `, data keys re-wrapped from ${r.backupRootKeyId}` : ''}`,
          ...summaryText(r.summary),
          ...(after === null ? ['  targets    not checked (--no-check-targets)'] : [`  targets    ${targetsLine(after)}`]),
          ...(after?.rotations ?? []).map((x) =>
            x.status === 'done'
              ? `Rotated ${x.path} (run ${x.runId}): its credential logs in again`
              : `Rotation of ${x.path}: ${x.status}${x.error ? ` ${x.error.code}: ${x.error.message}` : ''}${x.runId ? ` (run ${x.runId}; see ${app.self} runs show ${x.runId})` : ''}`,
          ),
          `Check it: ${app.self} audit verify --home ${r.home}`,
        ].join('\n'),
      );
    });

  common(backup.command('run-scheduled'))
    .description('One pass of the scheduled backups of keyturn.yaml (backups:): write one into the folder if due, prune beyond keep')
    .addHelpText(
      'after',
      `
What keyturn server does every minute, for a home without a server (run it from cron or a systemd
timer, as often as you like): when the newest keyturn-backup-*.ktbk in backups.folder is older
than backups.every, a new encrypted backup is written there (to backups.recipient, or to the
passphrase in the environment variable backups.passphraseEnv), then the oldest beyond backups.keep
are deleted. A pass that finds nothing due writes nothing; one that another process is running
(a server on the same database) is "busy" and writes nothing. See docs/backup.md.

Examples:
  keyturn backup run-scheduled
  */15 * * * * KEYTURN_BACKUP_PASS=... keyturn backup run-scheduled --quiet   # crontab`,
    )
    .action(async (opts: CommonOptions) => {
      const { runScheduledBackup } = await import('../../backup/scheduled.js');
      const audit = await app.auditContext();
      const r = await app.withKeyturn(opts, (kt) => runScheduledBackup({ settings: kt.settings, state: kt.state, clock: kt.clock, log: kt.log, context: audit }));
      emit(app.io, !!opts.json, r, () => {
        if (r.status === 'off') return 'No scheduled backups: keyturn.yaml has no backups: section applied to this home.';
        if (r.status === 'busy') return `Another process is making the scheduled backup into ${r.folder}; nothing written.`;
        if (r.status === 'not-due') return `Not due: the newest backup in ${r.folder} was made ${r.newestAt}; the next is due ${r.dueAt}.`;
        return [
          `Backup written to ${r.file} (${r.bytes} bytes); the next is due ${r.dueAt}`,
          ...(r.pruned.length > 0 ? [`Deleted ${r.pruned.length} older backup${r.pruned.length === 1 ? '' : 's'}: ${r.pruned.join(', ')}`] : []),
          ...r.pruneErrors.map((e) => `Could not delete ${e.file} (${e.code}); tried again after the next backup`),
        ].join('\n');
      });
    });

  common(backup.command('keygen'))
    .description('Make an X25519 key pair for --recipient backups: KEYFILE (private, mode 0600) and KEYFILE.pub')
    .requiredOption('--out <keyfile>', 'where the private key goes (the public key goes to KEYFILE.pub)')
    .addHelpText(
      'after',
      `
Keep the private key away from the Keyturn host (it opens every backup made to its public key);
give the host only KEYFILE.pub.

Examples:
  keyturn backup keygen --out ops-backup.key
  keyturn backup create --out keyturn.ktbk --recipient ops-backup.key.pub`,
    )
    .action(async (opts: CommonOptions & { out: string }) => {
      const { generateRecipientKeys } = await import('../../backup/envelope.js');
      const out = resolve(workingDir(app.io), opts.out);
      for (const f of [out, `${out}.pub`]) if (existsSync(f)) throw new KeyturnError('KT_USAGE', `${f} already exists; move it away first`);
      const k = generateRecipientKeys();
      writeFileSync(out, k.privatePem, { mode: 0o600, flag: 'wx' });
      writeFileSync(`${out}.pub`, k.publicPem, { mode: 0o644, flag: 'wx' });
      const r = { privateKey: out, publicKey: `${out}.pub`, fingerprint: k.fingerprint };
      emit(app.io, !!opts.json, r, () => `Wrote ${r.privateKey} (private, mode 0600) and ${r.publicKey} (public), key ${r.fingerprint}`);
    });
}
