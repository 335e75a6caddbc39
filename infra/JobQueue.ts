import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { integerProp } from './errors.ts';

/** Props of `JobQueue`. */
export interface JobQueueProps {
  /**
   * The consuming function's timeout. The queue hides a received message for
   * six times this (AWS's advice for SQS event sources), so a message is not
   * handed to a second invocation while the first may still be working on
   * it, counting the event source's own retries of throttled invocations.
   */
  readonly consumerTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. @default 3 */
  readonly maxReceiveCount?: number;
  /** How long the dead-letter queue keeps a message (the SQS maximum). @default 14 days */
  readonly deadLetterRetention?: Duration;
}

/**
 * The job queue that S3 notifications land in, and its dead-letter queue.
 * Both SQS-managed encryption (S3 notifications can deliver to it without a
 * KMS key policy) and a policy refusing non-TLS requests.
 */
export class JobQueue extends Construct {
  /** One message per S3 notification of an uploaded input. */
  public readonly queue: sqs.Queue;
  /** Messages whose job failed `maxReceiveCount` times. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    const maxReceiveCount = integerProp(props.maxReceiveCount ?? 3, 'maxReceiveCount', 1, 1000);
    const consumerSeconds = props.consumerTimeout.toSeconds();
    integerProp(consumerSeconds, 'consumerTimeout (seconds)', 1, 900);
    const deadLetterRetention = props.deadLetterRetention ?? Duration.days(14);
    integerProp(deadLetterRetention.toSeconds(), 'deadLetterRetention (seconds)', 60, 1_209_600);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: deadLetterRetention,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(consumerSeconds * 6),
      // The SQS maximum: with few invocations at a time a large upload can wait days, and an expired message is lost silently.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}
