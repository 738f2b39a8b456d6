import { RequestIdentity } from '../common/request-identity';

/** Who is calling the client API, from the verified JWT, and the request it came with. */
export interface ClientUser extends RequestIdentity {
  userId: string;
  appId: string;
  deviceId: string;
  role: string;
}

export const DEFAULT_APP_ID = 'default';
