import { LoggingMetric, MonitoringAlertPolicy, MonitoringNotificationChannel } from './providers';
import { Construct } from 'constructs';

export interface GatewayAlarmsProps {
  readonly project: string;
  /** The Cloud Run service name. */
  readonly serviceName: string;
  /** Fewer active instances than this for 5 minutes raises `unhealthyReplicas`. */
  readonly minReplicas: number;
  /**
   * Share of requests answered with 5xx (0..1) over 5 minutes that raises `serverErrors`.
   * @default 0.05
   */
  readonly serverErrorRatio?: number;
  /** @default alarms without a subscriber (visible in Cloud Monitoring) */
  readonly alarmEmail?: string;
}

/**
 * Cloud Monitoring alert policies for the gateway on Cloud Run, the same three as on AWS: fewer
 * active instances than the floor, a 5xx share above the threshold, and any recording failure (the
 * gateway then refuses the traffic it cannot record). Recording failures come from the gateway's
 * JSON log lines (`code: GH_ERR_RECORDING_*`) through a log-based metric.
 */
export class GatewayAlarms extends Construct {
  public readonly unhealthyReplicas: MonitoringAlertPolicy;
  public readonly serverErrors: MonitoringAlertPolicy;
  public readonly recordingFailures: MonitoringAlertPolicy;
  public readonly recordingFailureMetric: LoggingMetric;
  public readonly channel?: MonitoringNotificationChannel;

  constructor(scope: Construct, id: string, props: GatewayAlarmsProps) {
    super(scope, id);
    const ratio = props.serverErrorRatio ?? 0.05;
    if (!(ratio > 0 && ratio < 1)) throw new Error(`GatewayAlarms: serverErrorRatio must be between 0 and 1, got ${ratio}`);
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`GatewayAlarms: alarmEmail must be an email address, got "${props.alarmEmail}"`);
    }
    if (props.alarmEmail) {
      this.channel = new MonitoringNotificationChannel(this, 'Email', {
        project: props.project,
        displayName: 'Gatehouse alarms',
        type: 'email',
        labels: { email_address: props.alarmEmail },
      });
    }
    const channels = this.channel ? [this.channel.id] : undefined;
    const run = `resource.type = "cloud_run_revision" AND resource.labels.service_name = "${props.serviceName}"`;

    this.unhealthyReplicas = new MonitoringAlertPolicy(this, 'UnhealthyReplicas', {
      project: props.project,
      displayName: 'Gatehouse: fewer healthy gateway instances than the floor',
      combiner: 'OR',
      severity: 'CRITICAL',
      notificationChannels: channels,
      conditions: [{
        displayName: `active instances < ${props.minReplicas}`,
        conditionThreshold: {
          filter: `${run} AND metric.type = "run.googleapis.com/container/instance_count" AND metric.labels.state = "active"`,
          comparison: 'COMPARISON_LT',
          thresholdValue: props.minReplicas,
          duration: '300s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_SUM' }],
          // No data at all (no instance reports) is the worst case, not "fine".
          evaluationMissingData: 'EVALUATION_MISSING_DATA_ACTIVE',
        },
      }],
    });

    const requests = `${run} AND metric.type = "run.googleapis.com/request_count"`;
    this.serverErrors = new MonitoringAlertPolicy(this, 'ServerErrors', {
      project: props.project,
      displayName: 'Gatehouse: 5xx share above threshold',
      combiner: 'OR',
      severity: 'ERROR',
      notificationChannels: channels,
      conditions: [{
        displayName: `5xx share > ${ratio}`,
        conditionThreshold: {
          filter: `${requests} AND metric.labels.response_code_class = "5xx"`,
          denominatorFilter: requests,
          comparison: 'COMPARISON_GT',
          thresholdValue: ratio,
          duration: '300s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_RATE', crossSeriesReducer: 'REDUCE_SUM' }],
          denominatorAggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_RATE', crossSeriesReducer: 'REDUCE_SUM' }],
        },
      }],
    });

    this.recordingFailureMetric = new LoggingMetric(this, 'RecordingFailureMetric', {
      project: props.project,
      name: 'gatehouse/recording_failures',
      description: 'Gateway log lines whose code is GH_ERR_RECORDING_* (records that could not be stored)',
      filter: `${run} AND jsonPayload.code =~ "^GH_ERR_RECORDING_"`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
    });
    this.recordingFailures = new MonitoringAlertPolicy(this, 'RecordingFailures', {
      project: props.project,
      displayName: 'Gatehouse: recording failures (traffic is being refused)',
      combiner: 'OR',
      severity: 'CRITICAL',
      notificationChannels: channels,
      conditions: [{
        displayName: 'any recording failure',
        conditionThreshold: {
          filter: `resource.type = "cloud_run_revision" AND metric.type = "logging.googleapis.com/user/${this.recordingFailureMetric.name}"`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '0s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' }],
        },
      }],
      // The policy names the metric: it can only be created once the metric exists.
      dependsOn: [this.recordingFailureMetric],
    });
  }
}
