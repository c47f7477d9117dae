/** The access repository for a command, with audit events in this process's context (loaded inside actions only). */
import type { AccessRepo } from '../../access/access-repo.js';
import type { Keyturn } from '../../runtime/keyturn.js';

export async function accessOf(kt: Keyturn): Promise<AccessRepo> {
  const [{ AccessRepo }, { accessAuditHook }] = await Promise.all([import('../../access/access-repo.js'), import('../../audit/hooks.js')]);
  return new AccessRepo(kt.state, kt.clock, accessAuditHook(kt.audit, kt.audit.context));
}
