/** `text` with every regular-expression metacharacter escaped, to match it literally. */
export const escapeRegExp = (text: string): string =>
  text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
