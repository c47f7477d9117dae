/**
 * The audit sinks the settings ask for (KEYTURN_AUDIT_JSONL, KEYTURN_AUDIT_HTTP_URL,
 * KEYTURN_AUDIT_SYSLOG, KEYTURN_AUDIT_S3_BUCKET); none when none is set. The S3 sink loads the
 * AWS SDK only when it first delivers.
 *
 * @example
 * ```ts
 * const sinks = sinksFromSettings(settings.audit);
 * await deliverSinks(audit, state, sinks, { timeoutMs: settings.audit.sinkTimeoutMs, batch: settings.audit.sinkBatch });
 * ```
 */
import type { AuditSettings } from '../../config/settings.js';
import { HttpSink } from './http/http-sink.js';
import { JsonlSink } from './jsonl/jsonl-sink.js';
import { S3Sink } from './s3/s3-sink.js';
import type { AuditSink } from './sink.js';
import { SyslogSink } from './syslog/syslog-sink.js';

export function sinksFromSettings(audit: AuditSettings): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (audit.jsonl !== undefined) sinks.push(new JsonlSink(audit.jsonl));
  if (audit.http !== undefined) sinks.push(new HttpSink({ url: audit.http.url, token: audit.http.token }));
  if (audit.syslog !== undefined) sinks.push(new SyslogSink(audit.syslog));
  if (audit.s3 !== undefined) sinks.push(new S3Sink(audit.s3));
  return sinks;
}
