import { authorizationProblem } from './jwt-auth.guard';

const TWICE =
  'Authorization says "Bearer" twice: send "Authorization: Bearer <token>" with the token alone after one "Bearer "';

describe(authorizationProblem.name, () => {
  it.each([
    [undefined, null],
    ['Bearer eyJhbGciOiJIUzI1NiJ9.e30.x', null],
    ['eyJhbGciOiJIUzI1NiJ9.e30.x', null],
    ['bearer eyJhbGciOiJIUzI1NiJ9.e30.x', null],
    ['Bearer Bearer eyJhbGciOiJIUzI1NiJ9.e30.x', TWICE],
    ['bearer  BEARER eyJhbGciOiJIUzI1NiJ9.e30.x', TWICE],
    ['Bearer Bearer', TWICE],
    ['Bearer BearerToken', null],
  ])('%p: %p', (header, problem) => {
    expect(authorizationProblem(header)).toBe(problem);
  });
});
