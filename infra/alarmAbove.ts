import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** What `alarmAbove` needs besides the metric. */
export interface AlarmAboveProps {
  /** Says what happened and what to do. */
  readonly description: string;
  /** @default 0: any occurrence */
  readonly threshold?: number;
  /** Notified when the alarm fires and when it clears. @default none */
  readonly topic?: sns.ITopic;
}

/**
 * The project's one kind of alarm: `metric` above `threshold` in a single
 * period, missing data counted as fine, optionally notifying a topic both
 * ways. Every construct's alarms are made here so they behave alike.
 */
export function alarmAbove(
  scope: Construct,
  id: string,
  metric: cloudwatch.IMetric,
  props: AlarmAboveProps,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric,
    alarmDescription: props.description,
    threshold: props.threshold ?? 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.topic !== undefined) {
    const action = new SnsAction(props.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}
