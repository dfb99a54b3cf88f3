import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { GatewayService } from './gateway-service';

export interface GatewayAlarmsProps {
  /** The service to watch. */
  readonly gateway: GatewayService;
  /**
   * Topic that receives alarm and recovery notifications.
   * @default a new topic, KMS-encrypted and TLS-only
   */
  readonly topic?: sns.ITopic;
  /**
   * Alarm when more than this share of HTTP responses (percent, 1-minute windows) are 5xx.
   * @default 5
   */
  readonly serverErrorPercent?: number;
}

/** Metric namespace of the values extracted from the gateway's own log. */
export const GATEWAY_METRIC_NAMESPACE = 'Gatehouse';

/**
 * The alarms an operator wants first: tasks failing health checks, fewer running tasks than the
 * floor, a 5xx rate above the threshold, and any recording failure (a recording failure means
 * the gateway is refusing traffic, by design).
 *
 * 5xx and recording failures come from the gateway's JSON log lines (pino): an HTTP exchange
 * logs a numeric `status`; a failure logs its `code` (`GH_ERR_RECORDING_*`).
 */
export class GatewayAlarms extends Construct {
  public readonly topic: sns.ITopic;
  public readonly unhealthyTargets: cloudwatch.Alarm;
  public readonly runningTasks: cloudwatch.Alarm;
  public readonly serverErrors: cloudwatch.Alarm;
  public readonly recordingFailures: cloudwatch.Alarm;
  private readonly logGroup: logs.ILogGroup;
  private readonly gateway: GatewayService;
  private readonly filters: { responses: logs.MetricFilter; errors: logs.MetricFilter; recording: logs.MetricFilter };

  constructor(scope: Construct, id: string, props: GatewayAlarmsProps) {
    super(scope, id);
    const threshold = props.serverErrorPercent ?? 5;
    if (!(threshold > 0 && threshold <= 100)) {
      throw new Error(`GatewayAlarms: serverErrorPercent must be in (0, 100], got ${threshold}`);
    }
    const gateway = props.gateway;
    this.gateway = gateway;
    this.logGroup = gateway.logGroup;
    this.topic = props.topic ?? this.createTopic();
    const action = new actions.SnsAction(this.topic);

    const http = gateway.targetGroups.get('http')!;
    this.unhealthyTargets = new cloudwatch.Alarm(this, 'UnhealthyTargets', {
      alarmDescription: 'Gateway tasks are failing the /readyz check behind the load balancer',
      metric: http.metrics.unHealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.runningTasks = new cloudwatch.Alarm(this, 'RunningTasks', {
      alarmDescription: `Fewer than ${gateway.replicas.min} gateway tasks are running`,
      metric: this.metricRunningReplicas(),
      threshold: gateway.replicas.min,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const responses = this.logMetric('Responses', 'HttpResponses', '{ $.status = * }');
    const errors = this.logMetric('ServerErrors', 'HttpServerErrors', '{ $.status >= 500 }');
    const recording = this.logMetric('RecordingFailures', 'RecordingFailures', '{ $.code = "GH_ERR_RECORDING_*" }');
    this.filters = { responses: responses.filter, errors: errors.filter, recording: recording.filter };
    this.serverErrors = new cloudwatch.Alarm(this, 'ServerErrorRate', {
      alarmDescription: `More than ${threshold}% of HTTP responses are 5xx`,
      metric: this.metric5xxRate(),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.recordingFailures = new cloudwatch.Alarm(this, 'RecordingFailuresAlarm', {
      alarmDescription: 'The gateway could not store records and is refusing the traffic they describe',
      metric: recording.metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [this.unhealthyTargets, this.runningTasks, this.serverErrors, this.recordingFailures]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  /** Records the gateway could not store (each one refused the traffic it describes). Sum per minute. */
  public metricRecordingFailures(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.filters.recording.metric({ statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  /** HTTP responses with a 5xx status. Sum per minute. */
  public metric5xx(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.filters.errors.metric({ statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  /** HTTP responses. Sum per minute. */
  public metricResponses(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.filters.responses.metric({ statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  /** Percent of HTTP responses that are 5xx (0 when there are none). */
  public metric5xxRate(props: { readonly period?: Duration } = {}): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF(responses > 0, 100 * errors / responses, 0)',
      usingMetrics: { responses: this.metricResponses(), errors: this.metric5xx() },
      period: props.period ?? Duration.minutes(1),
      label: '5xx percent',
    });
  }

  /** Tasks passing the load balancer's `/readyz` check. Minimum per minute. */
  public metricHealthyReplicas(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.gateway.targetGroups.get('http')!.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1), ...props });
  }

  /** Running tasks of the service (Container Insights). Minimum per minute. */
  public metricRunningReplicas(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: this.gateway.cluster.clusterName, ServiceName: this.gateway.service.serviceName },
      period: Duration.minutes(1),
      statistic: 'Minimum',
      ...props,
    });
  }

  private logMetric(id: string, metricName: string, pattern: string): { filter: logs.MetricFilter; metric: cloudwatch.Metric } {
    const filter = new logs.MetricFilter(this, id, {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.literal(pattern),
      metricNamespace: GATEWAY_METRIC_NAMESPACE,
      metricName,
      metricValue: '1',
      defaultValue: 0,
    });
    return { filter, metric: filter.metric({ statistic: 'Sum', period: Duration.minutes(1) }) };
  }


  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Gatehouse alarm notifications',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to an encrypted topic only if the key lets them.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return new sns.Topic(this, 'Topic', { displayName: 'Gatehouse alarms', masterKey: key, enforceSSL: true });
  }
}
