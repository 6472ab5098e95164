//! deploy-guard's bake-window check against ministack (CloudWatch metrics) and DynamoDB
//! Local: the mission's scenario (service checkout, alias live moved 41 -> 42, p99 latency
//! 25 % higher after) opens one deploy-regression incident with verdict likely; the same
//! deployment with unchanged latency opens nothing; the schedule run again changes nothing.

use apptrack_aws::cloudwatch::{CloudWatchAlarms, CloudWatchHistory};
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::ledger::DynamoActionLedger;
use apptrack_aws::lambda::LambdaAliases;
use apptrack_core::clock::{Clock, ManualClock, SystemClock, Timestamp};
use apptrack_core::deploy::{DeploySource, DeployState, Deployment, DeploymentLog};
use apptrack_core::incident::IncidentKind;
use apptrack_core::store::ReadIncidents;
use apptrack_tests::{TestTables, cloudwatch_client, lambda_client};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use deploy_guard::handler::{Guard, Settings};
use deploy_guard::rollback::ROLLBACK_NAMESPACE;
use serde_json::json;

type LiveGuard = Guard<
    DynamoDeploymentLog,
    CloudWatchHistory,
    CloudWatchAlarms,
    apptrack_aws::dynamodb::incidents::DynamoIncidentStore,
    LambdaAliases,
    apptrack_core::deploy::memory::FakeCodeDeploy,
    DynamoActionLedger,
    ManualClock,
>;

struct World {
    tables: TestTables,
    cw: aws_sdk_cloudwatch::Client,
    guard: LiveGuard,
    /// The deployment's start, on a whole minute 15 minutes ago.
    start: Timestamp,
}

impl World {
    async fn new() -> World {
        World::with_lambda(lambda_client()).await
    }

    /// A world whose deploy-guard reaches Lambda through `lambda` (a proxy, in the fault test).
    async fn with_lambda(lambda: aws_sdk_lambda::Client) -> World {
        let tables = TestTables::new().await.expect("tables");
        let cw = cloudwatch_client();
        let now = SystemClock.now();
        let start = Timestamp::from_secs((now.as_secs() / 60 - 15) * 60);
        let settings = Settings::from_lookup(|k| match k {
            "INCIDENTS_TABLE" => Some(tables.incidents.clone()),
            "STATE_TABLE" => Some(tables.state.clone()),
            _ => None,
        })
        .expect("settings");
        let guard = Guard {
            log: DynamoDeploymentLog::new(tables.client.clone(), &tables.state),
            metrics: CloudWatchHistory::new(cw.clone()),
            alarms: CloudWatchAlarms::new(cw.clone()),
            incidents: tables.store(),
            aliases: LambdaAliases::new(lambda),
            // ministack has no CodeDeploy: the port's fake.
            codedeploy: Default::default(),
            ledger: DynamoActionLedger::new(
                tables.client.clone(),
                &tables.state,
                ROLLBACK_NAMESPACE,
            ),
            clock: ManualClock::new(now),
            settings,
        };
        World {
            tables,
            cw,
            guard,
            start,
        }
    }

    /// One p99 datapoint a minute for `function:live`: `before` ms (±4 %, deterministic
    /// noise) for the hour before the start, `after` ms since.
    async fn latency(&self, function: &str, before: f64, after: f64) {
        self.put(function, "Duration", StandardUnit::Milliseconds, |minute| {
            let base = if minute < 0 { before } else { after };
            base * (1.0 + 0.04 * (((minute * 37).rem_euclid(11)) as f64 / 5.0 - 1.0))
        })
        .await;
    }

    /// 100 invocations a minute, `before` errors a minute before the start, `after` since.
    async fn errors(&self, function: &str, before: f64, after: f64) {
        self.put(function, "Invocations", StandardUnit::Count, |_| 100.0)
            .await;
        self.put(function, "Errors", StandardUnit::Count, |minute| {
            if minute < 0 { before } else { after }
        })
        .await;
    }

