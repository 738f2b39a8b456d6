import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { Optional } from './validation';

/** `limit` and `cursor` of the list endpoints; the cursor is the last id of the page before. */
export class PageQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @Optional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    pattern: '^([1-9]\\d{0,15})?$',
    description: 'next_cursor of the previous page; empty for the first',
  })
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @Optional()
  @Matches(/^[1-9]\d{0,15}$/, { message: 'cursor must be a next_cursor this API returned' })
  cursor?: string;
}

export const DEFAULT_PAGE_SIZE = 20;

/**
 * Reads one row more than the page to learn whether another page follows. The cursor is the
 * key (`keyOf`, the id by default) of the page's last row.
 */
export async function readPage<R, V>(
  query: PageQuery,
  read: (cursorId: number | null, limit: number) => Promise<R[]>,
  view: (row: R) => V,
  keyOf: (row: R) => number = (row) => (row as { id: number }).id,
): Promise<{ list: V[]; next_cursor: string | null }> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const rows = await read(query.cursor === undefined ? null : Number(query.cursor), limit + 1);
  const page = rows.slice(0, limit);
  return {
    list: page.map(view),
    next_cursor: rows.length > limit ? String(keyOf(page[page.length - 1])) : null,
  };
}
