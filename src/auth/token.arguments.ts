import { IDENTIFIER_PATTERN } from '../common/identifier';

const IDENTIFIER_RULE = "1-64 characters of letters, digits, '_', '.', ':' or '-'";

/**
 * What `npm run token` would be refused for: the same rules as the API's, so that a token the
 * script prints is one every client route accepts, instead of a 401 "token has no valid UserId"
 * on the first request.
 */
export function tokenArgumentProblems(values: {
  user: string;
  app: string;
  days: string;
}): string[] {
  const problems: string[] = [];
  if (!IDENTIFIER_PATTERN.test(values.user)) {
    problems.push(`--user must be ${IDENTIFIER_RULE} (got "${values.user}")`);
  }
  if (!IDENTIFIER_PATTERN.test(values.app)) {
    problems.push(`--app must be ${IDENTIFIER_RULE} (got "${values.app}")`);
  }
  const days = Number(values.days);
  if (values.days.trim() === '' || !Number.isFinite(days) || days <= 0 || days > 30) {
    problems.push('--days must be a number of days, more than 0 and at most 30');
  }
  return problems;
}
