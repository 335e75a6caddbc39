/** Base class of the errors the CDK app throws on purpose (bad settings, caught before anything is synthesized). */
export class InfraError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InfraError';
  }
}

/** A missing or malformed CDK context value; the message names the key. */
export class StackConfigError extends InfraError {
  /** The context key at fault. */
  readonly key: string;

  constructor(key: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StackConfigError';
    this.key = key;
  }
}

/** A construct prop out of range; the message names the prop. */
export class PropsError extends InfraError {
  /** The prop at fault. */
  readonly prop: string;

  constructor(prop: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PropsError';
    this.prop = prop;
  }
}

/**
 * Checks an integer prop against its bounds.
 *
 * @returns the value, for `const x = integerProp(props.x ?? 1, 'x', 1)`.
 * @throws PropsError ``Expected `x` to be an integer from 1 to 10, got 0``.
 */
export function integerProp(value: number, prop: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new PropsError(prop, `Expected \`${prop}\` to be an integer ${range}, got ${value}`);
  }
  return value;
}

/**
 * Checks a positive, finite number prop.
 *
 * @throws PropsError ``Expected `x` to be a positive number, got 0``.
 */
export function positiveNumberProp(value: number, prop: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new PropsError(prop, `Expected \`${prop}\` to be a positive number, got ${value}`);
  }
  return value;
}

/**
 * Checks the input and output key prefixes: each ends in `/` and has no
 * wildcard, since they go into IAM resources and S3 filters as they are.
 */
export function keyPrefixProps(props: { readonly inputPrefix: string; readonly outputPrefix: string }): void {
  for (const [name, value] of [
    ['inputPrefix', props.inputPrefix],
    ['outputPrefix', props.outputPrefix],
  ] as const) {
    if (!/^[^*?]+\/$/.test(value)) {
      throw new PropsError(
        name,
        `Expected \`${name}\` to be a key prefix ending in / without * or ?, got ${value}`,
      );
    }
  }
}
