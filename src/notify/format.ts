/**
 * The request body of a notification in a channel's format: `json` is the body itself
 * (./payload.ts) as compact JSON; `slack` is a Slack-compatible incoming-webhook body,
 * `{ text, blocks }`: `text` a one-line summary (what notifications and clients without blocks
 * show), `blocks` a header, a section with the secret, the error or the times, and a context line
 * with the run, the time and the delivery id. Text from outside (an error message) is escaped for
 * Slack's mrkdwn (`&`, `<`, `>`) and shortened.
 *
 * @example
 * ```ts
 * renderBody('slack', body); // '{"text":"Keyturn: rotation of prod/db/app failed (KT_TARGET_UNAVAILABLE)","blocks":[...]}'
 * ```
 */
import { spanText } from '../core/duration.js';
import type { NotificationBody } from './payload.js';
import type { NotifyFormat } from './schema.js';

/** Slack's mrkdwn escapes: `&`, `<` and `>` (a `<` would otherwise start a link or a mention). */
export function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The one-line summary (Slack's `text`) and the header of a notification. */
export function summaryOf(b: NotificationBody): { title: string; text: string } {
  const path = b.path ?? '(no path)';
  const code = b.error ? ` (${b.error.code})` : '';
  switch (b.type) {
    case 'failure':
      if (b.details?.action === 'cleanup')
        return { title: `:x: Cleanup after grace failed: ${path}`, text: `Keyturn: the previous credential of ${path} could not be ended after its grace period${code}` };
      return { title: `:x: Rotation failed: ${path}`, text: `Keyturn: rotation of ${path} failed${code}` };
    case 'success':
      return { title: `:white_check_mark: Rotated: ${path}`, text: `Keyturn: ${path} was rotated` };
    case 'expiry-warning':
      return b.outcome === 'overdue'
        ? { title: `:rotating_light: Overdue for rotation: ${path}`, text: `Keyturn: ${path} is overdue for rotation` }
        : { title: `:warning: Expires soon: ${path}`, text: `Keyturn: ${path} is due for rotation and will be overdue at ${String(b.details?.overdueAt ?? '?')}` };
    case 'escalation': {
      const since = typeof b.details?.failingSince === 'string' ? Date.parse(b.details.failingSince) : NaN;
      const span = Number.isNaN(since) ? '' : ` for ${spanText(Date.parse(b.time) - since)}`;
      return { title: `:rotating_light: Still failing${span}: ${path}`, text: `Keyturn: rotations of ${path} have been failing${span}${code}` };
    }
    case 'anomaly': {
      const who = String(b.details?.actor ?? '?');
      return { title: `:warning: Access anomaly (${String(b.details?.type ?? '?')}): ${who}`, text: `Keyturn: ${String(b.details?.reason ?? 'an access anomaly')}` };
    }
    default:
      return { title: `:bell: Test notification (channel ${b.channel})`, text: `Keyturn: test notification for channel ${b.channel}` };
  }
}

function slackBody(b: NotificationBody): Record<string, unknown> {
  const { title, text } = summaryOf(b);
  const lines: string[] = [];
  if (b.path !== null) lines.push(`*Secret:* \`${b.path}\``);
  if (b.error) {
    lines.push(`*Error:* \`${b.error.code}\`${b.error.step ? ` at step \`${b.error.step}\`` : ''}`);
    if (b.error.message) lines.push(`>${slackEscape(clip(b.error.message.replace(/\s+/g, ' '), 500))}`);
  }
  for (const [k, v] of Object.entries(b.details ?? {})) if (v !== null) lines.push(`*${k}:* ${slackEscape(String(v))}`);
  const context = [b.runId ? `run \`${b.runId}\`` : null, b.time, `delivery ${b.id}`].filter((x) => x !== null).join(' · ');
  return {
    text: slackEscape(text),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } },
      ...(lines.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
    ],
  };
}

/** The body to send: the stored JSON as it is (json), or rendered from it (slack). */
export function renderBody(format: NotifyFormat, body: NotificationBody, stored?: string): string {
  if (format === 'slack') return JSON.stringify(slackBody(body));
  return stored ?? JSON.stringify(body);
}
