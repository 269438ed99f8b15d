//! The pipeline stage that turns every stored message's author into identities and keeps
//! computed traits up to date. It runs after the store stage (it needs each message's seq).

use std::sync::Arc;

use needle_core::{Direction, Message};
use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::micros;

use crate::engine::{Author, Sighting};
use crate::service::ProfileService;

pub struct ProfilesStage {
    service: Arc<ProfileService>,
}

impl ProfilesStage {
    pub fn new(service: Arc<ProfileService>) -> ProfilesStage {
        ProfilesStage { service }
    }
}

/// What profiles read of a message. `sentiment` is the classifier's score when known.
pub fn sighting_of(message: &Message, seq: Option<i64>, sentiment: Option<f32>) -> Sighting<'_> {
    let a = &message.author;
    Sighting {
        channel: &message.channel,
        message_id: &message.id,
        seq,
        at: micros(message.created_at),
        outbound: message.direction == Direction::Outbound,
        author: Author {
            id: a.id.as_deref(),
            handle: a.handle.as_deref(),
            email: a.email.as_deref(),
            phone: a.phone.as_deref(),
            name: a.name.as_deref(),
            country: a.country.as_deref(),
        },
        sentiment,
    }
}

impl Stage for ProfilesStage {
    fn name(&self) -> &'static str {
        "profiles"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let stored: Vec<Sighting<'_>> = batch
            .items
            .iter()
            .filter_map(|item| match item.outcome {
                // Sentiment joins here once classification stores it on the message.
                Outcome::Stored(seq) => Some(sighting_of(&item.message, Some(seq), None)),
                _ => None,
            })
            .collect();
        if stored.is_empty() {
            return Ok(());
        }
        // A failure leaves the messages stored (they are not failed); it is reported, and the
        // graph is rebuilt from the store on next use.
        let result = self.service.with(batch.workspace_id, |p| {
            for s in &stored {
                p.observe(s);
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, messages = stored.len(), "could not resolve message authors into profiles");
        }
        Ok(())
    }
}
