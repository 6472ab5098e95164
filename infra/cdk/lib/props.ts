/**
 * The construct's props: one per parameter of infra/template.yaml (same meaning, same default,
 * the template's constraints checked at synth time), typed for CDK (a topic, log groups).
 */
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { BundlingOptions } from 'cargo-lambda-cdk';

/** The settings that stand for the SAM template's parameters. Defaults: the template's. */
export interface ApptrackSettings {
  /** Notified when apptrack itself fails (`AlertTopicArn`). @default none */
  readonly alertTopic?: sns.ITopic;
  /** Days a resolved incident is kept (`IncidentRetentionDays`). @default 90 */
  readonly incidentRetentionDays?: number;

  /** alarm-scaler records decisions without scaling (`AlarmScalerDryRun`). @default false */
  readonly alarmScalerDryRun?: boolean;
  /** Target as a fraction of the alarm threshold, 0 < f <= 1 (`AlarmScalerTargetFraction`). @default 0.8 */
  readonly alarmScalerTargetFraction?: number;
  /** No scale-in this long after a scale-out (`AlarmScalerStabilizationSeconds`). @default 300 */
  readonly alarmScalerStabilizationSeconds?: number;
  /**
   * An alarm on one instance scales its group when the group's average is at least this
   * fraction of the target, 0 < f <= 1 (`AlarmScalerGroupBusyFraction`). @default 0.9
   */
  readonly alarmScalerGroupBusyFraction?: number;

  /**
   * Authentication log groups login-guard subscribes to (`LoginGuardAuthLogGroup`,
   * `LoginGuardAuthLogGroup2`; any number here). @default the existing group `/apptrack/auth`
   */
  readonly loginGuardAuthLogGroups?: logs.ILogGroup[];
  /** Subscription filter pattern, empty for every line (`LoginGuardFilterPattern`). @default '' */
  readonly loginGuardFilterPattern?: string;
  /** Audit mode: record what would be locked (`LoginGuardDryRun`). @default false */
  readonly loginGuardDryRun?: boolean;
  /** Failures within the find time that lock an account (`LoginGuardMaxFailures`). @default 5 */
  readonly loginGuardMaxFailures?: number;
  /** The sliding window in seconds (`LoginGuardFindTimeSeconds`). @default 600 */
  readonly loginGuardFindTimeSeconds?: number;
  /** First lock's length in seconds (`LoginGuardLockBaseSeconds`). @default 900 */
  readonly loginGuardLockBaseSeconds?: number;
  /** Longest lock in seconds (`LoginGuardLockCapSeconds`). @default 86400 */
  readonly loginGuardLockCapSeconds?: number;
  /** Accounts one source fails against that make credential stuffing (`LoginGuardStuffingAccounts`). @default 20 */
  readonly loginGuardStuffingAccounts?: number;
  /** Comma-separated CIDRs never counted, `none` for none (`LoginGuardAllowCidrs`). @default '127.0.0.0/8,::1/128' */
  readonly loginGuardAllowCidrs?: string;
  /** Regex with named groups account, ip, outcome (`LoginGuardAuthRegex`). @default '' */
  readonly loginGuardAuthRegex?: string;
  /** `unfamiliar`: a lock holds against unfamiliar sources only; `account`: every source (`LoginGuardLockScope`). @default 'unfamiliar' */
  readonly loginGuardLockScope?: 'unfamiliar' | 'account';
  /** Days a source stays familiar after a successful login (`LoginGuardFamiliarDays`). @default 30 */
  readonly loginGuardFamiliarDays?: number;

  /** Application log groups error-analyzer subscribes to (`ErrorAnalyzerLogGroups`; no limit of 5 here). @default none */
  readonly errorAnalyzerLogGroups?: logs.ILogGroup[];
  /** Subscription filter pattern, empty for every line (`ErrorAnalyzerFilterPattern`). @default '' */
  readonly errorAnalyzerFilterPattern?: string;
  /** Errors of a new pattern before a new-error incident (`ErrorAnalyzerNewErrorMinCount`). @default 2 */
  readonly errorAnalyzerNewErrorMinCount?: number;
  /** Times the baseline rate that make a spike (`ErrorAnalyzerSpikeFactor`). @default 5 */
  readonly errorAnalyzerSpikeFactor?: number;
  /** Fewest errors in a minute that can be a spike (`ErrorAnalyzerSpikeMinCount`). @default 10 */
  readonly errorAnalyzerSpikeMinCount?: number;
  /** Share of errors naming one dependency that makes it failing (`ErrorAnalyzerDependencyMinShare`). @default 0.5 */
  readonly errorAnalyzerDependencyMinShare?: number;
  /** Quiet time in seconds before the sweep resolves an incident (`ErrorAnalyzerQuietResolveSeconds`). @default 1800 */
  readonly errorAnalyzerQuietResolveSeconds?: number;

  /** Hours to a pessimistic exhaustion that open a capacity-forecast incident (`ForecastWarningHours`). @default 24 */
  readonly forecastWarningHours?: number;
  /** Hours that make it critical and scale a group out ahead (`ForecastCriticalHours`). @default 4 */
  readonly forecastCriticalHours?: number;
  /** capacity-forecast records the scale-out it would make, makes none (`ForecastDryRun`). @default false */
  readonly forecastDryRun?: boolean;

