/**
 * What the per-field wrappers of the built schema share (`withAccessPolicy` in access.ts,
 * `withPseudonymisation` in personalDataAccess.ts): a field's resolver may answer a value or a
 * promise of one, and a wrapper keeps a plain value plain, so graphql-js makes no promise for it.
 */
export const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
