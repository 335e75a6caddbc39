/**
 * Removes secrets from text that came from a server, in every form a server
 * could echo them in, before that text is cut, logged, wrapped or written.
 *
 * Matching whole forms is not enough: a message cut to 200 characters, or a
 * server that shows only part of a key, leaves a piece that no whole-form
 * search finds. So every run of text in which each 8-character window is a
 * window of a secret's echo form is removed: no 8 characters of a secret, in
 * any of its forms, survive, however the text was cut before or after.
 */

/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Shortest piece of a secret that counts as the secret. Shorter pieces of random keys are noise. */
const WINDOW = 8;

/** Base64 (standard and URL-safe) of `bytes` at each of the three alignments a longer text can put it at. */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    // Characters that mix in bits of the bytes before or after the secret depend on them: drop them.
    const start = pad === 0 ? 0 : pad + 1;
    const end = (pad + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 4;
    const core = encoded.slice(start, end);
    forms.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return forms;
}

/** The forms a server could echo `secret` in: raw (any case), URL-encoded, JSON-escaped, base64. */
export function echoForms(secret: string): string[] {
  const percent = encodeURIComponent(secret);
  const escaped = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([
    secret,
    secret.toLowerCase(),
    secret.toUpperCase(),
    percent,
    percent.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
    escaped,
    escaped.replaceAll('/', '\\/'),
    ...base64Forms(Buffer.from(secret, 'utf8')),
    ...base64Forms(Buffer.from(`Bearer ${secret}`, 'utf8')),
  ]);
  return [...forms].filter((form) => form.length >= WINDOW);
}

const windowCache = new Map<string, ReadonlySet<string>>();

/** Every 8-character window of every echo form of `secret` (cached: a job redacts with one key). */
function windowsOf(secret: string): ReadonlySet<string> {
  let windows = windowCache.get(secret);
  if (windows === undefined) {
    const set = new Set<string>();
    for (const form of echoForms(secret)) {
      for (let i = 0; i + WINDOW <= form.length; i++) set.add(form.slice(i, i + WINDOW));
    }
    windows = set;
    // One key per job; a handful at most per process (a rotated secret).
    if (windowCache.size > 16) windowCache.clear();
    windowCache.set(secret, windows);
  }
  return windows;
}

/** `text` with every run covered by windows of `windows` replaced by {@link REDACTED}. */
function removeWindows(text: string, windows: ReadonlySet<string>): string {
  let out = '';
  let copied = 0;
  let coveredUntil = -1;
  let runStart = -1;
  for (let i = 0; i + WINDOW <= text.length; i++) {
    if (!windows.has(text.slice(i, i + WINDOW))) continue;
    if (i > coveredUntil) {
      if (runStart >= 0) {
        out += text.slice(copied, runStart) + REDACTED;
        copied = coveredUntil;
      }
      runStart = i;
    }
    coveredUntil = i + WINDOW;
  }
  if (runStart < 0) return text;
  return out + text.slice(copied, runStart) + REDACTED + text.slice(coveredUntil);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  quot: '"',
  amp: '&',
  lt: '<',
  gt: '>',
  apos: "'",
};

/**
 * `text` with the escapes a server may have put a secret in undone: JSON
 * (`\u0041`, `\/`, `\"`), percent (`%2F`) and HTML (`&quot;`, `&#47;`).
 * Only used to look for secrets; the text shown is this one only when it had one.
 */
function unescaped(text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})|\\([/"\\])/g, (_, hex: string | undefined, char: string | undefined) =>
      hex === undefined ? (char ?? '') : String.fromCharCode(Number.parseInt(hex, 16)),
    )
    .replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return Buffer.from(run.replaceAll('%', ''), 'hex').toString('latin1');
      }
    })
    .replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (entity, name: string) => {
      if (name.startsWith('#')) {
        const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : entity;
      }
      return HTML_ENTITIES[name] ?? entity;
    });
}

/**
 * Removes every secret in `secrets` (and `Bearer <anything>`) from `text`, in
 * any of the forms of {@link echoForms}, including pieces of 8 characters or
 * more. Secrets shorter than 4 characters are ignored (they would shred
 * ordinary words; real keys are long). Pure.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    if (secret.length < WINDOW) {
      out = out.split(secret).join(REDACTED);
      continue;
    }
    const windows = windowsOf(secret);
    out = removeWindows(out, windows);
    // An escaped echo (`\u0074\u006f...`, `tok%2Dx`) shows only once undone; then the undone text is what we keep.
    const plain = unescaped(out);
    if (plain !== out) {
      const cleaned = removeWindows(plain, windows);
      if (cleaned !== plain) out = cleaned;
    }
  }
  return out.replace(/\bBearer\s+[^\s"',]+/gi, `Bearer ${REDACTED}`);
}

/**
 * A URL as it may be shown: anything between the scheme and the last `@`
 * (user and password) replaced by {@link REDACTED}, whether the URL is valid
 * or not (a typo in the scheme must not print the password).
 */
export function withoutUrlCredentials(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  // Without `scheme:/`, everything before the `@` may be user and password (`alice:pw@host`).
  const scheme = /^[a-z][a-z0-9+.-]*:\/+/i.exec(url)?.[0] ?? '';
  const start = Math.min(scheme.length, at);
  return `${url.slice(0, start)}${REDACTED}${url.slice(at)}`;
}
