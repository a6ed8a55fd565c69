import { createHash } from 'node:crypto';

/**
 * Users registered before random ids got the uuidv5 of their normalised address as id (their streams
 * are `user-<that id>`). Those ids stay valid and their streams are read as they are; new users get a
 * random id, and uniqueness of addresses lives in the reservation streams (emailReservation.ts). The
 * derivation below remains for one purpose: finding the legacy stream that may still hold an address
 * (`addressHolder`).
 */

/** Fixed namespace of the legacy user ids. Changing it would lose track of every legacy user: never do. */
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

/** The id a user registered with this address before random ids got (legacy); never used for new users. */
export const userIdForEmail = (email: string): string => uuidV5(normalizeEmail(email), USER_ID_NAMESPACE);

/** Persona ids are `${userId}:p${n}`, n = 1, 2, ... in creation order. */
export const personaIdFor = (userId: string, n: number): string => `${userId}:p${n}`;

/** The user a persona belongs to, read from its id; null when the id is not a persona id. */
export const userIdOfPersona = (personaId: string): string | null => /^(.+):p[1-9]\d*$/.exec(personaId)?.[1] ?? null;
