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

  constructor(scope: Construct, id: string, props: GatewayAlarmsProps) {
    super(scope, id);
    const threshold = props.serverErrorPercent ?? 5;
    if (!(threshold > 0 && threshold <= 100)) {
      throw new Error(`GatewayAlarms: serverErrorPercent must be in (0, 100], got ${threshold}`);
    }
    const gateway = props.gateway;
    this.logGroup = gateway.logGroup;
    this.topic = props.topic ?? this.createTopic();
    const action = new actions.SnsAction(this.topic);

    const http = gateway.targetGroups.get('http')!;
    this.unhealthyTargets = new cloudwatch.Alarm(this, 'UnhealthyTargets', {
      alarmDescription: 'Gateway tasks are failing the /healthz check behind the load balancer',
      metric: http.metrics.unHealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.runningTasks = new cloudwatch.Alarm(this, 'RunningTasks', {
      alarmDescription: `Fewer than ${gateway.taskCount.min} gateway tasks are running`,
      metric: new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName: 'RunningTaskCount',
        dimensionsMap: { ClusterName: gateway.cluster.clusterName, ServiceName: gateway.service.serviceName },
        period: Duration.minutes(1),
        statistic: 'Minimum',
      }),
      threshold: gateway.taskCount.min,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const responses = this.logMetric('Responses', 'HttpResponses', '{ $.status = * }');
    const errors = this.logMetric('ServerErrors', 'HttpServerErrors', '{ $.status >= 500 }');
    this.serverErrors = new cloudwatch.Alarm(this, 'ServerErrorRate', {
      alarmDescription: `More than ${threshold}% of HTTP responses are 5xx`,
      metric: new cloudwatch.MathExpression({
        expression: 'IF(responses > 0, 100 * errors / responses, 0)',
        usingMetrics: { responses: responses.metric, errors: errors.metric },
        period: Duration.minutes(1),
        label: '5xx percent',
      }),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const recording = this.logMetric('RecordingFailures', 'RecordingFailures', '{ $.code = "GH_ERR_RECORDING_*" }');
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
