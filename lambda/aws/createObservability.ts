import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The handler's logger and metrics. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Powertools Logger (JSON lines; level from `POWERTOOLS_LOG_LEVEL`, default
 * INFO) and Metrics (CloudWatch EMF on stdout, so no PutMetricData calls and
 * no extra permissions). Built once per container.
 */
export function createObservability(options: {
  serviceName: string;
  metricsNamespace: string;
}): Observability {
  return {
    logger: new Logger({ serviceName: options.serviceName }),
    metrics: new Metrics({ serviceName: options.serviceName, namespace: options.metricsNamespace }),
  };
}
