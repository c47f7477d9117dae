/**
 * The file consumer's configuration (strict zod schema, used by the keyturn.yaml loader).
 *
 * `mode` is written as an octal string ("0600", "640"). An unquoted YAML `mode: 0600` reaches
 * us as the number 600, so a number is read digit by digit as octal too; a number with an 8 or a
 * 9 (what YAML 1.1 makes of 0600: 384) is refused with a hint to quote it. A mode that lets
 * group or others write the file (0620, 0666, 0777) is refused; group read (0640) is fine.
 *
 * @example
 * ```ts
 * fileConfigSchema.parse({ type: 'file', path: '/etc/app/db.env', template: 'PASSWORD={{password}}\n' }).mode; // '0600'
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { templateProblems } from './template.js';

const MODE_TEXT = /^0?[0-7]{3}$/;
const MODE_HINT = 'must be permission bits in octal, quoted, such as "0600" or "0640"';

/** Octal permission bits as text ("0600"), never letting group or others write; the keytab of the kerberos target uses it too. */
export const fileModeField = z.union([z.string(), z.number()], { error: MODE_HINT }).transform((v, ctx) => {
  const text = String(v);
  if (!MODE_TEXT.test(text)) {
    ctx.addIssue({ code: 'custom', message: MODE_HINT });
    return z.NEVER;
  }
  if ((parseInt(text, 8) & 0o022) !== 0) {
    ctx.addIssue({ code: 'custom', message: 'must not let group or others write the secret file (such as "0600" or "0640")' });
    return z.NEVER;
  }
  // Canonical text, so the parsed config parses again to itself (it is stored and re-read).
  return text.padStart(4, '0');
});

/** The mode bits of a parsed config. */
export function modeBits(config: { mode: string }): number {
  return parseInt(config.mode, 8);
}

export const fileConfigSchema = z.strictObject({
  type: z.literal('file'),
  path: z
    .string({ error: 'must be the absolute path of the file to write' })
    .refine((p) => isAbsolute(p), 'must be an absolute path, such as /etc/app/db.env')
    .refine((p) => !p.includes('\0') && !p.endsWith('/'), 'must be a file path (no NUL, no trailing "/")')
    .describe('file to write; replaced atomically'),
  template: z
    .string({ error: 'must be text with {{field}} placeholders' })
    .max(1024 * 1024, 'must be at most 1 MiB')
    .superRefine((t, ctx) => {
      for (const message of templateProblems(t)) ctx.addIssue({ code: 'custom', message });
    })
    .optional()
    .describe('text with {{field}}, {{value}}, {{_path}}, {{_version}}, {{_version_id}}; without it a string is written as is and fields as JSON'),
  mode: fileModeField.default('0600').describe('octal permission bits of the file, default "0600"'),
});

export type FileConsumerConfig = z.output<typeof fileConfigSchema>;
export type FileConsumerConfigInput = z.input<typeof fileConfigSchema>;
