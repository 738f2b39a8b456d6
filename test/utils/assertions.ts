import { HttpAnswer } from './test-app';

/** A success envelope: HTTP 200, code 0, message "success"; answers its `data`. */
export function expectOk(answer: HttpAnswer): any {
  expect({ status: answer.status, code: answer.body?.code, message: answer.body?.message }).toEqual(
    { status: 200, code: 0, message: 'success' },
  );
  return answer.body.data;
}

export interface ErrorDetails {
  /** What the message must contain (a string) or match (a pattern). */
  message?: string | RegExp;
}

/**
 * An error envelope with exactly request_id, code and a non-empty message; `code` is the
 * contract's code where it is not the HTTP status (601 answers 409).
 */
export function expectError(
  answer: HttpAnswer,
  status: number,
  code = status,
  details: ErrorDetails = {},
): void {
  expect({ status: answer.status, code: answer.body?.code }).toEqual({ status, code });
  expect(Object.keys(answer.body).sort()).toEqual(['code', 'message', 'request_id']);
  expect(answer.body.message.length).toBeGreaterThan(0);
  if (details.message !== undefined) expect(answer.body.message).toMatch(details.message);
}
