import { ValidateBy } from 'class-validator';

/**
 * Whether text is safe to store and echo: no control characters other than tab, line feed and
 * carriage return (C0, DEL and C1), and no UTF-16 surrogate without its pair, which no UTF-8
 * column or JSON reader can hold faithfully.
 */
export function isCleanText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    } else if (c >= 0x7f && c <= 0x9f) {
      return false;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

export const TEXT_RULE = 'must not contain control characters or unpaired surrogates';

/** A string field under the text rule; other types are left to the field's type check. */
export const CleanText = () =>
  ValidateBy({
    name: 'cleanText',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || isCleanText(value),
      defaultMessage: (args) => `${args?.property ?? 'text'} ${TEXT_RULE}`,
    },
  });
