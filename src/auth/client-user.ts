/** Who is calling the client API, from the verified JWT. */
export interface ClientUser {
  userId: string;
  appId: string;
  deviceId: string;
  role: string;
}

export const DEFAULT_APP_ID = 'default';
