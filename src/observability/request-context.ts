import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line of a request carries, filled as the request learns who is calling. */
export interface RequestContext {
  request_id: string;
  user_id?: string;
  app_id?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();
