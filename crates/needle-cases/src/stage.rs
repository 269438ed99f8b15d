//! The pipeline stage that files every stored message into its conversation's case, sends
//! new cases to their team and, where the team assigns automatically, to a member.

use std::sync::Arc;

use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::Backend;
use needle_store::cases::{CaseChange, CaseStatus};
use needle_store::teams::{Assignment, Team};
use time::OffsetDateTime;

use crate::routing;
use crate::rules::{self, Policy};

pub struct CasesStage {
    store: Arc<dyn Backend>,
    policy: Policy,
}

impl CasesStage {
    pub fn new(store: Arc<dyn Backend>, policy: Policy) -> CasesStage {
        CasesStage { store, policy }
    }

    /// The workspace's teams, read for every batch that touches a case (a small table, and
    /// a team changed through the API takes effect at once).
    fn teams_of(&self, workspace_id: i64) -> Vec<Team> {
        self.store.teams(workspace_id).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the workspace's teams; routing none");
            Vec::new()
        })
    }

    /// Gives each open, unassigned case of an assigning team a member of that team.
    fn assign(&self, workspace_id: i64, teams: &[Team], case_ids: &[i64]) {
        for &id in case_ids {
            let Ok(Some(case)) = self.store.case(workspace_id, id) else {
                continue;
            };
            let team = case
                .team
                .as_deref()
                .and_then(|name| teams.iter().find(|t| t.name == name));
            let Some(team) = team.filter(|t| t.assignment != Assignment::Manual) else {
                continue;
            };
            if case.assignee.is_some() || case.status != CaseStatus::Open {
                continue;
            }
            let picked = routing::pick_assignee(self.store.as_ref(), workspace_id, team);
            let Ok(Some(who)) = picked else {
                continue;
            };
            let change = CaseChange {
                assignee: Some(Some(who)),
                ..CaseChange::default()
            };
            if let Err(e) = self.store.update_case(
                workspace_id,
                id,
                &change,
                &routing::assigned_by(team),
                OffsetDateTime::now_utc(),
            ) {
                tracing::error!(error = %e, case = id, "could not assign a case automatically");
            }
        }
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
        if stored.is_empty() {
            return Ok(());
        }
        let teams = self.teams_of(batch.workspace_id);
        let mut touches: Vec<_> = stored
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
        for touch in touches.iter_mut().filter(|t| t.inbound) {
            if let Some(team) = routing::team_for(&teams, touch.channel) {
                routing::route(&self.policy, touch, team);
            }
        }
        if touches.is_empty() {
            return Ok(());
        }
        // The messages are stored whatever happens here; cases that could not be filed are
        // logged, not failed messages.
        match self
            .store
            .record_case_messages(batch.workspace_id, &touches)
        {
            Ok(ids) => {
                if teams.iter().any(|t| t.assignment != Assignment::Manual) {
                    let mut routed: Vec<i64> = touches
                        .iter()
                        .zip(&ids)
                        .filter(|(t, _)| t.inbound)
                        .filter_map(|(_, id)| *id)
                        .collect();
                    routed.dedup();
                    self.assign(batch.workspace_id, &teams, &routed);
                }
            }
            Err(e) => tracing::error!(error = %e, messages = touches.len(),
                "could not file the batch's messages into their cases"),
        }
        Ok(())
    }
}
