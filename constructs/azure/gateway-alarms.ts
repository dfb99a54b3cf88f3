import { type ContainerApp, MonitorActionGroup, MonitorMetricAlert, MonitorScheduledQueryRulesAlertV2 } from './providers';
import { Construct } from 'constructs';
import type { ResourceGroupRef } from './resource-group-ref';

export interface GatewayAlarmsProps {
  readonly resourceGroup: ResourceGroupRef;
  /** The gateway's Container Apps, by listener. */
  readonly apps: ReadonlyMap<string, ContainerApp>;
  /** Fewer ready replicas than this on any app alerts. */
  readonly minReplicas: number;
  /** The Log Analytics workspace the environment's console logs go to. */
  readonly logAnalyticsWorkspaceId: string;
  /** @default an action group without receivers (attach your own) */
  readonly alarmEmail?: string;
  /**
   * Share of HTTP responses with status >= 500 over 5 minutes that alerts.
   * @default 0.05
   */
  readonly errorRateThreshold?: number;
}

/**
 * The gateway's alarms (Azure Monitor alerts), the same three as on AWS and Google Cloud: unhealthy replicas (platform metric), the 5xx
 * rate and recording failures (both from the gateway's JSON logs in Log Analytics: each request
 * logs a numeric `status`, each recording failure its `code` `GH_ERR_RECORDING_*`).
 */
export class GatewayAlarms extends Construct {
  public readonly actionGroup: MonitorActionGroup;
  public readonly unhealthyReplicas: MonitorMetricAlert[] = [];
  public readonly serverErrors: MonitorScheduledQueryRulesAlertV2;
  public readonly recordingFailures: MonitorScheduledQueryRulesAlertV2;

  constructor(scope: Construct, id: string, props: GatewayAlarmsProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    this.actionGroup = new MonitorActionGroup(this, 'Actions', {
      name: 'gatehouse-alerts',
      resourceGroupName: rg.name,
      shortName: 'gatehouse',
      emailReceiver: props.alarmEmail ? [{ name: 'operator', emailAddress: props.alarmEmail, useCommonAlertSchema: true }] : undefined,
    });
    for (const [name, app] of props.apps) {
      this.unhealthyReplicas.push(new MonitorMetricAlert(this, `Replicas-${name}`, {
        name: `gatehouse-${name}-replicas`,
        resourceGroupName: rg.name,
        scopes: [app.id],
        description: `Fewer than ${props.minReplicas} replicas of gatehouse-${name}`,
        severity: 1,
        frequency: 'PT1M',
        windowSize: 'PT5M',
        criteria: [{
          metricNamespace: 'Microsoft.App/containerApps',
          metricName: 'Replicas',
          aggregation: 'Minimum',
          operator: 'LessThan',
          threshold: props.minReplicas,
        }],
        action: [{ actionGroupId: this.actionGroup.id }],
      }));
    }
    const rate = props.errorRateThreshold ?? 0.05;
    const logAlert = (sid: string, name: string, description: string, query: string, threshold: number) =>
      new MonitorScheduledQueryRulesAlertV2(this, sid, {
        name,
        resourceGroupName: rg.name,
        location: rg.location,
        scopes: [props.logAnalyticsWorkspaceId],
        description,
        severity: 1,
        evaluationFrequency: 'PT5M',
        windowDuration: 'PT5M',
        criteria: [{ query, timeAggregationMethod: 'Maximum', metricMeasureColumn: 'value', operator: 'GreaterThan', threshold }],
        action: { actionGroups: [this.actionGroup.id] },
        // The table exists only once the environment has logged; do not fail the first apply.
        skipQueryValidation: true,
      });
    // The environment's diagnostic setting delivers console lines to the resource-specific table
    // ContainerAppConsoleLogs (one row per line: ContainerAppName, Log; Azure Monitor Logs reference).
    const lines = "ContainerAppConsoleLogs | where ContainerAppName startswith 'gatehouse-' | extend entry = parse_json(Log)";
    this.serverErrors = logAlert('ErrorRate', 'gatehouse-5xx-rate', `More than ${rate * 100}% of HTTP responses are 5xx`,
      `${lines} | where isnotnull(entry.status) | summarize value = todouble(countif(toint(entry.status) >= 500)) / count()`, rate);
    this.recordingFailures = logAlert('RecordingFailures', 'gatehouse-recording-failures', 'The gateway could not record (traffic it describes is stopped)',
      `${lines} | where tostring(entry.code) startswith 'GH_ERR_RECORDING_' | summarize value = count()`, 0);
  }
}
