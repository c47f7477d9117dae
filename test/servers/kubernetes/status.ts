/**
 * Kubernetes `Status` objects (meta/v1 Status, as the API server returns them for every failure)
 * and the error the local server throws to send one.
 *
 * @example
 * ```ts
 * throw new ApiFailure(notFound('secrets', 'db'));
 * ```
 */

/** The body of a meta/v1 Status. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field: string }[] };
  code: number;
}

/** A failure the server answers with a Status body (and optional extra headers). */
export class ApiFailure extends Error {
  constructor(
    readonly body: StatusBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message ?? body.reason ?? 'failure');
  }
}

/** A Failure Status. */
export function failure(code: number, reason: string, message: string, details?: StatusBody['details']): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const groupOf = (resource: string): string | undefined => (resource === 'deployments' || resource === 'statefulsets' ? 'apps' : undefined);
const qualified = (resource: string): string => (groupOf(resource) ? `${resource}.${groupOf(resource)}` : resource);

/** 404: `secrets "db" not found`. */
export function notFound(resource: string, name: string): StatusBody {
  return failure(404, 'NotFound', `${qualified(resource)} "${name}" not found`, { name, ...(groupOf(resource) ? { group: groupOf(resource) } : {}), kind: resource });
}

/** 409 AlreadyExists on create. */
export function alreadyExists(resource: string, name: string): StatusBody {
  return failure(409, 'AlreadyExists', `${qualified(resource)} "${name}" already exists`, { name, kind: resource });
}

/** 409 Conflict: a stale resourceVersion (or a failed precondition). */
export function conflict(resource: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): StatusBody {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource)} "${name}": ${why}`, { name, kind: resource });
}

/** 422 Invalid, with one cause per field. */
export function invalid(kind: string, name: string, causes: { field: string; message: string }[]): StatusBody {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, { name, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) });
}

/** 400 BadRequest. */
export function badRequest(message: string): StatusBody {
  return failure(400, 'BadRequest', message);
}
