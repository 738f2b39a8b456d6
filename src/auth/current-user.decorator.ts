import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ClientUser } from './client-user';

export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): ClientUser =>
    context.switchToHttp().getRequest<{ user: ClientUser }>().user,
);
