import { EmbedBatchError } from '../errors.ts';

/**
 * A job stopped because the invocation was about to reach Lambda's time
 * limit, and no queue was configured to continue it (`QUEUE_URL`). Its
 * progress is checkpointed: the retry of the message resumes from there.
 */
export class TimeLimitError extends EmbedBatchError {
  /** Key of the input object. */
  readonly key: string;
  /** Records done (checkpointed) before the stop. */
  readonly rowsDone: number;

  constructor(key: string, rowsDone: number, options?: ErrorOptions) {
    super(
      `${key} could not finish within the Lambda time limit (${rowsDone} records done and checkpointed); the retry resumes from there`,
      options,
    );
    this.name = 'TimeLimitError';
    this.key = key;
    this.rowsDone = rowsDone;
  }
}
