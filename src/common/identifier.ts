import { badRequest } from './domain.error';

/** Identifiers that clients send: room ids, relay ids, user ids (docs/api.md, "Envelope and errors"). */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function assertIdentifier(value: unknown, name: string): string {
  if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) {
    throw badRequest(`${name} must be 1-64 characters of letters, digits, '_', '.', ':' or '-'`);
  }
  return value;
}
