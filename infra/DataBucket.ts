import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { integerProp } from './errors.ts';

/** Props of `DataBucket`. */
export interface DataBucketProps {
  /**
   * Days an object version stays after it was overwritten or deleted
   * (reindexing overwrites part files; versions are for recovery, not archive).
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
  /** Days server access logs are kept. @default 90 */
  readonly accessLogDays?: number;
  /**
   * What happens to both buckets when the stack is deleted. With RETAIN the
   * data survives `cdk destroy`; objects are never auto-deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The job's bucket (inputs under one prefix, outputs under another) and a
 * separate bucket for its server access logs. Both: S3-managed encryption,
 * all public access blocked, TLS 1.2+ only, bucket-owner-enforced ownership.
 */
export class DataBucket extends Construct {
  /** Inputs and outputs: versioned, access-logged. */
  public readonly bucket: s3.Bucket;
  /** Server access logs of `bucket`; objects expire after `accessLogDays`. */
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps = {}) {
    super(scope, id);
    const noncurrentVersionDays = integerProp(props.noncurrentVersionDays ?? 30, 'noncurrentVersionDays', 1);
    const accessLogDays = integerProp(props.accessLogDays ?? 90, 'accessLogDays', 1);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging delivers only to SSE-S3 buckets, never SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(accessLogDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          // Multipart uploads of large inputs or part files that a crash left behind are billed until aborted.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(noncurrentVersionDays),
        },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });
  }
}
