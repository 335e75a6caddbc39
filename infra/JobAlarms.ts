import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmAbove } from './alarmAbove.ts';
import { integerProp } from './errors.ts';

/** Props of `JobAlarms`. */
export interface JobAlarmsProps {
  /** The job function. */
  readonly function: lambda.IFunction;
  /** The job queue. */
  readonly queue: sqs.IQueue;
  /** The job queue's dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Topic notified when an alarm fires and when it clears.
   * @default - alarms without actions (visible in the console only)
   */
  readonly topic?: sns.ITopic;
  /**
   * Age in hours of the oldest waiting job at which the backlog alarm fires;
   * well below the queue's 14-day retention, after which jobs are lost.
   * @default 24
   */
  readonly backlogAgeHours?: number;
}

/**
 * The alarms an operator needs: a job gave up (dead-letter queue not empty),
 * the function crashed or timed out, it was throttled, or jobs wait too long.
 * Failed jobs that the handler reports as batch item failures are not Lambda
 * errors; they show up in the dead-letter queue after the last retry.
 */
export class JobAlarms extends Construct {
  /** Fires when any message sits in the dead-letter queue. */
  public readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
  /** Fires on any function error (an uncaught exception or a timeout). */
  public readonly functionErrors: cloudwatch.Alarm;
  /** Fires on any throttled invocation. */
  public readonly functionThrottles: cloudwatch.Alarm;
  /** Fires when the oldest waiting job is older than `backlogAgeHours`. */
  public readonly queueBacklog: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: JobAlarmsProps) {
    super(scope, id);
    const backlogAgeHours = integerProp(props.backlogAgeHours ?? 24, 'backlogAgeHours', 1, 13 * 24);
    const period = Duration.minutes(5);

    const { topic } = props;

    this.deadLetterQueueNotEmpty = alarmAbove(
      this,
      'DeadLetterQueueNotEmpty',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      {
        description:
          'embed-batch: a job failed on every attempt; its S3 notification is in the dead-letter queue',
        topic,
      },
    );
    this.functionErrors = alarmAbove(
      this,
      'FunctionErrors',
      props.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      { description: 'embed-batch: the function failed (uncaught error or timeout)', topic },
    );
    this.functionThrottles = alarmAbove(
      this,
      'FunctionThrottles',
      props.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
      { description: 'embed-batch: invocations were throttled (account concurrency exhausted?)', topic },
    );
    this.queueBacklog = alarmAbove(
      this,
      'QueueBacklog',
      props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      {
        description: `embed-batch: a job has waited over ${backlogAgeHours} h; raise maxConcurrency (and the rate budget) or expect delays`,
        threshold: Duration.hours(backlogAgeHours).toSeconds(),
        topic,
      },
    );
  }

  /** Every alarm of this construct. */
  get all(): readonly cloudwatch.Alarm[] {
    return [this.deadLetterQueueNotEmpty, this.functionErrors, this.functionThrottles, this.queueBacklog];
  }
}
