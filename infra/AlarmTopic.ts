import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PropsError } from './errors.ts';

/** Props of `AlarmTopic`. */
export interface AlarmTopicProps {
  /** Address subscribed to the topic (AWS mails it a confirmation link first). */
  readonly email: string;
}

/**
 * An SNS topic for alarm notifications, encrypted with its own KMS key and
 * refusing non-TLS requests, with one email subscription.
 *
 * A customer-managed key, not `alias/aws/sns`: CloudWatch alarms can only
 * publish to an encrypted topic whose key policy lets CloudWatch use the
 * key, and an AWS-managed key's policy cannot be changed.
 */
export class AlarmTopic extends Construct {
  public readonly topic: sns.Topic;
  /** Encrypts the topic's messages; rotated yearly. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.email)) {
      throw new PropsError(
        'email',
        `Expected \`email\` to be an email address, got ${JSON.stringify(props.email)}`,
      );
    }
    const cloudwatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
    };

    this.key = new kms.Key(this, 'Key', {
      description: 'embed-batch: encrypts the alarm notification topic',
      enableKeyRotation: true,
      // It only encrypts notifications in transit: nothing stored needs it once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOwnAlarms,
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'embed-batch alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    // enforceSSL gives the topic an explicit policy, which replaces SNS's default one; CloudWatch needs its own grant.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
