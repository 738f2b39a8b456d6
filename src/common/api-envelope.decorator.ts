import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

export class ErrorEnvelopeDoc {
  @ApiProperty({ example: '6f1c0b1e-3c55-4d4e-9d9b-1f0b6d1f2a10' })
  request_id!: string;

  @ApiProperty({ example: 601, description: 'see the error table of the contract' })
  code!: number;

  @ApiProperty({ example: 'cannot accept a relay in status 6' })
  message!: string;
}

const ERROR_TEXT: Record<number, [number, string]> = {
  400: [400, 'code 400: malformed body, bad or unknown field, value out of range'],
  401: [401, 'code 401: missing or bad token / signature; code 499: token expired'],
  403: [403, 'code 403: authenticated but not allowed'],
  404: [404, 'code 404: no such room or relay in your app'],
  601: [409, 'code 601: not allowed in the current status'],
};

/**
 * Documents a route's answer as the contract's envelope with `data` of the given model, and
 * the error codes the route can return.
 */
export function ApiEnvelope(model: Type<unknown> | null, errors: (400 | 401 | 403 | 404 | 601)[]) {
  const data: Record<string, { $ref: string }> = model
    ? { data: { $ref: getSchemaPath(model) } }
    : {};
  const byStatus = new Map<number, string[]>();
  for (const code of errors) {
    const [status, text] = ERROR_TEXT[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), text]);
  }
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDoc, ...(model ? [model] : [])),
    ApiResponse({
      status: 200,
      description: 'success: code 0',
      schema: {
        type: 'object',
        required: ['request_id', 'code', 'message'],
        properties: {
          request_id: { type: 'string' },
          code: { type: 'integer', example: 0 },
          message: { type: 'string', example: 'success' },
          ...data,
        },
      },
    }),
    ...[...byStatus].map(([status, texts]) =>
      ApiResponse({ status, description: texts.join('; '), type: ErrorEnvelopeDoc }),
    ),
  );
}
