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

export const requirePositiveInteger = (field: string, value: number): number => {
  if (!Number.isInteger(value) || value <= 0) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be a whole number greater than 0 (got ${value}).`, {
      field,
      value,
    });
  }
  return value;
};
