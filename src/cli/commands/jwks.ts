/**
 * `keyturn jwks PATH [--out FILE]`: the JWKS of a signing-key or hsm-key secret, as `GET /v1/jwks/PATH`
 * serves it (src/signing/jwks.ts), from the local home: printed as JSON, or written to FILE
 * atomically (mode 0644: public keys) for a web server or a verifier that reads a file. Meant for
 * a secret's `hooks:` (`before`: the pending key is published before it signs; `after`: the new
 * current key) and a timer that drops the previous key after maxTokenTtl (docs/signing-keys.md).
 * Through a server (KEYTURN_ADDR) it is refused: fetch `GET /v1/jwks/PATH` there instead.
 *
 * @example
 * ```sh
 * keyturn jwks prod/jwt/signing
 * keyturn jwks prod/jwt/signing --out /srv/www/.well-known/jwks.json
 * ```
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, workingDir } from '../io.js';

interface JwksOptions extends CommonOptions {
  out?: string;
}

/** The mode of a written JWKS file: public keys, readable by any verifier. */
const JWKS_FILE_MODE = 0o644;

export function registerJwks(program: Command, app: CliApp): void {
  common(program.command('jwks <path>'))
    .description('Print (or write to a file) the JWKS of a signing-key or hsm-key secret: its current, pending and previous public keys')
    .option('--out <file>', 'write the JWKS to this file atomically (mode 0644), printing nothing; unchanged bytes are not rewritten')
    .addHelpText(
      'after',
      `
The same key set keyturn server serves at GET /v1/jwks/PATH (no token needed there): the current key,
a pending key (published before it signs), and the previous key until maxTokenTtl after it stopped
signing (hsm-key: until the policy's grace ends or the key is destroyed). Works on the local home
only. A path whose target is not a signing-key or hsm-key target exits 3 (KT_JWKS_NOT_FOUND).

Examples:
  keyturn jwks prod/jwt/signing
  keyturn jwks prod/jwt/signing --out /srv/www/.well-known/jwks.json`,
    )
    .action(async (path: string, opts: JwksOptions) => {
      if (await app.isRemote(opts)) throw new KeyturnError('KT_REMOTE_UNSUPPORTED', 'jwks works on a local home, not through a server: fetch GET /v1/jwks/PATH from the server (no token needed)');
      const { jwksOf } = await import('../../signing/jwks-of.js');
      const view = await app.withKeyturn(opts, (kt) => jwksOf(kt, path));
      const jwks = { keys: view.keys };
      if (opts.out === undefined) {
        app.io.stdout.write(`${JSON.stringify(jwks, null, 2)}\n`);
        return;
      }
      const { writeFileAtomic } = await import('../../consumers/file/atomic-write.js');
      const file = resolve(workingDir(app.io), opts.out);
      const outcome = await writeFileAtomic(file, Buffer.from(`${JSON.stringify(jwks, null, 2)}\n`), JWKS_FILE_MODE).catch((e: unknown) => {
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        throw new KeyturnError('KT_USAGE', `cannot write ${file} (${code}): --out must name a file in a folder that exists and that this user may write`);
      });
      emit(
        app.io,
        !!opts.json,
        { path, file, outcome, kids: view.keys.map((k) => k.kid) },
        () => `${outcome === 'written' ? 'Wrote' : 'Unchanged:'} ${file} (${view.keys.length} key${view.keys.length === 1 ? '' : 's'})`,
      );
    });
}