  /** Minutes after a deployment that it is judged, against as many before (`DeployGuardBakeMinutes`). @default 60 */
  readonly deployGuardBakeMinutes?: number;
  /** deploy-guard records the rollback it would make, makes none (`DeployGuardDryRun`). @default false */
  readonly deployGuardDryRun?: boolean;
  /** Only alarms named with this prefix are read for their `apptrack:service` tag (`DeployGuardAlarmPrefix`). @default every alarm */
  readonly deployGuardAlarmPrefix?: string;

  /** An existing topic for incident notifications (`NotifyTopicArn`). @default a topic of the stack's own (encrypted) */
  readonly notifyTopic?: sns.ITopic;
  /** A topic critical incidents go to instead, e.g. the on-call pager (`NotifyCriticalTopicArn`). @default the main topic */
  readonly notifyCriticalTopic?: sns.ITopic;
  /** At most one count update per incident per this many minutes (`NotifyGroupMinutes`). @default 5 */
  readonly notifyGroupMinutes?: number;
  /** A reminder per this many minutes while an incident is open and unacknowledged (`NotifyRepeatMinutes`). @default 240 */
  readonly notifyRepeatMinutes?: number;
  /** Incidents less urgent than this do not notify (`NotifyMinSeverity`). @default 'info' */
  readonly notifyMinSeverity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
}

export interface ApptrackProps extends ApptrackSettings {
  /**
   * Values for template parameters by their SAM name, for a parameter a newer template has
   * and these props do not yet; a typed prop wins over it.
   * @default none
   */
  readonly parameters?: Record<string, string>;
  /** The SAM template the construct is derived from. @default the repository's infra/template.yaml */
  readonly templatePath?: string;
  /** Extra cargo-lambda bundling options for every function (the architecture is the template's). @default none */
  readonly bundling?: Omit<BundlingOptions, 'architecture'>;
}

/**
 * Which template parameter(s) each setting stands for. The compiler makes it list every
 * setting; a test makes it cover every parameter of the template.
 */
export const PARAMETERS_OF: { readonly [K in keyof Required<ApptrackSettings>]: readonly string[] } = {
  alertTopic: ['AlertTopicArn'],
  incidentRetentionDays: ['IncidentRetentionDays'],
  alarmScalerDryRun: ['AlarmScalerDryRun'],
  alarmScalerTargetFraction: ['AlarmScalerTargetFraction'],
  alarmScalerStabilizationSeconds: ['AlarmScalerStabilizationSeconds'],
  alarmScalerGroupBusyFraction: ['AlarmScalerGroupBusyFraction'],
  loginGuardAuthLogGroups: ['LoginGuardAuthLogGroup', 'LoginGuardAuthLogGroup2'],
  loginGuardFilterPattern: ['LoginGuardFilterPattern'],
  loginGuardDryRun: ['LoginGuardDryRun'],
  loginGuardMaxFailures: ['LoginGuardMaxFailures'],
  loginGuardFindTimeSeconds: ['LoginGuardFindTimeSeconds'],
  loginGuardLockBaseSeconds: ['LoginGuardLockBaseSeconds'],
  loginGuardLockCapSeconds: ['LoginGuardLockCapSeconds'],
  loginGuardStuffingAccounts: ['LoginGuardStuffingAccounts'],
  loginGuardAllowCidrs: ['LoginGuardAllowCidrs'],
  loginGuardAuthRegex: ['LoginGuardAuthRegex'],
  loginGuardLockScope: ['LoginGuardLockScope'],
  loginGuardFamiliarDays: ['LoginGuardFamiliarDays'],
  errorAnalyzerLogGroups: ['ErrorAnalyzerLogGroups'],
  errorAnalyzerFilterPattern: ['ErrorAnalyzerFilterPattern'],
  errorAnalyzerNewErrorMinCount: ['ErrorAnalyzerNewErrorMinCount'],
  errorAnalyzerSpikeFactor: ['ErrorAnalyzerSpikeFactor'],
  errorAnalyzerSpikeMinCount: ['ErrorAnalyzerSpikeMinCount'],
  errorAnalyzerDependencyMinShare: ['ErrorAnalyzerDependencyMinShare'],
  errorAnalyzerQuietResolveSeconds: ['ErrorAnalyzerQuietResolveSeconds'],
  forecastWarningHours: ['ForecastWarningHours'],
  forecastCriticalHours: ['ForecastCriticalHours'],
  forecastDryRun: ['ForecastDryRun'],
  deployGuardBakeMinutes: ['DeployGuardBakeMinutes'],
  deployGuardDryRun: ['DeployGuardDryRun'],
  deployGuardAlarmPrefix: ['DeployGuardAlarmPrefix'],
  notifyTopic: ['NotifyTopicArn'],
  notifyCriticalTopic: ['NotifyCriticalTopicArn'],
  notifyGroupMinutes: ['NotifyGroupMinutes'],
  notifyRepeatMinutes: ['NotifyRepeatMinutes'],
  notifyMinSeverity: ['NotifyMinSeverity'],
};
