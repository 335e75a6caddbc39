/**
 * Finds pieces of a secret in text: the check behind "the token never
 * appears anywhere", strict enough that a cut-off prefix counts as a leak.
 */

/** Shortest piece of a secret that counts as a leak. */
export const LEAK_WINDOW = 8;

/** Every substring of `secret` of {@link LEAK_WINDOW} or more characters that occurs in `text` (longest first per start). */
export function secretPieces(text: string, secret: string, window = LEAK_WINDOW): string[] {
  const found: string[] = [];
  for (let start = 0; start + window <= secret.length; start++) {
    // A piece of `window` characters is in every longer piece: checking those is enough to detect,
    // and the longest one found says how much leaked.
    const piece = secret.slice(start, start + window);
    if (!text.includes(piece)) continue;
    let end = start + window;
    while (end < secret.length && text.includes(secret.slice(start, end + 1))) end++;
    found.push(secret.slice(start, end));
  }
  return found;
}

/** Every echo form of a secret a hostile server might send back, each at least once. */
export function echoesOf(secret: string): Record<string, string> {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const json = JSON.stringify(secret).slice(1, -1);
  return {
    raw: secret,
    urlEncoded: encodeURIComponent(secret),
    jsonEscaped: json.replaceAll('/', '\\/'),
    unicodeEscaped: [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
    base64: base64(secret),
    base64Offset1: base64(`x${secret}`),
    base64Offset2: base64(`xy${secret}`),
    base64Bearer: base64(`Bearer ${secret}`),
    base64Url: base64(secret).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''),
    htmlEscaped: secret.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('/', '&#47;'),
    bearer: `Authorization: Bearer ${secret}`,
    cutAtEnd: `${'x'.repeat(175)}${secret}`,
  };
}
