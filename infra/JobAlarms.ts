import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
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

    this.deadLetterQueueNotEmpty = props.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM })
      .createAlarm(this, 'DeadLetterQueueNotEmpty', {
        alarmDescription:
          'embed-batch: a job failed on every attempt; its S3 notification is in the dead-letter queue',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.functionErrors = props.function
      .metricErrors({ period, statistic: cloudwatch.Stats.SUM })
      .createAlarm(this, 'FunctionErrors', {
        alarmDescription: 'embed-batch: the function failed (uncaught error or timeout)',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.functionThrottles = props.function
      .metricThrottles({ period, statistic: cloudwatch.Stats.SUM })
      .createAlarm(this, 'FunctionThrottles', {
        alarmDescription: 'embed-batch: invocations were throttled (account concurrency exhausted?)',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.queueBacklog = props.queue
      .metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM })
      .createAlarm(this, 'QueueBacklog', {
        alarmDescription: `embed-batch: a job has waited over ${backlogAgeHours} h; raise maxConcurrency (and the rate budget) or expect delays`,
        threshold: Duration.hours(backlogAgeHours).toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    if (props.topic !== undefined) {
      const action = new SnsAction(props.topic);
      for (const alarm of this.all) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** Every alarm of this construct. */
  get all(): readonly cloudwatch.Alarm[] {
    return [this.deadLetterQueueNotEmpty, this.functionErrors, this.functionThrottles, this.queueBacklog];
  }
}
