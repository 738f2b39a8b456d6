import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
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
  /**
   * Nest deletes every key named `constructor` or `prototype` from a body before validating it,
   * which would drop valid extends keys behind a success. The JSON parser already refuses what
   * could reach a prototype (`__proto__`, `constructor.prototype`), and extends maps are taken
   * as sent (AsSent), so the body is validated as it arrived.
   */
  protected override stripProtoKeys(): void {}

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query' && typeof value === 'object' && value !== null) {
      const repeated = Object.entries(value)
        .filter(([, v]) => Array.isArray(v))
        .map(([name]) => `${name} must be given once`);
      if (repeated.length > 0) throw badRequest(repeated.slice(0, 5).join('; '));
    }
    // class-transformer drops these keys silently, where any other unknown field is refused.
    if (typeof value === 'object' && value !== null) {
      for (const key of ['constructor', 'prototype']) {
        if (Object.hasOwn(value, key)) throw badRequest(`property ${key} should not exist`);
      }
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

/**
 * A map of client-chosen keys (extends), taken exactly as sent. class-transformer copies a
 * nested object key by key and skips each key that names a member of Object.prototype
 * (`constructor`, `toString`, `valueOf`...), which would drop valid keys behind a success.
 */
export function AsSent(): PropertyDecorator {
  // Typed as Object so that class-transformer does not guess a class from the value's own
  // `constructor` key (it crashes on one that is a string); the value is then put back as sent.
  const typed = Type(() => Object);
  const raw = Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key], {
    toClassOnly: true,
  });
  return (target, key) => {
    typed(target, key);
    raw(target, key);
  };
}
