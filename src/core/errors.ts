/**
 * The one registry of Keyturn error codes.
 *
 * Every error Keyturn raises on purpose is a {@link KeyturnError} with a stable `KT_...` code
 * from {@link ERRORS}: a title, an HTTP status for the API, and a fix that tells the user what
 * to do. `docs/errors.md` is generated from this table (`npm run docs:errors`) and a test
 * fails when the two drift apart.
 *
 * Messages never carry secret values: pass paths, ids and counts in `detail`, never values.
 *
 * @example
 * ```ts
 * throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at "${path}"`);
 * ```
 */

export interface ErrorSpec {
  /** One line: what went wrong, in general. */
  readonly title: string;
  /**
   * HTTP status the API answers with; the CLI's exit code follows from it ({@link exitCodeOf}).
   * 400: the caller's input is wrong. 404: what the caller asked for (a secret, version, stage,
   * field, run, policy, target or audit event, named on the command line or by the policy it
   * uses) does not exist. Something missing outside Keyturn (a user on a target) is not a 404.
   */
  readonly status: number;
  /** What to do about it. */
  readonly fix: string;
}

function spec(status: number, title: string, fix: string): ErrorSpec {
  return { status, title, fix };
}

export const ERRORS = {
  // ── usage ──────────────────────────────────────────────────────────────
  KT_USAGE: spec(400, 'The command line is not valid.', 'Run the command with --help to see its arguments and options.'),
  KT_CONFIG_INVALID: spec(400, 'A setting is not valid.', 'Correct the setting named in the message (environment variable or option) and run again.'),
  KT_CONFIG_FILE_INVALID: spec(
    400,
    'The configuration file (keyturn.yaml) cannot be read or is not valid.',
    'Correct keyturn.yaml at the place the message names (file:line, or a key path such as secrets.prod/db/app.target; for "environment variable X is not set", set X), then run `keyturn apply -f keyturn.yaml --dry-run` again.',
  ),
  KT_CONFIRMATION_REQUIRED: spec(
    400,
    'The command needs confirmation, and there is no terminal to ask on.',
    'Pass --yes to confirm (scripts and CI), or run the command on a terminal and answer the question.',
  ),
  KT_ABORTED: spec(409, 'The command was not confirmed, so nothing was changed.', 'Run the command again and answer y, or pass --yes to confirm without a question.'),

  // ── paths ──────────────────────────────────────────────────────────────
  KT_PATH_EMPTY: spec(400, 'The secret path is empty.', 'Give a path such as prod/db/app_user.'),
  KT_PATH_TOO_LONG: spec(400, 'The secret path is longer than 512 characters.', 'Use a shorter path.'),
  KT_PATH_LEADING_SLASH: spec(400, 'The secret path starts with "/".', 'Drop the leading slash: prod/db/app_user, not /prod/db/app_user.'),
  KT_PATH_EMPTY_SEGMENT: spec(400, 'The secret path has an empty segment ("//" or a trailing "/").', 'Join segments with a single "/" and do not end the path with "/".'),
  KT_PATH_DOT_SEGMENT: spec(400, 'The secret path has a "." or ".." segment.', 'Name every segment; relative segments are not allowed.'),
  KT_PATH_CONTROL_CHAR: spec(400, 'The secret path contains a control character.', 'Remove control characters (newlines, tabs, NUL) from the path.'),
  KT_PATH_INVALID_CHAR: spec(400, 'The secret path contains a character outside [A-Za-z0-9._-].', 'Use only letters, digits, ".", "_" and "-" in each segment, separated by "/".'),

  // ── values ─────────────────────────────────────────────────────────────
  KT_VALUE_MISSING: spec(400, 'No value was given.', 'Give the value with --value, --stdin, --file or --field k=v.'),
  KT_VALUE_SOURCE_CONFLICT: spec(400, 'More than one value source was given.', 'Use exactly one of --value, --stdin, --file or --field.'),
  KT_VALUE_EMPTY: spec(
    400,
    'The value is empty (or a field of it is).',
    'Give a value that is not empty (check that the variable or file you read it from is set); if an empty value is what you mean, add --allow-empty.',
  ),
  KT_INPUT_ABORTED: spec(
    400,
    'The value prompt was cancelled (Ctrl-C or end of input) before Enter; nothing was done.',
    'Run the command again and type the value, then press Enter; or pipe it in with --stdin, or give --file.',
  ),
  KT_VALUE_TOO_LARGE: spec(400, 'The value is larger than the size limit.', 'Store a smaller value, or raise KEYTURN_MAX_VALUE_BYTES if the limit is too low.'),
  KT_VALUE_NOT_UTF8: spec(
    400,
    'The value read from the file is not valid UTF-8 text; nothing was stored.',
    'A secret value is text: store binary data base64-encoded (`base64 -w0 FILE > FILE.b64`, then --file FILE.b64), or convert the file to UTF-8 (iconv -f LATIN1 -t UTF-8), or store its parts as fields with --field name=value.',
  ),
  KT_VALUE_INVALID_JSON: spec(400, 'The value is not valid JSON.', 'Fix the JSON, or store it as a plain string by leaving out --json-value.'),
  KT_VALUE_NOT_OBJECT: spec(400, 'A JSON value must be an object of fields.', 'Wrap the value in an object, for example {"password": "..."}.'),
  KT_VALUE_FIELD_INVALID: spec(400, 'A field is malformed.', 'Give fields as --field name=value with a name of [A-Za-z0-9._-].'),
  KT_FIELD_NOT_FOUND: spec(404, 'The version has no such field.', 'List the fields with `keyturn secret get PATH --json`.'),
  KT_FIELD_NOT_AVAILABLE: spec(400, 'The value is a plain string, so it has no fields.', 'Leave out --field, or store the value as fields.'),
  KT_TAG_INVALID: spec(400, 'A tag is malformed.', 'Give tags as --tag key=value.'),

  // ── secrets, versions and stages ───────────────────────────────────────
  KT_SECRET_NOT_FOUND: spec(404, 'No secret at that path.', 'Check the path with `keyturn secret ls`.'),
  KT_SECRET_DELETED: spec(409, 'The secret is deleted (within its recovery window).', 'Restore it with `keyturn secret restore PATH`, or purge it once the window allows.'),
  KT_SECRET_NOT_DELETED: spec(409, 'The secret is not deleted.', 'Delete it first with `keyturn secret rm PATH`; only deleted secrets can be restored or purged.'),
  KT_PURGE_PROTECTED: spec(409, 'Purge protection keeps this deleted secret until its recovery window ends.', 'Wait until the purge date shown, or restore the secret.'),
  KT_RECOVERY_DAYS_INVALID: spec(400, 'The recovery window must be 7 to 90 days.', 'Give --recovery-days between 7 and 90.'),
  KT_VERSION_NOT_FOUND: spec(404, 'The secret has no such version.', 'List versions with `keyturn secret history PATH`.'),
  KT_VERSION_MISMATCH: spec(
    409,
    "The secret's current version is not the expected one (compare-and-set failed); nothing was written.",
    'Read it again with `keyturn secret history PATH`, check what changed, then retry with --expect-version set to the current version number (0 only while the secret does not exist).',
  ),
  KT_VERSION_CONFLICT: spec(409, 'A version with that id already holds a different value.', 'Use a new version id; version ids are immutable.'),
  KT_STAGE_UNKNOWN: spec(400, 'Unknown stage.', 'Use one of: current, pending, previous.'),
  KT_STAGE_NOT_SET: spec(404, 'No version carries that stage.', 'List versions and their stages with `keyturn secret history PATH`.'),
  KT_STAGE_CONFLICT: spec(409, 'The stage moved since it was read (compare-and-set failed).', 'Read the secret again and retry with the version id it now has.'),
  KT_NO_PREVIOUS_VERSION: spec(404, 'There is no previous version to roll back to.', 'Roll back only after a new version has been made current.'),
  KT_ROLLBACK_MANAGED: spec(
    409,
    'The secret is a managed credential: moving its stages back would leave a current credential the target does not accept.',
    'Rotate instead (`keyturn rotate PATH`), or set the previous password on the database yourself and store it with `keyturn secret put`.',
  ),
  KT_STORE_CONFIG_INVALID: spec(
    400,
    'The secret store configuration is not valid.',
    "Correct the key the message names in the file KEYTURN_STORE_FILE points at (docs/stores/README.md lists each store's keys), or unset KEYTURN_STORE_FILE for the embedded store.",
  ),
  KT_STORE_NOT_ROTATION_SAFE: spec(
    500,
    'The secret store lacks a guarantee rotation needs (versions read by id, put idempotent on the version id, compare-and-set stage moves), so the engine refuses to rotate with it.',
    'Rotate with a store that has every guarantee (the embedded store does). Writing a store: implement the ones the message names, declare them in its capabilities and pass the store contract suite (docs/contributing.md).',
  ),

  // ── keys and encryption ───────────────────────────────────────────────
  KT_NOT_INITIALIZED: spec(500, 'The Keyturn home folder is not initialized.', 'Run `keyturn init` (or set KEYTURN_HOME to an initialized folder).'),
  KT_ALREADY_INITIALIZED: spec(409, 'The Keyturn home folder is already initialized.', 'Use the existing home, or pick another with --home.'),
  KT_ROOT_KEY_MISSING: spec(500, 'No root key is available.', 'Restore root.key into the home folder, or set KEYTURN_ROOT_KEY.'),
  KT_ROOT_KEY_INVALID: spec(500, 'The root key is malformed.', 'A root key is 32 random bytes in base64 (44 characters); restore the right one.'),
  KT_ROOT_KEY_MISMATCH: spec(500, 'The root key does not open this state database.', 'Use the root key this database was initialized or last rotated with.'),
  KT_ROOT_KEY_FILE_MODE: spec(500, 'root.key is readable by other users.', 'Run `chmod 600 root.key` in the home folder.'),
  KT_ROOT_KEY_FILE_OWNER: spec(
    500,
    'root.key is not owned by the user running Keyturn.',
    'Run `chown "$(id -u)" root.key` in the home folder as an administrator (or run Keyturn as the user that owns it).',
  ),
  KT_HOME_UNSAFE: spec(
    500,
    'The home folder is writable by group or others, or not owned by the user running Keyturn.',
    'Run `chmod 700 HOME` (and, if another user owns it, `chown "$(id -u)" HOME` as an administrator), or point KEYTURN_HOME at a folder only you own and can write.',
  ),
  KT_ROOT_KEY_OLD_EXISTS: spec(
    409,
    'root.key.old, the key before an earlier root-key rotation, is still in the home folder.',
    'Move root.key.old out of the home folder (keep it with the backups made under it until they are replaced), then run the command again.',
  ),
  KT_DECRYPT_FAILED: spec(500, 'A stored value failed authentication and was not decrypted.', 'The row was altered, moved or corrupted: restore it from a backup; do not trust it.'),
  KT_DATA_KEY_MISSING: spec(500, 'The data key that sealed a value is missing.', 'Restore the state database from a backup.'),

  // ── state database ────────────────────────────────────────────────────
  KT_DATABASE_URL_INVALID: spec(400, 'KEYTURN_DATABASE_URL is not a postgres:// URL.', 'Set KEYTURN_DATABASE_URL=postgres://user@host:5432/db, or unset it to use SQLite.'),
  KT_DATABASE_UNAVAILABLE: spec(503, 'The state database cannot be reached.', 'Check that the database is running and the URL or file is right.'),
  KT_DATABASE_FULL: spec(
    507,
    'The state database or the disk it is on is full; the write was rolled back and nothing was written.',
    'Free disk space where the state database lives (or raise its quota), or move the Keyturn home to a disk with room (KEYTURN_HOME), then run the command again.',
  ),
  KT_DATABASE_TOO_NEW: spec(500, 'The state database was migrated by a newer Keyturn.', 'Upgrade Keyturn to the version that last migrated this database.'),

  // ── audit ─────────────────────────────────────────────────────────────
  KT_AUDIT_KEY_INVALID: spec(
    400,
    'An audit signer or verifier key is malformed.',
    'Give the key exactly as it was generated: NAME+KEYID+BASE64 for a verifier key, PRIVATE+KEY+NAME+KEYID+BASE64 for a signer key (c2sp.org/signed-note).',
  ),
  KT_AUDIT_NOTE_MALFORMED: spec(400, 'A signed note is malformed.', 'A note is text ending in a newline, a blank line, then lines "— NAME BASE64"; pass the note exactly as it was written.'),
  KT_AUDIT_NOTE_UNVERIFIED: spec(
    422,
    'The note has no signature from the expected audit key.',
    "Check that the verifier key is the audit log's public key; a note signed only by other keys is not trusted.",
  ),
  KT_AUDIT_SIGNATURE_INVALID: spec(
    422,
    'A signature from the audit key does not verify.',
    'The signed text or the signature was altered: do not trust this note, and restore it from a copy you trust.',
  ),
  KT_AUDIT_CHECKPOINT_MALFORMED: spec(400, 'An audit checkpoint is malformed.', 'A checkpoint body is three lines: origin, tree size in decimal, base64 root hash; pass it exactly as it was signed.'),
  KT_AUDIT_ORIGIN_MISMATCH: spec(422, 'The checkpoint is from another log (origin differs).', 'Verify against the checkpoint and key of the log you mean; the origin line names the log.'),
  KT_AUDIT_PROOF_MALFORMED: spec(400, 'An audit proof is malformed.', 'Pass the proof exactly as it was written (c2sp.org/tlog-proof@v1, index, hashes, blank line, checkpoint).'),
  KT_AUDIT_PROOF_INVALID: spec(422, 'The audit proof does not verify against the signed checkpoint.', 'The event, its index or the proof was altered: do not trust it; ask the log for a fresh proof.'),
  KT_AUDIT_EVENT_INVALID: spec(400, 'An audit event is malformed.', 'Give every event field with its documented type (see src/audit/event.ts); events never carry secret values.'),
  KT_AUDIT_LEAF_CHANGED: spec(422, 'An audit log entry was changed after it was written.', 'Restore the entry from a backup and investigate who wrote to the audit store.'),
  KT_AUDIT_LEAF_MISSING: spec(422, 'An audit log entry was deleted.', 'Restore the missing entry from a backup and investigate who wrote to the audit store.'),
  KT_AUDIT_LEAF_INSERTED: spec(
    422,
    'An entry that the log never wrote was inserted into the audit log.',
    'Remove the inserted entry (restore from a backup) and investigate who wrote to the audit store.',
  ),
  KT_AUDIT_LEAVES_REORDERED: spec(422, 'Audit log entries are out of order.', 'Restore the original order from a backup (each entry records its seq) and investigate who wrote to the audit store.'),
  KT_AUDIT_TRUNCATED: spec(422, 'The audit log is shorter than a signed checkpoint says it was.', 'Restore the missing tail from a backup and investigate who deleted it.'),
  KT_AUDIT_CHECKPOINT_MISMATCH: spec(
    422,
    'A signed checkpoint does not match the audit log entries.',
    'Some entry covered by the checkpoint was altered and the links were rewritten: restore the log from a backup.',
  ),
  KT_AUDIT_CHECKPOINT_FORK: spec(
    422,
    'The audit key signed two checkpoints that cannot both be true.',
    "The log's history was rewritten by someone holding the audit key: rotate the key and investigate.",
  ),
  KT_AUDIT_INCONSISTENT_WITH_TRUSTED: spec(
    422,
    'The audit log is not an extension of the checkpoint you trust.',
    'The history you saw earlier was rewritten: keep your trusted checkpoint as evidence and investigate.',
  ),
  KT_AUDIT_HEAD_FORGED: spec(
    422,
    'The audit head row was not written by Keyturn: its MAC does not verify.',
    'Someone with write access to the state database rewrote the audit head (and perhaps the events after the last checkpoint), or a Keyturn older than the audit MAC key wrote to this log. Nothing is appended or signed until it is resolved: run `keyturn audit verify` to see what changed, keep a copy of the database as evidence, and restore the state database from a backup.',
  ),
  KT_AUDIT_WRITE_FAILED: spec(
    503,
    'The audit event could not be written, so the action was not done.',
    'Check the state database (disk space, permissions, the audit_* tables) and run `keyturn audit verify`; nothing is changed until the audit log can be written.',
  ),
  KT_AUDIT_KEY_MISSING: spec(
    500,
    'The audit signing or HMAC key is missing from the state database.',
    'Restore the audit_keys table from a backup; without the signing key no checkpoint can be signed and nothing is written.',
  ),
  KT_AUDIT_EVENT_NOT_FOUND: spec(404, 'No audit event with that id.', "List events and their ids with `keyturn audit tail`; an id is ev_<seq>_<12 hex digits>, or give the event's seq number."),
  KT_AUDIT_TRUSTED_NOT_COVERED: spec(
    422,
    'The export starts after the trusted checkpoint, so it cannot show that the log extends it.',
    'Export from the trusted checkpoint on (`keyturn audit export --from-checkpoint FILE`) or the whole log (`--all`), then verify again.',
  ),
  KT_AUDIT_EXPORT_MALFORMED: spec(400, 'The audit export file is malformed.', 'Pass the file exactly as `keyturn audit export` wrote it (docs/audit.md describes the format).'),
  KT_AUDIT_VERIFY_FAILED: spec(
    422,
    'The audit log failed verification.',
    'Read the problems listed (each names the entry or checkpoint and the kind of damage); restore the log from a backup and investigate who changed it.',
  ),
  KT_AUDIT_SINK_FAILED: spec(
    502,
    'An audit sink did not take the events; they stay queued for it.',
    'Check the sink named in the message (file folder, HTTP endpoint, syslog receiver); delivery resumes from its cursor on the next command or `keyturn audit deliver`.',
  ),

  // ── rotation engine and config ─────────────────────────────────────
  KT_CONFIG_FILE_MISSING: spec(
    400,
    'The configuration file does not exist.',
    'Create keyturn.yaml in the current folder (start from examples/keyturn.yaml, or run `keyturn quickstart`, which writes a working one under the home folder), or pass -f FILE (-f - reads it from stdin).',
  ),
  KT_PLAN_CHANGED: spec(409, 'The applied configuration changed while the plan waited for confirmation; nothing was applied.', 'Run `keyturn apply` again to see the new plan.'),
  KT_POLICY_NOT_FOUND: spec(404, 'The secret has no rotation policy.', 'Declare it under secrets: in keyturn.yaml and run `keyturn apply -f keyturn.yaml`.'),
  KT_POLICY_NOT_ROTATABLE: spec(400, 'The secret is stored but not rotated (no target and not an app-secret).', 'Give it a target in keyturn.yaml, or rotate it by hand with `keyturn secret put`.'),
  KT_TARGET_NOT_FOUND: spec(404, 'The policy names a target that is not applied.', 'Declare the target under targets: in keyturn.yaml and apply it.'),
  KT_CREDENTIAL_INVALID: spec(400, 'The stored credential lacks username or password fields.', 'Store it as fields: `keyturn secret put PATH --field username=... --field password=...`.'),
  KT_RUN_NOT_FOUND: spec(404, 'No run with that id.', 'List runs with `keyturn runs`.'),
  KT_RUN_LOCKED: spec(409, 'Another worker is rotating this secret now.', 'Wait for it to finish, or resume the run once its lease expires.'),
  KT_LEASE_LOST: spec(409, 'Another worker took over the run.', 'Nothing to do: the other worker carries on; check `keyturn runs show ID`.'),
  KT_PENDING_UNRESOLVED: spec(
    409,
    'A pending version left by an earlier run must stay staged (it is the only stored credential that logs in, or a standby user logs in with it and cannot be set back); a new rotation would make the store forget it.',
    'Finish that run with `keyturn runs resume ID` if it can, or store the credential that works as current with `keyturn secret put PATH --supersede`; see `keyturn secret history PATH`.',
  ),
  KT_RUN_CHANGED: spec(409, 'The run was changed by another worker while this one was working on it; this worker stopped.', 'Nothing to do: see `keyturn runs show ID` for what the other worker did.'),
  KT_RUN_ACTIVE: spec(
    409,
    'The secret has an unfinished rotation run; storing a value by hand now would race it.',
    'Wait for the run to finish, cancel it with `keyturn runs cancel ID`, or store your value anyway with `--supersede` (the run is then cancelled without touching the target).',
  ),
  KT_RUN_FINISHED: spec(409, 'The run has already finished.', 'Start a new rotation with `keyturn rotate PATH`.'),
  KT_RUN_SUPERSEDED: spec(
    409,
    'The run is superseded: the version it started from (or, for a finished run, the one it delivered) is no longer current, replaced by a newer run or `secret put`; it is refused without touching the target or any consumer, and an unfinished one is cancelled.',
    "Start a new rotation with `keyturn rotate PATH` (it starts from the current version and delivers to every consumer); this run's pending version is cleared.",
  ),
  KT_RUN_CANCEL_UNSAFE: spec(409, 'Cancelling now would drop the only credential that works.', 'Resume the run with `keyturn runs resume ID` so it finishes, or restore the target by hand first.'),
  KT_RUN_INTERRUPTED: spec(503, 'The run was stopped by a signal at a step boundary.', 'Resume it with `keyturn runs resume ID` or `keyturn rotate PATH`.'),
  KT_ROTATION_FAILED: spec(502, 'The rotation failed; the secret keeps its current value.', 'See `keyturn runs show ID` for the failed step and error, fix the cause, then `keyturn runs resume ID`.'),

  // ── password policies ─────────────────────────────────────────────────
  KT_PASSWORD_POLICY_INVALID: spec(
    400,
    'A password policy is not valid.',
    'Correct the key named in the message: length 8 to 1024, class counts (lower, upper, digits, symbols) an integer or false, symbolSet printable ASCII symbols.',
  ),
  KT_PASSWORD_POLICY_UNSATISFIABLE: spec(
    400,
    "The password policy cannot be met (after the target's limits are applied).",
    "Lower the minimum counts, keep the length within the target's maximum, or exclude fewer characters so every required class keeps at least one character.",
  ),

  // ── consumers ─────────────────────────────────────────────────────────
  KT_CONSUMER_CONFIG_INVALID: spec(
    400,
    'A consumer configuration is not valid.',
    'Correct the consumer key named in the message (file: path, template, mode; exec: argv, env, timeoutMs, cwd; signal: pidFile, signal).',
  ),
  KT_CONSUMER_FAILED: spec(
    502,
    'A consumer did not take the new value; the rotation itself stands.',
    "Fix the reason in the message (folder or permissions, the command's exit status and stderr, or the process behind the pid file), then retry the delivery.",
  ),
  KT_CONSUMER_PATH_UNSAFE: spec(
    403,
    'A consumer path is unsafe to use: a folder on the way others can write, a symlink, or something other than a regular file.',
    'Fix the path named in the message: `chmod go-w FOLDER` (or pick a folder only its owner can write), replace a symlink with the real path, make a pid file a regular file; then retry the delivery with `keyturn runs resume RUN_ID`.',
  ),
  KT_CONSUMER_TIMEOUT: spec(
    504,
    "A consumer did not finish within the rotation's timeout; the rotation itself stands.",
    'Find what the consumer waits on (a slow or hung file system, a command that never exits), fix it or raise rotation.timeoutMs, then retry the delivery with `keyturn runs resume RUN_ID`.',
  ),
  KT_TEMPLATE_PLACEHOLDER_UNKNOWN: spec(
    422,
    'A template placeholder names something the secret does not have.',
    'Use {{value}} for a plain string secret, a field name for a secret of fields, or {{_path}}, {{_version}}, {{_version_id}}; or add the field to the secret. A failed run changed nothing: correct the template in keyturn.yaml, `keyturn apply`, then rotate again.',
  ),

  // ── targets ───────────────────────────────────────────────────────────
  KT_TARGET_CONFIG_INVALID: spec(
    400,
    'A target configuration is not valid.',
    'Correct the target key named in the message (type, host, port, database, ...) under targets: in keyturn.yaml, then apply again.',
  ),
  KT_TARGET_STRATEGY_UNSUPPORTED: spec(
    400,
    'The target does not rotate with this strategy.',
    'Set secrets.<path>.strategy in keyturn.yaml to a strategy the message lists for the target (docs/targets/ has a page per target saying which it takes), then apply again.',
  ),
  KT_TARGET_ADMIN_REQUIRED: spec(
    400,
    'The rotation needs an admin credential for the target.',
    'Name an admin secret (fields username, password) on the target in keyturn.yaml; single-user can do without one only when the current credential is known.',
  ),
  KT_TARGET_USERNAME_INVALID: spec(
    400,
    'The user name cannot be used on this target or with this strategy.',
    'Use a name the target accepts (PostgreSQL: at most 63 bytes; MariaDB: at most 128 characters; RabbitMQ: at most 255 characters, no `:` in an admin name; no control characters); with alternating-users the standby is <user> or <user>_clone.',
  ),
  KT_TARGET_PASSWORD_REJECTED: spec(
    422,
    'The target refused the new password value.',
    "Align the secret's password policy with the target's rules (length, characters, password validation plugins), then retry.",
  ),
  KT_TARGET_AUTH_FAILED: spec(
    502,
    'The target refused the credential.',
    'Check the user name and password held in the store; if the password was changed on the target by hand, store the working one with `keyturn secret put`.',
  ),
  KT_TARGET_PERMISSION_DENIED: spec(
    502,
    'The admin user lacks a right the rotation needs on the target.',
    'Give the admin user the right named in the message (PostgreSQL: CREATEROLE; MariaDB/MySQL: CREATE USER and GRANT OPTION on what it copies; Redis: the ACL commands; LDAP: write on userPassword, add under the users, write on the groups; Active Directory: Reset Password on the users, Create User objects in their OU and Write Members on the groups; RabbitMQ: the administrator tag, and for `test` access to the configured vhost; Kerberos: the kadm5.acl privileges c, m, i and e), then retry.',
  ),
  KT_TARGET_USER_MISSING: spec(502, 'The user to rotate does not exist on the target.', 'Create the user on the target first, or correct the username held in the secret.'),
  KT_TARGET_UNAVAILABLE: spec(
    503,
    'The target cannot be reached or did not answer in time.',
    'Check that the server runs and is reachable at the configured host and port (firewall, TLS, timeouts); the rotation retries with backoff.',
  ),
  KT_TARGET_FAILED: spec(
    502,
    'The target answered with an error Keyturn does not expect.',
    "Look up the driver code given in the message in the server's documentation and its log, fix the cause, then retry.",
  ),

  // ── access: tokens and path policies ─────────────────────────────────
  KT_ACCESS_POLICY_INVALID: spec(400, 'The access policy document is not valid.', 'Fix the document at the dot-path named (rules of `path` globs and `capabilities`); see docs/access.md.'),
  KT_ACCESS_POLICY_NOT_FOUND: spec(404, 'No access policy with that name.', 'List them with `keyturn policy ls`; store one with `keyturn policy put NAME -f FILE`.'),
  KT_ACCESS_POLICY_RESERVED: spec(400, 'That access policy name is built in.', 'Choose another name; the built-in `admin` policy cannot be replaced.'),
  KT_TOKEN_INVALID: spec(
    401,
    'The token is not valid: unknown, malformed, expired or revoked.',
    'Use a current token (`keyturn token ls` shows which exist); create one with `keyturn token create --policy NAME`.',
  ),
  KT_TOKEN_NOT_FOUND: spec(404, 'No token with that id.', 'List tokens with `keyturn token ls`.'),
  KT_API_ROUTE_NOT_FOUND: spec(404, 'No such API route.', 'See docs/server.md for the routes and their methods.'),
  KT_UI_NOT_BUILT: spec(
    503,
    'The web dashboard’s assets are not built, so `/ui` has nothing to serve.',
    'Build them with `npm run build:ui` (part of `npm run build` and of `npm ci`); they go to dist/ui/ (docs/ui.md).',
  ),
  KT_TLS_INVALID: spec(
    400,
    'The TLS certificate or key given to `keyturn server` cannot be used.',
    'Pass --tls-cert with a PEM certificate (its chain after it) and --tls-key with the PEM private key of that certificate, both readable by the server; on SIGHUP the server reads them again.',
  ),
  KT_LISTEN_INSECURE: spec(
    400,
    'Plain HTTP on an address other than loopback would send tokens and values in clear.',
    'Serve TLS (--tls-cert FILE --tls-key FILE), listen on 127.0.0.1 (the default), or pass --insecure-http if a TLS proxy in front of Keyturn is the only way in.',
  ),
  KT_AUTH_THROTTLED: spec(429, 'Too many failed authentications from this address.', 'Wait for the time in Retry-After, then use a valid token; repeated failures look like guessing.'),
  KT_ACCESS_DENIED: spec(403, 'The token has no policy that allows this on this path.', 'Ask an admin for a token whose policies grant the capability on the path; see `keyturn policy show NAME`.'),

  // ── metrics ───────────────────────────────────────────────────────────
  KT_METRICS_LOOPBACK_ONLY: spec(
    403,
    'This server serves /metrics only to callers on its own host (keyturn server --metrics loopback).',
    'Scrape from the same host (127.0.0.1 or ::1), or ask the operator for --metrics token and a token allowed audit on the path metrics.',
  ),

  // ── break-glass ───────────────────────────────────────────────────────
  KT_BREAKGLASS_REQUIRED: spec(
    403,
    'Reading this path needs an approved break-glass grant.',
    'Request one: `keyturn breakglass request PATH --reason TEXT`; two other people approve it (`keyturn breakglass approve ID`); then read within the window. docs/access.md.',
  ),
  KT_BREAKGLASS_NOT_NEEDED: spec(
    400,
    'This path is not break-glass for the token: no request is needed.',
    'Read it directly with the token; break-glass applies only to paths a rule of its policies marks `breakGlass`.',
  ),
  KT_BREAKGLASS_NOT_FOUND: spec(404, 'No break-glass request with that id.', 'List requests with `keyturn breakglass ls`.'),
  KT_BREAKGLASS_SELF_APPROVAL: spec(
    403,
    'A break-glass request cannot be approved by the subject who made it.',
    'Two other people (tokens of other subjects, with `approve` on the path) must approve it.',
  ),
  KT_BREAKGLASS_NOT_PENDING: spec(
    409,
    'The break-glass request is no longer pending (approved, denied, lapsed or closed).',
    'See its state with `keyturn breakglass ls`; make a new request if access is still needed.',
  ),
  KT_BREAKGLASS_SERVER_REQUIRED: spec(
    400,
    'Break-glass works through the server: approvals need authenticated identities.',
    'Set KEYTURN_ADDR (e.g. http://127.0.0.1:8787) and KEYTURN_TOKEN to your API token, then run the command again.',
  ),

  // ── catch-all ─────────────────────────────────────────────────────────
  KT_INTERNAL: spec(500, 'Unexpected internal error.', 'Run again with KEYTURN_LOG_LEVEL=debug and report the log (it never contains secret values).'),

  // ── access: OIDC / JWT login ──────────────────────────────────────────
  KT_OIDC_ISSUER_INVALID: spec(
    400,
    'The OIDC issuer document is not valid.',
    'Fix the document at the dot-path named (issuer, jwksUrl, audiences, algorithms, rules of claims and policies); see docs/access.md.',
  ),
  KT_OIDC_ISSUER_NOT_FOUND: spec(404, 'No OIDC issuer with that name.', 'List them with `keyturn oidc ls`; store one with `keyturn oidc put NAME -f FILE`.'),
  KT_OIDC_LOGIN_FAILED: spec(
    401,
    'The OIDC login was refused.',
    "Send a current JWT from a configured issuer, with an audience it accepts and claims its rules grant; the server's debug log says which check failed.",
  ),
  KT_OIDC_JWKS_UNAVAILABLE: spec(
    503,
    "The issuer's JSON Web Key Set could not be fetched.",
    "Check that the issuer's jwksUrl (keyturn oidc show NAME) answers 200 with a key set from the server; retry the login.",
  ),

  // ── the CLI as a client of a server (KEYTURN_ADDR) ─────────────────────
  KT_SERVER_TOKEN_MISSING: spec(
    400,
    'KEYTURN_ADDR names a server but KEYTURN_TOKEN is not set.',
    "Set KEYTURN_TOKEN to an API token (created on the server's home with `keyturn token create --policy NAME`), or unset KEYTURN_ADDR to use the local home.",
  ),
  KT_SERVER_UNREACHABLE: spec(
    503,
    'The keyturn server at KEYTURN_ADDR does not answer, or its certificate is not trusted.',
    'Check that `keyturn server` runs at that address and that KEYTURN_ADDR (scheme, host, port) is right; for a certificate from a private CA, set KEYTURN_CACERT to its PEM file.',
  ),
  KT_SERVER_ANSWER_INVALID: spec(
    502,
    'The answer from KEYTURN_ADDR is not one a keyturn server gives.',
    'Check that KEYTURN_ADDR points at `keyturn server` (not a proxy or another service) and that the server runs the same keyturn version as this command line.',
  ),
  KT_REMOTE_UNSUPPORTED: spec(
    400,
    'This works on a local home only, not through a server (KEYTURN_ADDR).',
    "Run it on the server's host without KEYTURN_ADDR (for example `env -u KEYTURN_ADDR keyturn ...`), or do it one secret at a time through the server.",
  ),

  // ── keyturn agent (agent.yaml, rendering, commands) ───────────────────
  KT_AGENT_CONFIG_INVALID: spec(
    400,
    'The agent configuration (agent.yaml) is not valid.',
    'Correct the setting named by its dot-path in the message (docs/agent.md lists every key) and start the agent again.',
  ),
  KT_AGENT_TOKEN_UNREADABLE: spec(
    400,
    "The agent's token file cannot be read or is empty.",
    'Write an API token (kt_...) to the file named by tokenFile in agent.yaml, readable by the user the agent runs as; it is read again whenever it changes.',
  ),
  KT_AGENT_RENDER_FAILED: spec(
    502,
    'A template of the agent could not be rendered or written.',
    'Read the message: the secret could not be read from any server (check servers, the token and its policy), a placeholder names no field, or the destination cannot be written; the other templates are still rendered.',
  ),
  KT_AGENT_COMMAND_FAILED: spec(
    502,
    'The command of a rendered template failed (exit code, signal, timeout or it did not start).',
    "Run the template's command by hand from the config file's folder to see why; the file was rendered, and the command runs again on the next real change.",
  ),
  KT_AGENT_SIGNAL_FAILED: spec(
    502,
    "The signal to the process in a template's pid file could not be sent.",
    'Check that the pid file names the running program (not a stale pid) and that the agent may signal it (same user, or root); the file was rendered, and the signal is sent again on the next real change.',
  ),
  KT_AGENT_EXEC_FAILED: spec(
    502,
    'The program the agent supervises (exec in agent.yaml) could not be started or keeps exiting.',
    "Run exec.command by hand from the config file's folder to see why; check that every exec.env entry names a field its secret has. The agent starts it again with a growing delay.",
  ),
  KT_AGENT_CACHE_STALE: spec(
    503,
    'The agent holds no version of this secret that a server confirmed within cacheTtl, so it fails closed: its health endpoint and local read API answer 503.',
    'Bring a server back or let the agent reach one (servers, network, token): it catches up by itself and answers again; until then the rendered files stay as they are. Its log names the servers it tried and why each did not answer.',
  ),
  KT_AGENT_SECRET_NOT_HELD: spec(
    404,
    'No template of the agent uses this secret, so its local read API does not hold it.',
    'Ask for a path one of the templates in agent.yaml names (templates[].secret), or add a template for it; the local read API serves only what the agent renders.',
  ),
  KT_AGENT_CACHE_UNAVAILABLE: spec(
    500,
    "The agent's encrypted cache cannot be kept on disk (its folder or key file cannot be created, read or written, or others can write them); the agent goes on with the cache in memory only.",
    'Read the message: give cache.dir in agent.yaml a folder the agent may write and no other user can (mode 0700), and cache.keyFile a file only the agent can write; until then a restart while no server answers renders nothing.',
  ),

  // ── notifications (webhooks) ───────────────────────────────────────────
  KT_NOTIFY_CHANNEL_NOT_FOUND: spec(
    404,
    'No notification channel with that name is applied (or none is).',
    'List the applied channels with `keyturn notify ls`; channels come from notifications.channels in keyturn.yaml, applied with `keyturn apply` (docs/notifications.md).',
  ),
  KT_NOTIFY_SECRET_UNAVAILABLE: spec(
    500,
    'A reference in a notification channel (its URL, signing secret or a header) cannot be resolved in this process.',
    'Set the environment variable it names in the environment of the process that sends (keyturn server; for `keyturn notify test`, this shell), or store the secret it names (with the field it names); the notification is tried again with backoff.',
  ),
  KT_NOTIFY_DELIVERY_FAILED: spec(
    502,
    'A notification could not be delivered to a channel (no answer, a timeout, or an answer other than 2xx).',
    'Check that the receiver runs at the channel URL and answers 2xx (for a 401 or 403, that it verifies the signature with the same secret); `keyturn notify test CHANNEL` tries again now and shows the answer.',
  ),
  KT_SECRET_INACTIVE: spec(
    409,
    'The secret is not active (deprecated, expired or revoked): its value is not read unless the caller asks for it explicitly.',
    'See why with `keyturn secret status PATH`; read it anyway with `keyturn secret get PATH --allow-inactive` (API: allowInactive=true), rotate an expired one with `keyturn rotate PATH`, or mark it active again with `keyturn secret activate PATH` (docs/compliance.md).',
  ),
  KT_AGENTS_NOT_DELIVERED: spec(
    504,
    "Not enough of the secret's subscribed agents reported its new version within waitForAgentsTimeout; the rotation itself stands.",
    '`keyturn runs show RUN_ID` lists the missing agents and their last report: check that each runs and reaches a server (its health endpoint, its log), or lower waitForAgents; a stopped agent stops counting once its last report is older than KEYTURN_AGENT_STALE_AFTER.',
  ),
  KT_NOT_DUE: spec(
    409,
    'The secret is not due for rotation now (another worker has just rotated it, its value was changed, its window is closed, or its retry time has not come).',
    'Nothing to do: the scheduler rotates it when it is due (`keyturn schedule show PATH` says when); `keyturn rotate PATH` rotates it now anyway.',
  ),
  KT_CLEANUP_UNSAFE: spec(
    409,
    'The cleanup after the grace period did not end the previous credential: the current credential does not log in, so the previous one may be the only one that works.',
    "Find why the current credential is refused (`keyturn rotate PATH --dry-run`, the target's logs), fix it or rotate again (`keyturn rotate PATH`); the cleanup is tried again with backoff and ends the previous credential once the current one logs in (docs/schedule.md#cleanup).",
  ),
  KT_CLEANUP_FAILED: spec(
    502,
    'The cleanup after the grace period changed the previous credential on the target, but it still logs in.',
    'Check that the target applies password changes at once (a connection pooler or an LDAP replica may lag) and that nothing sets the password back; the cleanup is tried again with backoff (docs/schedule.md#cleanup).',
  ),
  KT_HOOK_FAILED: spec(
    502,
    "A workflow hook (the secret's hooks: before, after or always) failed: a `before` hook fails the attempt, which rolls back; an `after` or `always` hook's failure is reported and the rotation stands.",
    "Fix the reason in the message (the command's exit status, timeout and stderr), make the hook idempotent (it runs again when its step is resumed), then `keyturn rotate PATH` or `keyturn runs resume RUN` (docs/consumers.md#hooks).",
  ),
  KT_BACKUP_CORRUPT: spec(
    422,
    'The backup file is damaged, cut off, reordered or not a Keyturn backup; nothing was written.',
    'Use another copy of the backup; check it first with `keyturn backup verify FILE`. A backup file is refused as a whole: no part of a damaged one is restored (docs/backup.md).',
  ),
  KT_BACKUP_DECRYPT_FAILED: spec(
    422,
    'The backup does not open with the passphrase or key given (or its header is damaged); nothing was written.',
    'Give the passphrase the backup was made with (--passphrase-file or the prompt), or the private key matching its --recipient (--identity KEYFILE); `keyturn backup verify FILE` shows which the file needs.',
  ),
  KT_BACKUP_KEY_INVALID: spec(
    400,
    'The backup key given is not usable: not an X25519 key in PEM, an empty passphrase, or the wrong kind of key for this backup.',
    'Make a key pair with `keyturn backup keygen --out KEYFILE` (the public half in KEYFILE.pub for --recipient, the private half for --identity); give a passphrase file that is not empty.',
  ),
  KT_BACKUP_SCHEMA_MISMATCH: spec(
    409,
    'The backup comes from a Keyturn with other database migrations than this one.',
    'Restore with the Keyturn version that made the backup (`keyturn backup verify FILE` names the migrations), then upgrade the restored home.',
  ),
  KT_BACKUP_TARGET_NOT_EMPTY: spec(
    409,
    'A restore goes only into an empty home: the folder or the state database already holds something; nothing was changed.',
    'Restore into a new folder (`keyturn backup restore FILE --home NEW`) or an empty PostgreSQL database; a restore never merges into or overwrites a home.',
  ),
  KT_DETECTOR_CONFIG_INVALID: spec(400, 'An anomaly detector configuration is not valid.', "Correct the detection section of keyturn.yaml; docs/anomalies.md lists each detector's parameters."),
  KT_TARGET_RATE_LIMITED: spec(
    503,
    'The target (an HTTP API) answered 429 Too Many Requests, asking to wait longer than the target waits by itself.',
    "Nothing is changed by a refused request: the rotation retries with backoff. If it keeps happening, space rotations out, raise the target's maxRetryAfterMs, or ask the provider for a higher limit (the message gives the Retry-After).",
  ),
  KT_TARGET_KEY_LIMIT: spec(
    502,
    'The target refused another key for the account: it holds as many active keys as the provider allows (often two).',
    'With dual-key a rotation adds a second key, and the previous one ends at the cleanup after `grace`: set a `grace` shorter than the time between rotations (not null), let the cleanup run (`keyturn rotate --due`, the server or a worker), or revoke by hand a key the store does not hold (docs/targets/http-api-key.md); the rotation retries with backoff.',
  ),
  KT_BACKUP_CREDENTIAL_STALE: spec(
    409,
    'A restored home holds a current credential its target no longer accepts: the backup was taken before a rotation (a warning of `keyturn backup restore`; the restore itself stands).',
    'Run `keyturn rotate PATH` on the restored home (or restore with --rotate-stale): a rotation with an admin credential (single-user with `admin`, or alternating users) sets a new password and recovers; one that logs in as the user itself cannot (docs/backup.md).',
  ),
  KT_BACKUP_FOLDER_UNUSABLE: spec(
    500,
    'The folder a backup goes to (the folder of --out, or `backups.folder` of keyturn.yaml) cannot be created, listed or written (missing, no permission, disk full); no backup was written.',
    'Make the folder exist and be writable by the user that makes the backups (keyturn server, `keyturn backup run-scheduled` or `create`), free space, or apply another `backups.folder`; a scheduled backup is tried again at the next pass.',
  ),
  KT_ENDPOINT_UNREACHABLE: spec(
    503,
    'The endpoint (HOST:PORT) could not be reached: its name does not resolve, the connection is refused, or no connection was made within the timeout.',
    'Check the host name and port (`nc -vz HOST PORT`), that the service runs and listens there, and that no firewall drops the connection from this machine; raise --timeout for a slow network (docs/certificates.md).',
  ),
  KT_TLS_HANDSHAKE_FAILED: spec(
    502,
    'A connection to the endpoint was made, but no TLS handshake completed: it does not speak TLS on that port (or only after a STARTTLS), refused the handshake, or did not finish it within the timeout.',
    'Check that the port serves TLS directly (`openssl s_client -connect HOST:PORT -servername NAME`), that --servername is a name it serves, and that it accepts TLS 1.2 or newer; protocols with STARTTLS (SMTP on 25/587, LDAP on 389) are not checked (docs/certificates.md).',
  ),
  KT_ACME_ORDER_FAILED: spec(
    502,
    "The ACME CA refused to issue the certificate: it refused an identifier, the account, the CSR, or a challenge failed (the message gives the ACME problem type and the CA's detail).",
    "By problem type: rejectedIdentifier, a name the CA will not issue for (correct `names`); unauthorized, incorrectResponse, connection, dns: the CA could not fetch the HTTP-01 answer (point each name at this machine and let port 80 reach `challenge.listen`); caa: the names' CAA records do not allow this CA; accountDoesNotExist, externalAccountRequired: register the account with the CA; then rotate again (docs/certificates.md).",
  ),
  KT_ACME_ACCOUNT_KEY_INVALID: spec(
    400,
    "The ACME account key (the acme target's admin secret) is missing, not a PEM private key, or of a kind the CA does not take.",
    "Store an EC P-256 key (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`) with `keyturn secret put PATH --file key.pem` and name PATH as the target's admin; keep it: the CA knows the account by it (docs/certificates.md).",
  ),
  KT_ACME_CERT_INVALID: spec(
    422,
    'The certificate value of an acme target is not usable: it does not parse, its key does not match, it does not cover the configured names, it has expired, or its chain does not link.',
    'Rotate the secret to issue a new certificate (`keyturn rotate PATH`); if a value was stored by hand, store the whole `{ cert, key, chain, notAfter, serial }` of one certificate.',
  ),
  KT_SIGNING_KEY_INVALID: spec(
    500,
    'A stored signing key is not a usable key of its secret: its fields are missing or malformed, its kid is not the thumbprint of its public key, its algorithm is not the one the target names, or its private key does not sign for its public key.',
    'A signing key is made by its target only: rotate the secret (`keyturn rotate PATH`) to issue a new one; a value stored by hand (`keyturn secret put`) must be one the target made (docs/signing-keys.md).',
  ),
  KT_JWKS_NOT_FOUND: spec(
    404,
    'No JWKS is served at that path: there is no secret there, or its applied policy does not rotate it with a signing-key target.',
    'Check the path and that keyturn.yaml gives the secret a target of type signing-key (`keyturn schedule PATH`), then `keyturn apply` (docs/signing-keys.md).',
  ),
  KT_CERT_VALUE_INVALID: spec(
    400,
    'A secret that should hold a certificate does not have the certificate value shape: { cert, key, chain, notAfter, serial } (PEM leaf, PEM PKCS#8 private key, PEM intermediates, ISO-8601 notAfter, lowercase hex serial), or its parts do not parse or agree.',
    'Store the certificate again in that shape (`keyturn ca init` makes CA values; a `renew` rotation makes leaf values), or point the target at the right secret (docs/certificates.md).',
  ),
  KT_CA_INVALID: spec(
    400,
    "The issuing CA (the target's `admin:` secret) cannot issue: it is not a CA certificate with keyCertSign, its key does not match its certificate, or it is expired or not yet valid.",
    "Point the target's `admin:` at the intermediate `keyturn ca init` made (pki/ca/intermediate by default), or renew the CA when it has expired (docs/certificates.md).",
  ),
  KT_CA_EXISTS: spec(
    409,
    'The internal CA already exists at that prefix: `keyturn ca init` never replaces a root or an intermediate, since every certificate issued from them would stop being trusted.',
    'Use the existing CA (`keyturn ca show --prefix PREFIX`), or give another --prefix. To start over at the same prefix, remove both secrets for good first (`keyturn secret rm`, then `keyturn secret purge`), knowing that every certificate issued from the old CA stops being trusted.',
  ),
  KT_CERT_CHECK_FAILED: spec(
    422,
    'A certificate does not pass its check: it does not verify against the issuing CA, its key does not match it, it is expired or not yet valid, or its names are not the configured ones.',
    'Read the message for which check failed; rotate again to issue a new certificate, or correct the target (commonName, dnsNames, ipAddresses) or its `admin:` CA (docs/certificates.md).',
  ),
  KT_STORE_UNAVAILABLE: spec(
    503,
    'The outside secret store (Vault, AWS, Azure, GCP, OCI, Kubernetes) cannot be reached, or kept answering busy (throttling, 5xx) through every retry; nothing was changed by the call that failed.',
    "Check that the store's address in KEYTURN_STORE_FILE is right and the service is up (the message names the address and what it answered), then run the command again; a rotation resumes where it stopped.",
  ),
  KT_STORE_AUTH_FAILED: spec(
    502,
    "The outside secret store refused Keyturn's credentials or their permissions (401/403 or the provider's own denial).",
    "Give Keyturn's identity the permissions the store's page lists (docs/stores/), check the credentials the provider's chain finds (environment, profile, workload identity, token file), then run again.",
  ),
  KT_STORE_FAILED: spec(
    502,
    "The outside secret store answered with an error Keyturn does not expect for that call; the message has the provider's code and message.",
    "Read the provider's code in the message; if the store is misconfigured (wrong mount, region, vault or namespace), correct KEYTURN_STORE_FILE. Report it if the call should have worked.",
  ),
  KT_REPLICA_BEHIND: spec(
    503,
    'A new value of the secret waits: one of its read-only fallback replicas does not hold the current version, and a copy tried just now failed. Nothing was written; a rotation waits at its create step and goes on once the replica has caught up.',
    'Run `keyturn replicas status` for the replica and its last error, make its store answer (the error says what it answered), then `keyturn replicas sync` and write again. To write regardless, take `fallback: true` off that store in keyturn.yaml and apply.',
  ),

  // ── secret scanning (keyturn scan) ────────────────────────────────────
  KT_SCAN_CONFIG_INVALID: spec(
    400,
    'The scan configuration (--config, .keyturn-scan.toml or .gitleaks.toml) cannot be read or is not valid.',
    'Correct the file at the place the message names (a TOML syntax error with its line, or a rule id and field); rules follow the gitleaks schema (docs/scan.md).',
  ),
  KT_SCAN_REGEX_UNSAFE: spec(
    400,
    "A scan rule's regex can backtrack catastrophically (a repetition inside a repetition, such as (a+)+), so it could stall a scan.",
    'Rewrite the regex named in the message without nested repetition: bound the inner part ([a-z0-9]{32} instead of ([a-z0-9]+)+) or make the alternatives exclusive.',
  ),
  KT_SCAN_PATH_NOT_FOUND: spec(404, 'A path given to keyturn scan does not exist.', 'Give an existing file or folder (or - for standard input); paths are relative to the working directory.'),
  KT_SCAN_GIT_FAILED: spec(
    422,
    'git could not list the history or staged changes to scan.',
    "Run the command inside a git work tree with git installed; check the commit or range named in the message (git rev-parse REF); the message has git's own error.",
  ),
  KT_SCAN_BASELINE_INVALID: spec(
    400,
    'The baseline file given with --baseline is not a keyturn scan baseline.',
    'Write a new one with `keyturn scan --baseline-write FILE` (it lists the findings accepted now), or give the right file.',
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * A Keyturn error: stable code, message that names what is wrong, and the registry's fix.
 *
 * @example
 * ```ts
 * try { await store.get('a', {}) } catch (e) { if (isKeyturnError(e, 'KT_SECRET_NOT_FOUND')) ... }
 * ```
 */
export class KeyturnError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fix: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message?: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    const entry = ERRORS[code];
    super(message ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyturnError';
    this.code = code;
    this.status = entry.status;
    this.fix = entry.fix;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  /** A plain object for `--json` output and API bodies. */
  toJSON(): { code: ErrorCode; message: string; fix: string; status: number; details?: Record<string, unknown> } {
    const out: { code: ErrorCode; message: string; fix: string; status: number; details?: Record<string, unknown> } = {
      code: this.code,
      message: this.message,
      fix: this.fix,
      status: this.status,
    };
    if (Object.keys(this.details).length > 0) out.details = { ...this.details };
    return out;
  }
}

/**
 * The CLI's exit codes and what each means; every error's code follows from its HTTP status
 * alone ({@link exitCodeOf}), and docs/errors.md and `keyturn --help` print this table.
 */
export const EXIT_CODES = [
  { code: 0, short: 'ok', meaning: 'ok' },
  { code: 1, short: 'failure', meaning: 'failure: anything that is neither bad input nor a missing thing (a target, the state database, keys, the audit log, an internal error)' },
  { code: 2, short: 'usage error or bad input', meaning: 'usage error or bad input: every code with HTTP status 400' },
  { code: 3, short: 'what you asked for does not exist', meaning: 'what you asked for does not exist: every code with HTTP status 404' },
  {
    code: 4,
    short: 'an endpoint could not be checked (cert watch)',
    meaning:
      'an endpoint could not be checked: `keyturn cert watch` only, when it reached no certificate of an endpoint and every certificate it did read is fine (docs/certificates.md); no KT_ code exits 4',
  },
] as const;

/**
 * The CLI exit code for an error, derived from its HTTP status: 400 (the caller's input) → 2,
 * 404 (what was asked for does not exist) → 3, anything else → 1.
 *
 * @example
 * ```ts
 * exitCodeOf('KT_SECRET_NOT_FOUND'); // 3
 * ```
 */
export function exitCodeOf(code: ErrorCode): 1 | 2 | 3 {
  const { status } = ERRORS[code];
  if (status === 400) return 2;
  if (status === 404) return 3;
  return 1;
}

/** True when `e` is a KeyturnError, optionally with the given code. */
export function isKeyturnError(e: unknown, code?: ErrorCode): e is KeyturnError {
  return e instanceof KeyturnError && (code === undefined || e.code === code);
}
