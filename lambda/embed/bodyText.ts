import { isAscii } from 'node:buffer';

/**
 * A response body as text, as `Response.text()` reads it: UTF-8, a leading
 * BOM dropped, bad bytes replaced. An all-ASCII body, the usual case, is
 * copied as Latin-1: the same characters without a UTF-8 decoder's work.
 */
export function bodyText(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : new TextDecoder().decode(body);
}
