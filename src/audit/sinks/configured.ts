/**
 * Whether the settings configure any audit sink, without loading a sink module (the sinks, and
 * the AWS SDK under the S3 one, load only when one is configured). The one test for "is there a
 * sink to feed" (src/audit/runtime.ts, src/server/app.ts, src/metrics/state-snapshot.ts), so
 * that a new sink kind cannot be left out of one of them.
 *
 * @example
 * ```ts
 * if (!sinksConfigured(settings.audit)) return [];
 * ```
 */
import type { AuditSettings } from '../../config/settings.js';

export function sinksConfigured(audit: AuditSettings): boolean {
  return audit.jsonl !== undefined || audit.http !== undefined || audit.syslog !== undefined || audit.s3 !== undefined;
}
