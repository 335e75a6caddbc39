import type { EndpointError } from '../../../lambda/errors.ts';

/** The endpoint error `promise` rejects with; fails the test when it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<EndpointError> {
  try {
    await promise;
  } catch (error) {
    return error as EndpointError;
  }
  throw new Error('expected a failure');
}
