//! Which team a new case goes to, when it is due in that team's working hours, and who in
//! the team gets it: by hand, each member in turn, or whoever holds the fewest open cases.

use needle_store::Backend;
use needle_store::cases::CaseTouch;
use needle_store::teams::{Assignment, Team};

use crate::hours::BusinessHours;
use crate::rules::Policy;

/// The team that takes new cases from `channel`: the first (by name) that lists it.
pub fn team_for<'t>(teams: &'t [Team], channel: &str) -> Option<&'t Team> {
    teams
        .iter()
        .find(|t| t.channels.iter().any(|c| c == channel))
}

/// A team's working hours; a team saved through the API always has readable ones, and
/// anything else counts as round the clock rather than never.
pub fn hours_of(team: &Team) -> BusinessHours {
    BusinessHours::parse(&team.hours).unwrap_or_default()
}

/// Sends a case this message opens to `team`, with due times counted in the team's hours.
pub fn route<'a>(policy: &Policy, touch: &mut CaseTouch<'a>, team: &'a Team) {
    let hours = hours_of(team);
    let rank = touch.priority.rank() as usize;
    touch.team = Some(&team.name);
    touch.first_response_due = hours.after(touch.at, policy.first_response[rank]);
    touch.resolution_due = hours.after(touch.at, policy.resolution[rank]);
}

/// Who in `team` should take its next case, by the team's way of assigning; `None` when
/// the team assigns by hand or has no members.
pub fn pick_assignee(
    store: &dyn Backend,
    workspace_id: i64,
    team: &Team,
) -> needle_store::Result<Option<String>> {
    match team.assignment {
        Assignment::Manual => Ok(None),
        Assignment::RoundRobin => store.take_turn(workspace_id, &team.name),
        Assignment::LeastLoaded => {
            let load = store.open_load(workspace_id, &team.members)?;
            // The first member among the least loaded: ties go by the team's order.
            Ok(load
                .iter()
                .enumerate()
                .min_by_key(|(i, n)| (**n, *i))
                .map(|(i, _)| team.members[i].clone()))
        }
    }
}

/// How an automatic assignment is written in the case's history.
pub fn assigned_by(team: &Team) -> String {
    format!(
        "needle ({} in {})",
        team.assignment.as_str().replace('_', " "),
        team.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use needle_store::cases::Priority;
    use time::OffsetDateTime;
    use time::macros::datetime;

    fn team(name: &str, channels: &[&str], hours: &str) -> Team {
        Team {
            id: 1,
            workspace_id: 1,
            name: name.into(),
            members: vec!["kim@x".into()],
            hours: hours.into(),
            assignment: Assignment::RoundRobin,
            channels: channels.iter().map(|c| c.to_string()).collect(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_first_team_listing_the_channel_takes_the_case() {
        let teams = [
            team("billing", &["email"], "always"),
            team("care", &["email", "chat"], "always"),
        ];
        assert_eq!(team_for(&teams, "email").unwrap().name, "billing");
        assert_eq!(team_for(&teams, "chat").unwrap().name, "care");
        assert!(team_for(&teams, "reddit").is_none());
    }

    #[test]
    fn routed_cases_are_due_in_the_teams_hours() {
        let care = team("care", &["email"], "Mon-Fri 09:00-17:00 UTC");
        let friday_evening = datetime!(2026-12-04 18:00 UTC);
        let mut touch = CaseTouch {
            channel: "email",
            thread_id: "t",
            subject: "s",
            customer: "c",
            at: friday_evening,
            inbound: true,
            priority: Priority::Normal,
            first_response_due: friday_evening,
            resolution_due: friday_evening,
            team: None,
        };
        route(&Policy::default(), &mut touch, &care);
        assert_eq!(touch.team, Some("care"));
        // Normal: 4 h to answer and 24 h to resolve, in working time from Monday 09:00.
        assert_eq!(touch.first_response_due, datetime!(2026-12-07 13:00 UTC));
        assert_eq!(touch.resolution_due, datetime!(2026-12-09 17:00 UTC));
    }
}
