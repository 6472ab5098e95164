//! SNS adapter of the notifier's publisher: one Publish per message, its attributes as
//! String message attributes (for subscription filter policies). A FIFO topic (`.fifo`)
//! gets the incident as the message group and the notice id as the deduplication id, so SNS
//! itself drops a resend after a lost answer; a standard topic delivers at least once and a
//! subscriber dedupes on the `notification_id` attribute (the body's `id`).

use aws_sdk_sns::Client;
use aws_sdk_sns::operation::publish::builders::PublishFluentBuilder;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::sdk::notify_error;
use apptrack_core::notify::{Message, NotifyError, Publisher};

/// SNS topics. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: Client,
}

impl SnsPublisher {
    pub fn new(client: Client) -> Self {
        SnsPublisher { client }
    }
}

/// A FIFO deduplication id: at most 128 characters of `[A-Za-z0-9!-~]`; a notice id is made
/// of those already, and is cut only if it is longer.
fn dedup_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '-' })
        .take(128)
        .collect()
}

/// The Publish request for `message`.
pub fn publish_request(
    client: &Client,
    message: &Message,
) -> Result<PublishFluentBuilder, NotifyError> {
    let mut req = client
        .publish()
        .topic_arn(&message.topic)
        .subject(&message.subject)
        .message(&message.body);
    for (name, value) in &message.attributes {
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| NotifyError::Rejected(format!("attribute {name}: {e}")))?;
        req = req.message_attributes(*name, attr);
    }
    if message.topic.ends_with(".fifo") {
        req = req
            .message_group_id(dedup_id(&message.thread))
            .message_deduplication_id(dedup_id(&message.id));
    }
    Ok(req)
}

impl Publisher for SnsPublisher {
    async fn publish(&self, message: &Message) -> Result<String, NotifyError> {
        let out = publish_request(&self.client, message)?
            .send()
            .await
            .map_err(|e| notify_error(e, &message.topic))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let conf = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(conf)
    }

    fn message(topic: &str) -> Message {
        Message {
            topic: topic.into(),
            subject: "New [high] checkout".into(),
            body: "{}".into(),
            attributes: vec![("severity", "high".into()), ("kind", "new-error".into())],
            id: "01JD:opened".into(),
            thread: "01JD".into(),
        }
    }

    #[test]
    fn attributes_are_string_message_attributes() {
        let req = publish_request(&client(), &message("arn:aws:sns:us-east-1:1:t")).expect("req");
        let input = req.as_input();
        let attrs = input.get_message_attributes().as_ref().expect("attributes");
        assert_eq!(attrs["severity"].string_value(), Some("high"));
        assert_eq!(attrs["severity"].data_type(), "String");
        assert_eq!(
            input.get_message_deduplication_id(),
            &None,
            "standard topic"
        );
    }

    #[test]
    fn a_fifo_topic_dedupes_on_the_notice_id_and_groups_by_incident() {
        let req =
            publish_request(&client(), &message("arn:aws:sns:us-east-1:1:t.fifo")).expect("req");
        let input = req.as_input();
        assert_eq!(
            input.get_message_deduplication_id().as_deref(),
            Some("01JD:opened")
        );
        assert_eq!(input.get_message_group_id().as_deref(), Some("01JD"));
    }
}
