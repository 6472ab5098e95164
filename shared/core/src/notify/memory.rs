//! In-memory adapters of the notification ports, for unit tests of the notifier's logic.

use std::sync::Mutex;

use super::{Message, NotifyError, Publisher, Silence, SilenceBook};
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Keeps what was published; can fail or lose the answer of the next publish.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    sent: Mutex<Vec<Message>>,
    next: Mutex<Option<Fault>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The publish fails before anything is sent.
    Unavailable,
    /// The message is sent but the answer is lost: the caller sees a retryable error.
    AnswerLost,
}

impl MemoryPublisher {
    pub fn sent(&self) -> Vec<Message> {
        self.sent.lock().expect("publisher lock").clone()
    }

    pub fn fail_next(&self, fault: Fault) {
        *self.next.lock().expect("publisher lock") = Some(fault);
    }
}

impl Publisher for MemoryPublisher {
    async fn publish(&self, message: &Message) -> Result<String, NotifyError> {
        let fault = self.next.lock().expect("publisher lock").take();
        if fault == Some(Fault::Unavailable) {
            return Err(NotifyError::Unavailable("injected".into()));
        }
        let mut sent = self.sent.lock().expect("publisher lock");
        sent.push(message.clone());
        if fault == Some(Fault::AnswerLost) {
            return Err(NotifyError::Unavailable("answer lost (injected)".into()));
        }
        Ok(format!("msg-{}", sent.len()))
    }
}

#[derive(Debug, Default)]
pub struct MemorySilences {
    silences: Mutex<Vec<Silence>>,
}

impl SilenceBook for MemorySilences {
    async fn list(&self) -> Result<Vec<Silence>, StoreError> {
        Ok(self.silences.lock().expect("silences lock").clone())
    }

    async fn add(&self, silence: &Silence) -> Result<(), StoreError> {
        self.silences
            .lock()
            .expect("silences lock")
            .push(silence.clone());
        Ok(())
    }

    async fn expire(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut silences = self.silences.lock().expect("silences lock");
        let Some(s) = silences.iter_mut().find(|s| s.id == id) else {
            return Err(StoreError::Rejected(format!("no silence {id}")));
        };
        if s.ends_at <= now {
            return Ok(false);
        }
        s.ends_at = now;
        Ok(true)
    }
}
