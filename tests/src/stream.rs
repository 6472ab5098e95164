//! The incident table's stream, read as Lambda's event source mapping reads it: the Streams
//! API of DynamoDB Local (DescribeTable for the stream, DescribeStream for its shards,
//! GetShardIterator from the horizon, GetRecords), each record turned into the event
//! Lambda hands the function (`Records[].dynamodb` with the images in DynamoDB JSON).
//! The mapping's filter (only `sk = INCIDENT`) is applied here as the template writes it.
//!
//! And the subscriber's side: an SNS topic in ministack with SQS queues subscribed to it
//! (optionally with a filter policy), read back as a subscriber receives the messages.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{Value, json};

use apptrack_core::clock::Timestamp;
use apptrack_core::incident::Incident;

use crate::{TestTables, dynamodb, ministack, sdk_config};

/// A reader of one table's stream, from its beginning; every [`StreamReader::next_batch`]
/// returns what was written since the last.
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// The next iterator of each shard seen so far.
    iterators: HashMap<String, Option<String>>,
}

/// A record of the incident table's stream as Lambda hands it over, for unit tests of the
/// stream's consumers: `new` (and `old`, for a MODIFY) as items in DynamoDB JSON.
pub fn incident_record(seq: u32, old: Option<&Incident>, new: &Incident, at: Timestamp) -> Value {
    let image = |inc: &Incident| {
        let mut item: serde_dynamo::Item =
            serde_dynamo::to_item(inc).expect("an incident is an item");
        item.insert(
            "pk".into(),
            serde_dynamo::AttributeValue::S(format!("INCIDENT#{}", inc.id)),
        );
        item.insert(
            "sk".into(),
            serde_dynamo::AttributeValue::S("INCIDENT".into()),
        );
        serde_json::to_value(item).expect("an item is JSON")
    };
    let mut change = json!({
        "ApproximateCreationDateTime": at.as_secs(),
        "Keys": {"pk": {"S": format!("INCIDENT#{}", new.id)}, "sk": {"S": "INCIDENT"}},
        "NewImage": image(new),
        "SequenceNumber": format!("{seq:021}"),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        change["OldImage"] = image(old);
    }
    json!({
        "eventID": format!("e{seq}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/i/stream/2026",
    })
}

/// An image in DynamoDB JSON (`{"S": ...}`), as Lambda's event carries it.
fn image(m: &HashMap<String, AttributeValue>) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(m.clone())).unwrap_or(Value::Null)
}

impl StreamReader {
    /// A reader of the stream of `tables.incidents` (the template's stream specification
    /// gives the table one).
    pub async fn incidents(tables: &TestTables) -> Result<Self> {
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config(&dynamodb().endpoint));
        Self::of_table(&tables.client, streams, &tables.incidents).await
    }

    /// A reader of `table`'s stream through these clients (the local stack's, for the demo).
    pub async fn of_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<Self> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .context("DescribeTable")?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .with_context(|| format!("table {table} has no stream (StreamSpecification)"))?
            .to_owned();
        Ok(StreamReader {
            client: streams,
            stream_arn,
            iterators: HashMap::new(),
        })
    }

    async fn shards(&mut self) -> Result<()> {
        let out = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .context("DescribeStream")?;
        let shards: Vec<String> = out
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for shard in shards {
            if self.iterators.contains_key(&shard) {
                continue;
            }
            let it = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .context("GetShardIterator")?;
            self.iterators
                .insert(shard, it.shard_iterator().map(str::to_owned));
        }
        Ok(())
    }

    /// The records written since the last call, in shard order, as Lambda's event records;
    /// only incident items (the event source mapping's filter).
    pub async fn next_batch(&mut self) -> Result<Vec<Value>> {
        self.shards().await?;
        let mut records = Vec::new();
        let arn = self.stream_arn.clone();
        for next in self.iterators.values_mut() {
            let Some(it) = next.clone() else { continue };
            let out = self
                .client
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .context("GetRecords")?;
            *next = out.next_shard_iterator().map(str::to_owned);
            for r in out.records() {
                let Some(d) = r.dynamodb() else { continue };
                let keys = d.keys().map(image).unwrap_or(Value::Null);
                if keys["sk"]["S"] != "INCIDENT" {
                    continue;
                }
                let mut change = json!({
                    "ApproximateCreationDateTime": d.approximate_creation_date_time().map_or(0.0, |t| t.as_secs_f64()),
                    "Keys": keys,
                    "SequenceNumber": d.sequence_number(),
                    "SizeBytes": d.size_bytes().unwrap_or(0),
                    "StreamViewType": d.stream_view_type().map(|v| v.as_str()),
                });
                if let Some(new) = d.new_image() {
                    change["NewImage"] = image(new);
                }
                if let Some(old) = d.old_image() {
                    change["OldImage"] = image(old);
                }
                records.push(json!({
                    "eventID": r.event_id(),
                    "eventName": r.event_name().map(|n| n.as_str()),
                    "eventVersion": r.event_version(),
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": change,
                    "eventSourceARN": arn,
                }));
            }
        }
        Ok(records)
    }
}

