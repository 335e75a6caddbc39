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
