/**
 * A table's columns, typed against the record its store reads and writes: every field of the
 * record names its column once, and the store's SELECT, INSERT and UPDATE statements are built
 * from that map (once, when the store's module loads), so a column is never spelled by hand in
 * two places and a field added to the record does not compile until its column is named.
 */

/** A column whose value is stored as JSON text and read back parsed. */
export interface JsonColumn {
  name: string;
  json: true;
}

/** A BIGINT or INTEGER column that mysql2 or better-sqlite3 may hand back as a string. */
export interface NumberColumn {
  name: string;
  number: true;
}

/** A flag stored as an INTEGER 0 or 1 (both databases read it back as a number). */
export interface BooleanColumn {
  name: string;
  boolean: true;
}

export type Column = string | JsonColumn | NumberColumn | BooleanColumn;

export type ColumnMap<R> = { [K in keyof R]-?: Column };

/** A statement and how to take its parameters from a record (and the values that follow). */
export interface Statement<R> {
  sql: string;
  params(record: R, ...more: unknown[]): unknown[];
}

const nameOf = (column: Column) => (typeof column === 'string' ? column : column.name);
const isJson = (column: Column): column is JsonColumn =>
  typeof column !== 'string' && 'json' in column;
const isNumber = (column: Column): column is NumberColumn =>
  typeof column !== 'string' && 'number' in column;
const isBoolean = (column: Column): column is BooleanColumn =>
  typeof column !== 'string' && 'boolean' in column;

export class Table<R> {
  private readonly fields: (keyof R & string)[];
  private readonly json: (keyof R & string)[];
  private readonly numbers: (keyof R & string)[];
  private readonly booleans: (keyof R & string)[];

  constructor(
    readonly name: string,
    private readonly columns: ColumnMap<R>,
  ) {
    this.fields = Object.keys(columns) as (keyof R & string)[];
    this.json = this.fields.filter((f) => isJson(columns[f]));
    this.numbers = this.fields.filter((f) => isNumber(columns[f]));
    this.booleans = this.fields.filter((f) => isBoolean(columns[f]));
  }

  column(field: keyof R): string {
    return nameOf(this.columns[field]);
  }

  /** `column AS field, ...` of every field, or of those given, each prefixed with `alias.`. */
  select(fields: readonly (keyof R & string)[] = this.fields, alias = ''): string {
    const prefix = alias === '' ? '' : `${alias}.`;
    return fields.map((f) => `${prefix}${this.column(f)} AS ${f}`).join(', ');
  }

  /** A row as read with `select()`: JSON columns parsed and numbers made numbers, in place. */
  read<T extends Partial<R>>(row: T): T {
    const raw = row as Record<string, unknown>;
    for (const f of this.json) if (typeof raw[f] === 'string') raw[f] = JSON.parse(raw[f]);
    for (const f of this.numbers)
      if (raw[f] !== null && raw[f] !== undefined) raw[f] = Number(raw[f]);
    for (const f of this.booleans) if (raw[f] !== undefined) raw[f] = Number(raw[f]) === 1;
    return row;
  }

  /** The value of `field` of `record` as stored. */
  value(record: R, field: keyof R): unknown {
    const value = record[field];
    const column = this.columns[field];
    if (isJson(column)) return JSON.stringify(value);
    return isBoolean(column) ? (value ? 1 : 0) : value;
  }

  /** INSERT of the given fields (every field but `omit`), one row per record. */
  insert(
    omit: readonly (keyof R)[] = [],
    verb = 'INSERT',
  ): Statement<R> & { rows(n: number): string } {
    const fields = this.fields.filter((f) => !omit.includes(f));
    const head = `${verb} INTO ${this.name} (${fields.map((f) => this.column(f)).join(', ')}) VALUES `;
    const one = `(${fields.map(() => '?').join(', ')})`;
    return {
      sql: head + one,
      rows: (n) => head + Array.from({ length: n }, () => one).join(', '),
      params: (record) => fields.map((f) => this.value(record, f)),
    };
  }

  /** UPDATE of the given fields where `where` holds; its parameters follow the fields'. */
  update(fields: readonly (keyof R)[], where: string): Statement<R> {
    return {
      sql: `UPDATE ${this.name} SET ${fields.map((f) => `${this.column(f)} = ?`).join(', ')} WHERE ${where}`,
      params: (record, ...more) => [...fields.map((f) => this.value(record, f)), ...more],
    };
  }
}

/** `?, ?, ?` for a list of values. */
export const marks = (values: readonly unknown[]): string => values.map(() => '?').join(', ');
