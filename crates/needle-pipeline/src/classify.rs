//! The classification stage: the fast tier on every message before it is stored, so the
//! classification is written in the same transaction as the message.

use needle_classify::Classifier;
use needle_core::classification::UNDETERMINED;

use crate::{Batch, Stage, StageError};

/// Classifies pending messages (language, sentiment, intents, entities). A message that
/// came without a language gets the detected one, so `lang:` filters find it; a language
/// the source gave is kept.
pub struct ClassifyStage {
    classifier: Classifier,
}

impl ClassifyStage {
    pub fn new(classifier: Classifier) -> Self {
        ClassifyStage { classifier }
    }
}

impl Default for ClassifyStage {
    fn default() -> Self {
        ClassifyStage::new(Classifier::default())
    }
}

impl Stage for ClassifyStage {
    fn name(&self) -> &'static str {
        "classify"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        for item in batch.pending_mut() {
            let classification = self.classifier.classify(&item.message.text);
            if item.message.lang.is_none() && classification.lang != UNDETERMINED {
                item.message.lang = Some(classification.lang.clone());
            }
            item.classification = Some(classification);
        }
        Ok(())
    }
}
