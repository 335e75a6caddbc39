// "the limit is 64", "maximum allowed batch size 64", "max inputs: 64", "at most 64 inputs"
const PATTERNS = [
  /\b(?:limit|maximum|max)\b[^0-9.]{0,40}?\b(\d{1,6})\b/i,
  /\bat most (\d{1,6}) (?:inputs|items|texts|documents|strings)\b/i,
];
// A message about the size of one input (characters, tokens, bytes) says nothing about how many fit.
const ABOUT_SIZE = /\b(?:char(?:acter)?s?|tokens?|bytes?|length|long|MB|KB)\b/i;

/**
 * The most inputs per request that a 413 (or 400/422 "too many") message
 * states, or undefined when it states none. TEI says "batch size 65 >
 * maximum allowed batch size 64"; others say "the limit is 64". Reading it
 * saves the halving steps (128 -> 64 -> 32 takes 32 for a limit of 50) and
 * finds the real limit instead of a power-of-two fraction of it.
 */
export function statedInputLimit(message: string | undefined): number | undefined {
  if (message === undefined || ABOUT_SIZE.test(message)) return undefined;
  for (const pattern of PATTERNS) {
    const value = Number(pattern.exec(message)?.[1]);
    if (Number.isInteger(value) && value >= 1) return value;
  }
  return undefined;
}
