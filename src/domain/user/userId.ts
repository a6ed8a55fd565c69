import { createHash } from 'node:crypto';

/**
 * User ids are derived from the e-mail address, so that registering one address twice, even at the
 * same moment, targets the same stream (`user-<id>`) and the second append fails its `no_stream`
 * expectation: uniqueness is enforced by the store, not by a racy lookup.
 */

/** Fixed namespace for user ids. Changing it would change every user's id: never do. */
export const USER_ID_NAMESPACE = '8f0d9c1e-5b6a-4c2f-9e3d-2a7b4c6d8e10';

const uuidBytes = (uuid: string): Buffer => {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`"${uuid}" is not a UUID.`);
  return Buffer.from(hex, 'hex');
};

/** RFC 9562 UUID version 5 (SHA-1, name-based). */
export const uuidV5 = (name: string, namespace: string): string => {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(Buffer.from(name, 'utf8')).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** E-mail addresses are compared trimmed and case-insensitively, across the whole system. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export const userIdForEmail = (email: string): string => uuidV5(normalizeEmail(email), USER_ID_NAMESPACE);

/** Persona ids are `${userId}:p${n}`, n = 1, 2, ... in creation order. */
export const personaIdFor = (userId: string, n: number): string => `${userId}:p${n}`;

/** The user a persona belongs to, read from its id; null when the id is not a persona id. */
export const userIdOfPersona = (personaId: string): string | null => /^(.+):p[1-9]\d*$/.exec(personaId)?.[1] ?? null;
