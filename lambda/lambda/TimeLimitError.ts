import { EmbedBatchError } from '../errors.ts';

/**
 * A job stopped because the invocation was about to reach Lambda's time
 * limit. Nothing was presented as done (no manifest); the message is retried,
 * and a file that never fits one invocation belongs to the distributed path.
 */
export class TimeLimitError extends EmbedBatchError {
  /** Key of the input object. */
  readonly key: string;
  /** Rows embedded before the stop. */
  readonly rowsDone: number;

  constructor(key: string, rowsDone: number, options?: ErrorOptions) {
    super(
      `${key} could not finish within the Lambda time limit (${rowsDone} rows done); large files need the distributed path`,
      options,
    );
    this.name = 'TimeLimitError';
    this.key = key;
    this.rowsDone = rowsDone;
  }
}
