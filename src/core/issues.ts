/**
 * Schema problems as people read them: each zod issue as `dot.path: message` (the message alone,
 * or `root: message` when given a root name, for an issue about the whole input). One place for
 * the wording every config, policy and request check uses.
 *
 * @example
 * ```ts
 * issueLines(result.error.issues, 'body'); // ['expectVersion: Invalid input: expected number, received string']
 * ```
 */
export interface SchemaIssue {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

export function issueLines(issues: readonly SchemaIssue[], root?: string): string[] {
  return issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : root === undefined ? i.message : `${root}: ${i.message}`));
}
