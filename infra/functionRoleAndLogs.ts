import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** A function's own log group and a role that may write to it and nothing else yet. */
export interface FunctionRoleAndLogs {
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
}

/**
 * Creates `LogGroup` and `Role` in `scope` for one Lambda function. The role
 * gets write access to that log group only, written out rather than
 * AWSLambdaBasicExecutionRole, which may write to any log group; callers add
 * their own statements.
 */
export function functionRoleAndLogs(
  scope: Construct,
  description: string,
  retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
): FunctionRoleAndLogs {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', { retention });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description,
  });
  logGroup.grantWrite(role);
  return { logGroup, role };
}