/// An SNS topic with SQS subscribers, in ministack.
pub struct Topic {
    pub arn: String,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

/// One SQS queue subscribed to a [`Topic`].
pub struct Subscriber {
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Topic {
    pub async fn new(name: &str) -> Result<Self> {
        let conf = sdk_config(&ministack().endpoint);
        let sns = aws_sdk_sns::Client::new(&conf);
        let sqs = aws_sdk_sqs::Client::new(&conf);
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let out = sns
            .create_topic()
            .name(format!("{name}-{tag}"))
            .send()
            .await
            .context("CreateTopic")?;
        Ok(Topic {
            arn: out.topic_arn().context("no topic ARN")?.to_owned(),
            sns,
            sqs,
        })
    }

    /// A new queue subscribed to the topic; with `filter`, an SNS filter policy on the
    /// message attributes.
    pub async fn subscribe(&self, filter: Option<Value>) -> Result<Subscriber> {
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let queue = self
            .sqs
            .create_queue()
            .queue_name(format!("sub-{tag}"))
            .send()
            .await
            .context("CreateQueue")?;
        let queue_url = queue.queue_url().context("no queue URL")?.to_owned();
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .context("GetQueueAttributes")?;
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .context("no queue ARN")?
            .clone();
        let mut sub = self
            .sns
            .subscribe()
            .topic_arn(&self.arn)
            .protocol("sqs")
            .endpoint(queue_arn);
        if let Some(policy) = filter {
            sub = sub.attributes("FilterPolicy", policy.to_string());
        }
        sub.send().await.context("Subscribe")?;
        Ok(Subscriber {
            queue_url,
            sqs: self.sqs.clone(),
        })
    }
}

/// A message as an SQS subscriber of an SNS topic receives it (the SNS envelope).
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    /// The published message (the custom notification JSON).
    pub body: Value,
    /// The message attributes, as strings.
    pub attributes: HashMap<String, String>,
}

impl Received {
    pub fn attr(&self, name: &str) -> &str {
        self.attributes.get(name).map_or("", String::as_str)
    }
}

impl Subscriber {
    /// Every message waiting now (reads until the queue answers empty), deleted once read.
    pub async fn drain(&self) -> Result<Vec<Received>> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .context("ReceiveMessage")?;
            let messages = out.messages();
            if messages.is_empty() {
                return Ok(all);
            }
            for m in messages {
                let envelope: Value = serde_json::from_str(m.body().unwrap_or("{}"))
                    .context("the SNS envelope is not JSON")?;
                let body: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or("null"))
                        .context("the message is not JSON")?;
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                all.push(Received {
                    subject: envelope["Subject"].as_str().unwrap_or("").to_owned(),
                    body,
                    attributes,
                });
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .context("DeleteMessage")?;
                }
            }
        }
    }
}
