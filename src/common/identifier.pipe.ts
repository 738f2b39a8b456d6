import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { assertIdentifier } from './identifier';

/** Path identifiers: a malformed one is 400, never a lookup that answers 404. */
@Injectable()
export class IdentifierPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    return assertIdentifier(value, metadata.data ?? 'identifier');
  }
}
