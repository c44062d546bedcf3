//! Reading a JetStream stream in order, for ever, in batches: what the ledger log's consumer and
//! the task records' consumer share. An ordered consumer delivers one message at a time; a batch
//! is one message and whatever else has already arrived. A consumer lost with its NATS server
//! goes quiet while the stream grows: after a quiet [`WATCHDOG`] the stream is asked how far it
//! is, and a consumer behind it ends, for the caller to open another from where it stopped.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt};

/// Quiet time after which the consumer is checked against the stream.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(2);

/// One ordered consumer of a stream.
pub(crate) struct Reader {
    stream: stream::Stream,
    messages: std::pin::Pin<Box<consumer::pull::Ordered>>,
}

impl Reader {
    /// An ordered consumer of `stream` delivering per `deliver_policy` (of the subjects matching
    /// `filter`, or all).
    pub(crate) async fn open(
        stream: stream::Stream,
        deliver_policy: consumer::DeliverPolicy,
        filter: &str,
    ) -> Result<Self, String> {
        let messages = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy,
                filter_subject: filter.into(),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            stream,
            messages: Box::pin(messages),
        })
    }

    /// The next batch, at most `max` messages (an error ends it); `None` when the consumer ended
    /// or went quiet while the stream grew past `position`, the last sequence the caller took.
    pub(crate) async fn next_batch(
        &mut self,
        max: usize,
        position: u64,
    ) -> Option<Vec<Result<jetstream::Message, String>>> {
        let first = loop {
            match tokio::time::timeout(WATCHDOG, self.messages.next()).await {
                Ok(Some(first)) => break first,
                Ok(None) => return None,
                Err(_) => match self.stream.get_info().await {
                    Ok(info) if info.state.last_sequence > position => return None,
                    Ok(_) => continue,
                    Err(_) => return None,
                },
            }
        };
        let mut batch = vec![first.map_err(|e| e.to_string())];
        while batch.len() < max && batch.last().is_some_and(Result::is_ok) {
            match self.messages.next().now_or_never() {
                Some(Some(m)) => batch.push(m.map_err(|e| e.to_string())),
                _ => break,
            }
        }
        Some(batch)
    }
}

/// Where a reader starts: everything (or the latest message of each subject, with
/// `latest_per_subject`) when nothing was read yet, else just after `position`.
pub(crate) fn start_after(position: u64, latest_per_subject: bool) -> consumer::DeliverPolicy {
    match (position, latest_per_subject) {
        (0, true) => consumer::DeliverPolicy::LastPerSubject,
        (0, false) => consumer::DeliverPolicy::All,
        (p, _) => consumer::DeliverPolicy::ByStartSequence {
            start_sequence: p + 1,
        },
    }
}
