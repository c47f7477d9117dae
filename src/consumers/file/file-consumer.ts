/**
 * The file consumer: renders the secret (through a template, or as is) into a file, replaced
 * atomically with the configured mode (default 0600), never through a folder others can write or
 * a symlink (see ./safe-path.ts: KT_CONSUMER_PATH_UNSAFE, nothing written). Delivering the same content again leaves
 * the file untouched. `check` confirms the file exists with that mode.
 *
 * @example
 * ```ts
 * const c = createFileConsumer(fileConfigSchema.parse({ type: 'file', path: '/etc/app/db.env', template: 'PASSWORD={{password}}\n' }));
 * await c.deliver(ctx, { path: 'prod/db/app', versionId, number: 7, value: { username: 'app', password } });
 * ```
 */
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Consumer } from '../consumer.js';
import { consumerFailed, consumerPathUnsafe, fsReason, throwIfAborted } from '../failure.js';
import { writeFileAtomic } from './atomic-write.js';
import { modeBits, type FileConsumerConfig } from './config.js';
import { unsafeDestination } from './safe-path.js';
import { parseTemplate, renderPlain, renderTemplate } from './template.js';

/** Creates a file consumer from a parsed config (see `fileConfigSchema`). */
export function createFileConsumer(config: FileConsumerConfig): Consumer {
  const template = config.template === undefined ? null : parseTemplate(config.template);
  const describe = `file ${config.path}`;
  const octal = (m: number) => `0${m.toString(8).padStart(3, '0')}`;

  return {
    kind: 'file',
    describe,
    async deliver(ctx, secret) {
      throwIfAborted(ctx, describe);
      const content = Buffer.from(template === null ? renderPlain(secret) : renderTemplate(template, secret), 'utf8');
      const unsafe = await unsafeDestination(config.path);
      if (unsafe !== null) throw consumerPathUnsafe(describe, unsafe, { path: config.path });
      throwIfAborted(ctx, describe);
      let outcome: 'written' | 'unchanged';
      try {
        outcome = await writeFileAtomic(config.path, content, modeBits(config));
      } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        throw consumerFailed(describe, missing ? `the folder ${dirname(config.path)} does not exist` : `could not write the file (${fsReason(e)})`);
      }
      ctx.log.debug({ consumer: describe, path: secret.path, versionId: secret.versionId, bytes: content.length, outcome }, 'file consumer delivered');
    },
    async check(ctx) {
      throwIfAborted(ctx, describe);
      const st = await lstat(config.path).catch((e: unknown) => {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        throw consumerFailed(describe, missing ? 'the file does not exist' : `could not inspect the file (${fsReason(e)})`);
      });
      if (!st.isFile()) throw consumerFailed(describe, 'the path is not a regular file');
      const mode = st.mode & 0o7777;
      if (mode !== modeBits(config)) throw consumerFailed(describe, `the file has mode ${octal(mode)}, expected ${config.mode}`, { mode: octal(mode) });
    },
  };
}
