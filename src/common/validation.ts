import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { badRequest } from './domain.error';

function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix + error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property) ? path + message.slice(error.property.length) : message,
    );
    return [...own, ...describe(error.children ?? [], `${path}.`)];
  });
}

/** Bodies and queries: unknown fields refused, types converted, first problems named. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: false,
    exceptionFactory: (errors) =>
      badRequest(describe(errors).slice(0, 5).join('; ') || 'invalid request'),
  });
}

/**
 * An optional field that may be left out but not sent as null: class-validator's IsOptional
 * lets null through, and the contract answers an ill-typed field with 400.
 */
export const Optional = () => ValidateIf((_, value: unknown) => value !== undefined);
