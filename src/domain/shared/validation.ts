import { DomainError } from './decider';

/** Input checks shared by the deciders. They throw VALIDATION_FAILED naming the field. */

export const requireText = (field: string, value: string): string => {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new DomainError('VALIDATION_FAILED', `${field} must not be empty.`, { field });
  return trimmed;
};

/** Deliberately loose: one @, something on each side, a dot in the domain. Delivery proves the rest. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const requireEmail = (field: string, value: string): string => {
  const trimmed = value.trim();
  if (!EMAIL.test(trimmed)) {
    throw new DomainError('VALIDATION_FAILED', `${field} "${value}" is not an e-mail address.`, { field, value });
  }
  return trimmed;
};

/** Control characters (NUL above all: PostgreSQL's jsonb refuses it) have no place in a name or an address. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Trimmed, not empty, at most `max` characters, no control characters. */
export const requirePlainText = (field: string, value: string, max: number): string => {
  const trimmed = requireText(field, value);
  if (trimmed.length > max) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be at most ${max} characters (got ${trimmed.length}).`, { field });
  }
  if (CONTROL.test(trimmed)) throw new DomainError('VALIDATION_FAILED', `${field} must not contain control characters.`, { field });
  return trimmed;
};

/** `requireEmail`, at most 320 characters (RFC 5321's limit) and without control characters. */
export const requireEmailAddress = (field: string, value: string): string => {
  const email = requireEmail(field, value);
  if (email.length > 320) throw new DomainError('VALIDATION_FAILED', `${field} must be at most 320 characters.`, { field });
  if (CONTROL.test(email)) throw new DomainError('VALIDATION_FAILED', `${field} must not contain control characters.`, { field });
  return email;
};

export const requirePositiveInteger = (field: string, value: number): number => {
  if (!Number.isInteger(value) || value <= 0) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be a whole number greater than 0 (got ${value}).`, {
      field,
      value,
    });
  }
  return value;
};
