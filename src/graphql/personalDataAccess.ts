import type { Pseudonyms } from '../audit/pseudonyms';
import { RAW_PERSONAL_DATA } from './auth';
import { requireActor, type GraphQLContext } from './context';

/** Requests whose raw read of personal data was already recorded (one record per request). */
const recorded = new WeakSet<object>();

/**
 * How the caller reads personal data: `raw` (everyone but analysts, and analysts whose token grants
 * personal-data:raw, whose read is then recorded in the log with who and what), or the pseudonyms to
 * show instead (analysts by default). The one place that decides it for every resolver.
 */
export const personalDataView = (
  context: GraphQLContext<{ readonly pseudonyms: Pseudonyms | null }>,
  what: string,
): 'raw' | Pseudonyms => {
  const actor = requireActor(context);
  if (actor.role !== 'analyst' || context.services.pseudonyms === null) return 'raw';
  if (!actor.permissions?.includes(RAW_PERSONAL_DATA)) return context.services.pseudonyms;
  if (!recorded.has(context)) {
    recorded.add(context);
    context.logger.info(
      { audit: 'personal-data-read', actorId: actor.id, role: actor.role, permission: RAW_PERSONAL_DATA, read: what },
      'raw personal data read',
    );
  }
  return 'raw';
};
