import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, withoutUrlCredentials } from '../../lambda/embed/redactSecret.ts';
import { echoesOf, secretPieces } from '../helpers/secretLeaks.ts';

/** Characters that URL-encoding, JSON-escaping and base64 each change. */
const TOKEN = 'sk-Zq7/Yp+Wx"9&Lm=Kt3\\Rv8%Hn2-ÆtokenEnd';

describe('Function: redactSecrets', () => {
  it.each(Object.entries(echoesOf(TOKEN)))('removes every piece of the token echoed %s', (_form, echo) => {
    // Act
    const out = redactSecrets(`{"error":"invalid key ${echo} (sent by you)"}`, [TOKEN]);

    // Assess
    expect(secretPieces(out, TOKEN)).toEqual([]);
    expect(out).toContain(REDACTED);
    expect(out).toContain('(sent by you)');
  });

  it('removes a piece of the token that a cut left at the end of the text, and one a server shortened', () => {
    // Prepare
    const cut = `${'x'.repeat(175)}${TOKEN}`.slice(0, 200);
    const shortened = `Incorrect API key provided: ${TOKEN.slice(0, 12)}...${TOKEN.slice(-4)}`;

    // Act
    const outs = [redactSecrets(cut, [TOKEN]), redactSecrets(shortened, [TOKEN])];

    // Assess
    for (const out of outs) expect(secretPieces(out, TOKEN)).toEqual([]);
    expect(outs[0]).toBe(`${'x'.repeat(175)}${REDACTED}`);
  });

  it('keeps text without the token as it is, escapes included', () => {
    // Prepare
    const text = 'input 3 is too long: \\u00e9 %41 &quot;512&quot; tokens';

    // Act
    const out = redactSecrets(text, [TOKEN]);

    // Assess
    expect(out).toBe(text);
  });

  it('removes bearer tokens even without knowing them', () => {
    // Act
    const out = redactSecrets('Authorization: Bearer abc.def rejected', []);

    // Assess
    expect(out).toBe(`Authorization: Bearer ${REDACTED} rejected`);
  });
});

describe('Function: withoutUrlCredentials', () => {
  it.each([
    ['htp://alice:PaSsWoRd42@host/v1', `htp://${REDACTED}@host/v1`],
    ['https://alice:PaSsWoRd42@host:8080/v1', `https://${REDACTED}@host:8080/v1`],
    ['alice:PaSsWoRd42@host/v1', `${REDACTED}@host/v1`],
    ['http:/alice:PaSsWoRd42@host', `http:/${REDACTED}@host`],
    ['https://host/v1', 'https://host/v1'],
  ])('shows %s as %s', (url, shown) => {
    // Act
    const out = withoutUrlCredentials(url);

    // Assess
    expect(out).toBe(shown);
    expect(out).not.toContain('PaSsWoRd42');
  });
});