    /// One datapoint a minute of `name` for `function:live`, from an hour before the start
    /// to 15 minutes after it.
    async fn put(
        &self,
        function: &str,
        name: &str,
        unit: StandardUnit,
        value: impl Fn(i64) -> f64,
    ) {
        self.put_for(function, None, name, unit, value).await;
    }

    /// [`World::put`] for one version's invocations (`ExecutedVersion`), or the alias's.
    async fn put_for(
        &self,
        function: &str,
        version: Option<&str>,
        name: &str,
        unit: StandardUnit,
        value: impl Fn(i64) -> f64,
    ) {
        let mut data = Vec::new();
        for minute in -60i64..15 {
            let at = self.start.as_millis() + minute * 60_000 + 30_000;
            let mut datum = MetricDatum::builder()
                .metric_name(name)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(function)
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("Resource")
                        .value(format!("{function}:live"))
                        .build(),
                );
            if let Some(v) = version {
                datum = datum.dimensions(
                    Dimension::builder()
                        .name("ExecutedVersion")
                        .value(v)
                        .build(),
                );
            }
            data.push(
                datum
                    .timestamp(DateTime::from_millis(at))
                    .unit(unit.clone())
                    .value(value(minute))
                    .build(),
            );
        }
        for chunk in data.chunks(20) {
            self.cw
                .put_metric_data()
                .namespace("AWS/Lambda")
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .expect("PutMetricData");
        }
    }

    async fn deployed(&self, function: &str) -> Deployment {
        self.deployed_from(function, "41", "42").await
    }

    async fn deployed_from(&self, function: &str, from: &str, to: &str) -> Deployment {
        let d = Deployment {
            id: format!("lambda:{function}:live:rev-{to}"),
            service: function.to_owned(),
            target: format!("{function}:live"),
            from_version: Some(from.into()),
            to_version: Some(to.into()),
            started_at: self.start,
            ended_at: Some(self.start),
            state: DeployState::Succeeded,
            actor: Some("ci@example.com".into()),
            source: DeploySource::Lambda,
        };
        self.guard.log.record(&d).await.expect("marker").0
    }

    async fn watch(&self) -> deploy_guard::handler::Outcome {
        self.guard
            .handle(&json!({"apptrack": "deploy-watch"}))
            .await
            .expect("watched")
    }
}

