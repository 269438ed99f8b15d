//! The pipeline stage that files every stored message into its conversation's case.

use std::sync::Arc;

use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::Backend;

use crate::rules::{self, Policy};

pub struct CasesStage {
    store: Arc<dyn Backend>,
    policy: Policy,
}

impl CasesStage {
    pub fn new(store: Arc<dyn Backend>, policy: Policy) -> CasesStage {
        CasesStage { store, policy }
    }
}

impl Stage for CasesStage {
    fn name(&self) -> &'static str {
        "cases"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let workspace_id = batch.workspace_id;
        for item in &batch.items {
            // Only newly stored messages: a duplicate was filed the first time.
            if !matches!(item.outcome, Outcome::Stored(_)) {
                continue;
            }
            let (subject, customer) = (
                rules::subject_of(&item.message),
                rules::customer_of(&item.message),
            );
            let Some(touch) = rules::touch(
                &self.policy,
                &item.message,
                item.classification.as_ref(),
                &subject,
                &customer,
            ) else {
                continue;
            };
            // The message is stored whatever happens here; a case that could not be filed is
            // logged, not a failed message.
            if let Err(e) = self.store.record_case_message(workspace_id, &touch) {
                tracing::error!(error = %e, channel = %item.message.channel,
                    id = %item.message.id, "could not file the message into its case");
            }
        }
        Ok(())
    }
}
