/**
 * Renders one template of the agent: reads the current version of its secret (through
 * ./servers.ts), renders it with the file consumer's template language (or the value as is),
 * and writes it atomically (temp file in the same folder, fsync, rename, fsync of the folder:
 * a reader or a crash sees the whole old file or the whole new one). A file that already holds
 * exactly these bytes with this mode is not touched, and that is not a change: only `changed`
 * results run the template's command. Missing folders on the way are created with mode 0700; a
 * destination another user could swap (../consumers/file/safe-path.ts) is refused. With `owner`
 * or `group` the file is given them before any byte is written (the agent must be allowed to:
 * root, or CAP_CHOWN); a file with another owner counts as a change.
 *
 * Every failure is KT_AGENT_RENDER_FAILED naming the template, its secret and destination and the
 * cause's code, never a value.
 *
 * @example
 * ```ts
 * const r = await renderOne(config.templates[0]!, 0, (path) => servers.readSecret(path));
 * r.changed; // true the first time, false when nothing changed
 * ```
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { DeliveredSecret } from '../consumers/consumer.js';
import { writeFileAtomic } from '../consumers/file/atomic-write.js';
import { unsafeDestination } from '../consumers/file/safe-path.js';
import { parseTemplate, renderPlain, renderTemplate } from '../consumers/file/template.js';
import type { AgentTemplate } from './config.js';

export interface Rendered {
  readonly changed: boolean;
  readonly secret: DeliveredSecret;
}

/** Renders template number `index`; KT_AGENT_RENDER_FAILED when it cannot. */
export async function renderOne(t: AgentTemplate, index: number, read: (path: string) => Promise<DeliveredSecret>): Promise<Rendered> {
  const where = `templates.${index} (secret ${t.secret}, destination ${t.destination})`;
  try {
    const secret = await read(t.secret);
    const text = t.template === undefined ? renderPlain(secret) : renderTemplate(parseTemplate(t.template), secret);
    await mkdir(dirname(t.destination), { recursive: true, mode: 0o700 });
    const unsafe = await unsafeDestination(t.destination);
    if (unsafe !== null) throw new KeyturnError('KT_AGENT_RENDER_FAILED', `${where}: refusing to write: ${unsafe}`, { details: { template: index, secret: t.secret, destination: t.destination } });
    const written = await writeFileAtomic(t.destination, Buffer.from(text, 'utf8'), t.mode, t.owner);
    return { changed: written === 'written', secret };
  } catch (e) {
    if (isKeyturnError(e, 'KT_AGENT_RENDER_FAILED')) throw e;
    const cause = isKeyturnError(e) ? e.code : ((e as NodeJS.ErrnoException).code ?? 'KT_INTERNAL');
    const errno = (e as NodeJS.ErrnoException).code;
    const message = isKeyturnError(e)
      ? e.message
      : errno === 'EPERM' && t.owner !== undefined
        ? 'EPERM giving the file its owner or group (the agent must run as root or have CAP_CHOWN)'
        : `${errno ?? 'error'} writing the file`;
    throw new KeyturnError('KT_AGENT_RENDER_FAILED', `${where}: ${message}`, { details: { template: index, secret: t.secret, destination: t.destination, cause }, cause: e });
  }
}
