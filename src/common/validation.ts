import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { badRequest } from './domain.error';

/**
 * One message per bad field: "x is required" when it is missing, else the message of its first
 * declared rule (class-validator lists a field's failed rules last-declared first, and each DTO
 * declares the type check before the range checks). A caller fixes one thing at a time better
 * than from a list of every rule the value could break.
 */
function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix + error.property;
    if (error.children?.length) return describe(error.children, `${path}.`);
    if (error.value === undefined) return [`${path} is required`];
    const messages = Object.values(error.constraints ?? {});
    const first = messages[messages.length - 1] ?? 'is invalid';
    return [first.startsWith(error.property) ? path + first.slice(error.property.length) : first];
  });
}

/**
 * A query parameter given twice arrives as an array, and the field's rules would each refuse
 * it in their own words; no query field of this API is a list, so the repetition is named.
 */
class RequestValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query' && typeof value === 'object' && value !== null) {
      const repeated = Object.entries(value)
        .filter(([, v]) => Array.isArray(v))
        .map(([name]) => `${name} must be given once`);
      if (repeated.length > 0) throw badRequest(repeated.slice(0, 5).join('; '));
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** Bodies and queries: unknown fields refused, types converted, first problems named. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
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