fn tag() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p99_25_percent_higher_after_an_alias_moved_is_a_likely_regression_once() {
    let w = World::new().await;
    let function = format!("checkout-{}", tag());
    w.latency(&function, 200.0, 250.0).await;
    w.deployed(&function).await;

    let out = w.watch().await;
    assert_eq!(out.watched.len(), 1, "{out:?}");
    let judged = &out.watched[0];
    assert_eq!(
        judged.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{judged:?}"
    );
    let id = judged.incident_id.clone().expect("an incident");
    let inc = w
        .guard
        .incidents
        .get(&id, Timestamp::EPOCH)
        .await
        .expect("incident");
    assert_eq!(inc.kind, IncidentKind::DeployRegression);
    assert_eq!(inc.resource, format!("{function}:live"));
    assert!(
        inc.title.as_str().contains("41 -> 42"),
        "{}",
        inc.title.as_str()
    );
    assert!(
        inc.summary.contains(&format!(
            "aws lambda update-alias --function-name {function} --name live --function-version 41"
        )),
        "{}",
        inc.summary
    );

    // The schedule's next run: the same incident, counted once.
    let again = w.watch().await;
    assert_eq!(again.watched[0].incident_id.as_ref(), Some(&id));
    let inc = w
        .guard
        .incidents
        .get(&id, Timestamp::EPOCH)
        .await
        .expect("incident");
    assert_eq!(inc.count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_deployment_with_unchanged_latency_opens_nothing() {
    let w = World::new().await;
    let function = format!("checkout-{}", tag());
    w.latency(&function, 200.0, 203.0).await;
    w.deployed(&function).await;
    let out = w.watch().await;
    assert_eq!(out.watched.len(), 1, "{out:?}");
    assert_eq!(
        out.watched[0].verdict,
        apptrack_core::deploy::stats::Verdict::Unlikely,
        "{out:?}"
    );
    assert!(out.watched[0].incident_id.is_none());
    assert!(w.tables.incidents().await.expect("scan").is_empty());
}

/// A function in ministack with two published versions and `live` moved from the first to
/// the second (the deployment), tagged to let apptrack roll it back.
async fn function_with_a_moved_alias(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> (String, String) {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    // An empty zip archive: ministack stores the code, it never runs it here.
    let zip = Blob::new(vec![
        0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role("arn:aws:iam::123456789012:role/checkout")
        .handler("bootstrap")
        .code(FunctionCode::builder().zip_file(zip).build())
        .tags("apptrack:rollback", "auto")
        .send()
        .await
        .expect("CreateFunction");
    let mut versions = Vec::new();
    for i in 0..2 {
        lambda
            .update_function_configuration()
            .function_name(name)
            .description(format!("build {i}"))
            .send()
            .await
            .expect("UpdateFunctionConfiguration");
        let v = lambda
            .publish_version()
            .function_name(name)
            .description(format!("build {i}"))
            .send()
            .await
            .expect("PublishVersion");
        versions.push(v.version().expect("a version").to_owned());
    }
    lambda
        .create_alias()
        .function_name(name)
        .name("live")
        .function_version(&versions[0])
        .send()
        .await
        .expect("CreateAlias");
    lambda
        .update_alias()
        .function_name(name)
        .name("live")
        .function_version(&versions[1])
        .send()
        .await
        .expect("UpdateAlias");
    (versions[0].clone(), versions[1].clone())
}

async fn alias_version(lambda: &aws_sdk_lambda::Client, name: &str) -> String {
    lambda
        .get_alias()
        .function_name(name)
        .name("live")
        .send()
        .await
        .expect("GetAlias")
        .function_version()
        .expect("a version")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_regressed_alias_of_an_opted_in_function_is_moved_back_once() {
    let w = std::sync::Arc::new(World::new().await);
    let lambda = lambda_client();
    let function = format!("checkout-{}", tag());
    let (old, new) = function_with_a_moved_alias(&lambda, &function).await;
    w.latency(&function, 200.0, 250.0).await;
    w.deployed_from(&function, &old, &new).await;

    // The schedule's runs overlap (a slow one, the next one): one rollback.
    let mut runs = Vec::new();
    for _ in 0..4 {
        let w = w.clone();
        runs.push(tokio::spawn(async move { w.watch().await }));
    }
    for r in runs {
        r.await.expect("task");
    }
    assert_eq!(
        alias_version(&lambda, &function).await,
        old,
        "live is back on the old version"
    );
    let out = w.watch().await;
    assert_eq!(
        out.watched[0].action.as_deref(),
        Some(format!("rolled {function}:live back from {new} to {old}").as_str()),
        "{out:?}"
    );
    let id = out.watched[0].incident_id.clone().expect("incident");
    let tl = w
        .guard
        .incidents
        .timeline(&id, Timestamp::EPOCH)
        .await
        .expect("timeline");
    assert_eq!(
        tl.iter().filter(|e| e.action == "rolled-back").count(),
        1,
        "{tl:#?}"
    );
    // The rollback is a marker of its own in DynamoDB: the guard rails' memory.
    let markers = w
        .guard
        .log
        .list(None, Timestamp::EPOCH)
        .await
        .expect("markers");
    let own: Vec<_> = markers
        .iter()
        .filter(|m| m.source == apptrack_core::deploy::DeploySource::Apptrack)
        .collect();
    assert_eq!(own.len(), 1, "{markers:#?}");
    assert_eq!(own[0].from_version.as_deref(), Some(new.as_str()));
    assert_eq!(own[0].to_version.as_deref(), Some(old.as_str()));
}

/// Latency unchanged, errors from 1 % to 8 % of invocations, read from ministack's
/// GetMetricData: a likely regression of the error rate, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_rate_that_rose_after_an_alias_moved_is_a_likely_regression() {
    let w = World::new().await;
    let function = format!("checkout-{}", tag());
    w.latency(&function, 200.0, 201.0).await;
    w.errors(&function, 1.0, 8.0).await;
    w.deployed(&function).await;
    let out = w.watch().await;
    let judged = &out.watched[0];
    assert_eq!(
        judged.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{judged:?}"
    );
    assert!(judged.why.contains("error rate 8.00 %"), "{}", judged.why);
    let id = judged.incident_id.clone().expect("incident");
    let again = w.watch().await;
    assert_eq!(again.watched[0].incident_id, Some(id), "one incident");
}

/// The rollback with Lambda's answers lost from each request of a clean run on (the SDK
/// resends; UpdateAlias applied but unanswered): the invocation fails retryably, and once
/// Lambda answers again the retry leaves the alias on the old version with one `rolled-back`
/// note, and sends no second UpdateAlias that DynamoDB's ledger does not allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_from_lambda_at_any_point_never_rolls_back_twice() {
    use apptrack_tests::proxy::{Fault, Proxy};
    let through = |proxy: &Proxy| {
        let conf =
            aws_sdk_lambda::config::Builder::from(&apptrack_tests::sdk_config(proxy.endpoint()))
                .build();
        aws_sdk_lambda::Client::from_conf(conf)
    };
    let setup = || async {
        let proxy = Proxy::start(&apptrack_tests::ministack().endpoint)
            .await
            .expect("proxy");
        let w = World::with_lambda(through(&proxy)).await;
        let function = format!("checkout-{}", tag());
        let (old, new) = function_with_a_moved_alias(&lambda_client(), &function).await;
        w.latency(&function, 200.0, 250.0).await;
        w.deployed_from(&function, &old, &new).await;
        (proxy, w, function, old)
    };
    let (clean_proxy, clean, function, old) = setup().await;
    clean.watch().await;
    assert_eq!(alias_version(&lambda_client(), &function).await, old);
    let operations = clean_proxy.operations();
    assert!(
        operations.iter().any(|o| o == "UpdateAlias"),
        "{operations:?}"
    );
    for (k, operation) in operations.iter().enumerate() {
        let (proxy, w, function, old) = setup().await;
        let context = format!("answers lost from request {k} ({operation})");
        proxy.inject(Fault::from_request(k).losing_answers());
        let err = w
            .guard
            .handle(&json!({"apptrack": "deploy-watch"}))
            .await
            .expect_err(&context);
        assert!(
            apptrack_core::failure::Failure::is_retryable(&err),
            "{context}: {err}"
        );
        proxy.heal();
        let before_retry = proxy.operations().len();
        let out = w.watch().await;
        let again = w.watch().await;
        assert_eq!(
            alias_version(&lambda_client(), &function).await,
            old,
            "{context}"
        );
        assert_eq!(out.watched[0].action, again.watched[0].action, "{context}");
        let moved_again = proxy.operations()[before_retry..]
            .iter()
            .filter(|o| *o == "UpdateAlias")
            .count();
        let applied_before = proxy.operations()[..before_retry]
            .iter()
            .any(|o| o == "UpdateAlias");
        assert!(
            !(applied_before && moved_again > 0),
            "{context}: UpdateAlias sent again after an applied one"
        );
        let id = out.watched[0].incident_id.clone().expect("incident");
        let tl = w
            .guard
            .incidents
            .timeline(&id, Timestamp::EPOCH)
            .await
            .expect("timeline");
        assert_eq!(
            tl.iter().filter(|e| e.action == "rolled-back").count(),
            1,
            "{context}: {tl:#?}"
        );
    }
}

/// A canary in ministack: `live` sends a tenth of its invocations to the new version, whose
/// p99 is 25 % above the old one's in the same minutes. Judged version against version
/// (ExecutedVersion), rolled back whole: `live` on the old version, its weights gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regressed_canary_is_judged_against_its_old_version_and_rolled_back_whole() {
    use aws_sdk_lambda::types::AliasRoutingConfiguration;
    let w = World::new().await;
    let lambda = lambda_client();
    let function = format!("checkout-{}", tag());
    let (old, new) = function_with_a_moved_alias(&lambda, &function).await;
    lambda
        .update_alias()
        .function_name(&function)
        .name("live")
        .function_version(&old)
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights(&new, 0.1)
                .build(),
        )
        .send()
        .await
        .expect("UpdateAlias with a canary");
    let noisy = |base: f64| {
        move |minute: i64| base * (1.0 + 0.04 * (((minute * 37).rem_euclid(11)) as f64 / 5.0 - 1.0))
    };
    w.put_for(
        &function,
        Some(&old),
        "Duration",
        StandardUnit::Milliseconds,
        noisy(200.0),
    )
    .await;
    w.put_for(
        &function,
        Some(&new),
        "Duration",
        StandardUnit::Milliseconds,
        noisy(250.0),
    )
    .await;
    w.deployed_from(&function, &old, &new).await;

    let out = w.watch().await;
    let judged = &out.watched[0];
    assert_eq!(
        judged.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{judged:?}"
    );
    assert!(
        judged
            .why
            .starts_with(&format!("canary: version {new} against {old}")),
        "{judged:?}"
    );
    let alias = lambda
        .get_alias()
        .function_name(&function)
        .name("live")
        .send()
        .await
        .expect("GetAlias");
    assert_eq!(alias.function_version(), Some(old.as_str()));
    assert!(
        alias
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .is_none_or(|w| w.is_empty()),
        "{alias:?}"
    );
}

/// An ECS deployment of `service` at the world's start, and a p99 alarm its owners keep on
/// the service's load balancer, tagged `apptrack:service`, whose metric was `before` seconds
/// (±4 %) in the hour before and `after` since.
async fn ecs_service_with_alarm(
    w: &mut World,
    service: &str,
    before: f64,
    after: f64,
) -> Deployment {
    let balancer = format!("app/{service}/1");
    let mut points = Vec::new();
    for minute in -60i64..15 {
        let base = if minute < 0 { before } else { after };
        let wobble = 1.0 + 0.04 * (((minute * 37).rem_euclid(11)) as f64 / 5.0 - 1.0);
        points.push((
            w.start.as_millis() + minute * 60_000 + 30_000,
            base * wobble,
        ));
    }
    apptrack_tests::forecast::put_history(
        &w.cw,
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("LoadBalancer", &balancer),
        &points,
    )
    .await
    .expect("history");
    w.cw.put_metric_alarm()
        .alarm_name(format!("{service}-p99"))
        .namespace("AWS/ApplicationELB")
        .metric_name("TargetResponseTime")
        .dimensions(
            Dimension::builder()
                .name("LoadBalancer")
                .value(&balancer)
                .build(),
        )
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .tags(
            aws_sdk_cloudwatch::types::Tag::builder()
                .key("apptrack:service")
                .value(service)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricAlarm");
    // Only this test's alarms (ministack holds every test's).
    w.guard.settings.alarm_prefix = service.to_owned();
    let d = Deployment {
        id: format!("ecs-svc/{}", tag()),
        service: service.to_owned(),
        target: format!("prod/{service}"),
        from_version: None,
        to_version: None,
        started_at: w.start,
        ended_at: Some(w.start),
        state: DeployState::Succeeded,
        actor: None,
        source: DeploySource::Ecs,
    };
    w.guard.log.record(&d).await.expect("marker").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecs_deployment_is_judged_on_the_alarm_tagged_with_its_service() {
    let mut w = World::new().await;
    let service = format!("shop-{}", tag());
    let d = ecs_service_with_alarm(&mut w, &service, 0.20, 0.26).await;

    let out = w.watch().await;
    assert_eq!(out.watched.len(), 1, "{out:?}");
    let judged = &out.watched[0];
    assert_eq!(judged.deployment, d.id);
    assert_eq!(
        judged.verdict,
        apptrack_core::deploy::stats::Verdict::Likely,
        "{judged:?}"
    );
    assert_eq!(
        judged.judged_on.as_deref(),
        Some(
            format!("Average TargetResponseTime of app/{service}/1 (alarm {service}-p99)").as_str()
        )
    );
    let id = judged.incident_id.clone().expect("an incident");
    let inc = w
        .guard
        .incidents
        .get(&id, Timestamp::EPOCH)
        .await
        .expect("incident");
    assert_eq!(inc.kind, IncidentKind::DeployRegression);
    assert!(
        inc.title.as_str().contains("TargetResponseTime")
            && inc.title.as_str().contains(&format!("alarm {service}-p99")),
        "{}",
        inc.title.as_str()
    );
    // ECS is advised, never acted on.
    assert!(
        inc.summary.contains("aws ecs update-service"),
        "{}",
        inc.summary
    );

    // The next run: the same incident, counted once.
    let again = w.watch().await;
    assert_eq!(again.watched[0].incident_id.as_ref(), Some(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_that_opens_after_a_deployment_gets_the_verdict_once() {
    use apptrack_core::incident::{DedupKey, Occurrence, Severity, Title};
    use apptrack_core::store::RecordIncidents;

    let mut w = World::new().await;
    let service = format!("shop-{}", tag());
    let d = ecs_service_with_alarm(&mut w, &service, 0.20, 0.202).await;
    let mut stream = apptrack_tests::stream::StreamReader::incidents(&w.tables)
        .await
        .expect("stream");
    // An error burst of the service, 10 minutes after the deployment.
    let occ = Occurrence::new(
        DedupKey::new("error-analyzer", IncidentKind::NewError, &service, "fp-1").expect("key"),
        IncidentKind::NewError,
        Severity::High,
        "error-analyzer",
        &service,
        &format!("/ecs/{service}"),
        Title::new("New error: card <*> declined").expect("title"),
        Timestamp::from_secs(w.start.as_secs() + 600),
    );
    let raised = w.guard.incidents.raise(&occ).await.expect("raise");

    let records = stream.next_batch().await.expect("records");
    assert!(!records.is_empty());
    let batch = json!({ "Records": records });
    let out = w.guard.handle(&batch).await.expect("judged");
    assert_eq!(out.watched.len(), 1, "{out:?}");
    assert_eq!(out.watched[0].deployment, d.id);
    assert_eq!(
        out.watched[0].verdict,
        apptrack_core::deploy::stats::Verdict::Unlikely,
        "{out:?}"
    );
    assert!(out.watched[0].incident_id.is_none());

    let notes = |timeline: Vec<apptrack_core::incident::TimelineEntry>| {
        timeline
            .into_iter()
            .filter(|e| e.action == "deploy-verdict")
            .collect::<Vec<_>>()
    };
    let timeline = w
        .guard
        .incidents
        .timeline(&raised.id, Timestamp::EPOCH)
        .await
        .expect("timeline");
    let verdicts = notes(timeline);
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert!(
        verdicts[0].detail.contains(&d.id) && verdicts[0].detail.contains("unlikely"),
        "{}",
        verdicts[0].detail
    );

    // The same batch again (Lambda retries a batch): nothing new.
    w.guard.handle(&batch).await.expect("judged again");
    let timeline = w
        .guard
        .incidents
        .timeline(&raised.id, Timestamp::EPOCH)
        .await
        .expect("timeline");
    assert_eq!(notes(timeline).len(), 1);
    // Only the incident of the error burst: no deploy-regression.
    assert_eq!(w.tables.incidents().await.expect("scan").len(), 1);
}
