import { ArgumentMetadata, Injectable, Param, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { assertIdentifier, IDENTIFIER_PATTERN } from './identifier';

/** Path identifiers: a malformed one is 400, never a lookup that answers 404. */
@Injectable()
export class IdentifierPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    return assertIdentifier(value, metadata.data ?? 'identifier');
  }
}

/**
 * A path identifier, validated by IdentifierPipe and documented with the same pattern, so the
 * OpenAPI parameter cannot say something other than what the route enforces.
 */
export function IdentifierParam(name: string): ParameterDecorator {
  return (target, key, index) => {
    Param(name, IdentifierPipe)(target, key, index);
    const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
    if (key === undefined || descriptor === undefined) return;
    ApiParam({
      name,
      description: "1-64 characters of letters, digits, '_', '.', ':' or '-'; anything else is 400",
      schema: { type: 'string', pattern: IDENTIFIER_PATTERN.source },
    })(target, key, descriptor);
  };
}
