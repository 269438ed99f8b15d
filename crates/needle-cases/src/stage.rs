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
        // Only newly stored messages (a duplicate was filed the first time), and only those
        // that touch a case: most listening traffic opens none, and pays for nothing here.
        let stored: Vec<_> = batch
            .items
            .iter()
            .filter(|item| matches!(item.outcome, Outcome::Stored(_)))
            .filter(|item| rules::files(&item.message, item.classification.as_ref()))
            .map(|item| {
                let names = (
                    rules::subject_of(&item.message),
                    rules::customer_of(&item.message),
                );
                (item, names)
            })
            .collect();
        let touches: Vec<_> = stored
            .iter()
            .filter_map(|(item, (subject, customer))| {
                rules::touch(
                    &self.policy,
                    &item.message,
                    item.classification.as_ref(),
                    subject,
                    customer,
                )
            })
            .collect();
        if touches.is_empty() {
            return Ok(());
        }
        // The messages are stored whatever happens here; cases that could not be filed are
        // logged, not failed messages.
        if let Err(e) = self
            .store
            .record_case_messages(batch.workspace_id, &touches)
        {
            tracing::error!(error = %e, messages = touches.len(),
                "could not file the batch's messages into their cases");
        }
        Ok(())
    }
}
