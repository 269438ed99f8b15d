//! One module per command.

mod accounts;
mod bench;
mod classify;
mod connections;
mod import;
mod matching;
mod models;
mod profiles;
mod query;
mod reindex;
mod search;
mod serve;
mod stats;
mod topics;
mod train;

use crate::cli::{
    BenchCommand, Cli, Command, ConnectionsCommand, ModelsCommand, ProfileCommand, QueryCommand,
    TopicsCommand,
};
use crate::failure::CliResult;

/// Runs a command; returns the exit code for success paths that still report bad input.
pub fn run(cli: Cli) -> CliResult<i32> {
    match cli.command {
        Command::Serve {
            listen,
            demo,
            role,
            bus,
            model_tier,
            presence_seconds,
            data,
        } => serve::run(
            &data,
            &listen,
            demo,
            &role,
            bus.as_deref(),
            &model_tier,
            std::time::Duration::from_secs(presence_seconds),
        ),
        Command::ImportProfiles { file, map, data } => profiles::import(&data, &file, &map),
        Command::Profile {
            which:
                ProfileCommand::Show {
                    identity,
                    json,
                    limit,
                    data,
                },
        } => profiles::show(&data, &identity, json, limit),
        Command::Migrate { data } => {
            let dir = crate::context::DataDir::open_store_only(&data)?;
            println!("the store is up to date ({} messages)", dir.count(None)?);
            Ok(0)
        }
        Command::Import {
            files,
            format,
            map,
            batch,
            model_tier,
            data,
        } => import::run(&data, &files, format, &map, batch, &model_tier),
        Command::Search {
            query,
            limit,
            json,
            channel,
            since,
            until,
            data,
        } => search::run(
            &data,
            search::Options {
                query,
                limit,
                json,
                channel,
                since,
                until,
            },
        ),
        Command::Reindex { data } => reindex::run(&data),
        Command::Query {
            which: QueryCommand::Lint { query, file, json },
        } => query::lint(query, file, json),
        Command::Match {
            topics,
            input,
            explain,
        } => matching::run(&topics, input.as_deref(), explain),
        Command::Classify {
            input,
            entities,
            models,
        } => classify::run(input.as_deref(), entities.as_deref(), models.as_deref()),
        Command::Topics { which } => match which {
            TopicsCommand::Load {
                file,
                no_backfill,
                data,
            } => topics::load(&data, &file, !no_backfill),
            TopicsCommand::List { json, data } => topics::list(&data, json),
        },
        Command::Stats { json, data } => stats::run(&data, json),
        Command::Connections { which } => match which {
            ConnectionsCommand::Apply { file, data } => connections::apply(&data, &file),
            ConnectionsCommand::List { json, data } => connections::list(&data, json),
        },
        Command::User { which } => accounts::user(which),
        Command::Token { which } => accounts::token(which),
        Command::Models { which } => match which {
            ModelsCommand::Fetch { models } => models::fetch(&models),
            ModelsCommand::Status { json, models } => models::status(&models, json),
            ModelsCommand::Train {
                what: crate::cli::TrainTarget::Sentiment,
                labelled,
                per_set,
                embedder,
                models,
            } => train::sentiment(labelled, per_set, embedder, &models.models_dir()),
        },
        Command::Bench { which } => match which {
            BenchCommand::Embed {
                sentences,
                models,
                data,
                python,
                no_baseline,
                levers,
            } => models::bench_embed(
                sentences,
                &models.unwrap_or_else(|| data.join("models")),
                &python,
                no_baseline,
                levers,
            ),
            BenchCommand::Import {
                messages,
                dir,
                no_baseline,
                search_runs,
            } => bench::import(messages, dir, no_baseline, search_runs),
        },
    }
}
