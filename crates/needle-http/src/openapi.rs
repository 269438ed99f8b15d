//! The OpenAPI document, generated from the handlers and types themselves.

use axum::Json;
use utoipa::OpenApi;

use crate::{api, connections, events, health, profiles, relevance, segments, topics};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Needle API",
        description = "Mass one-to-one customer experience: take in, search and serve messages. \
                       Errors are `{\"error\":{\"code\",\"message\"}}`.",
    ),
    paths(
        api::ingest,
        api::list,
        api::get_one,
        api::workspaces,
        api::create_workspace,
        health::healthz,
        api::dead_letters,
        events::stream,
        topics::list,
        topics::create,
        topics::get_one,
        topics::update,
        topics::delete,
        topics::messages,
        topics::lint,
        topics::series,
        topics::preview,
        profiles::lookup,
        profiles::get_one,
        profiles::timeline,
        profiles::audit,
        profiles::link,
        profiles::unlink,
        profiles::suggestions,
        profiles::accept,
        profiles::reject,
        profiles::import,
        profiles::export,
        profiles::erase,
        segments::list,
        segments::put,
        segments::get_one,
        segments::delete,
        connections::list,
        connections::get_one,
        connections::put,
        connections::delete,
        connections::hook,
        connections::outbox,
        connections::delivery,
        connections::reply,
        relevance::put_label,
        relevance::labels,
        relevance::delete_label,
        relevance::score_post,
        relevance::score_get,
        relevance::classify_intents,
    ),
    components(schemas(
        api::IngestResponse,
        api::IngestResult,
        api::ErrorBody,
        api::MessagePage,
        api::WorkspaceInfo,
        api::NewWorkspace,
        topics::TopicBody,
        topics::LintBody,
        topics::PreviewBody,
        profiles::LinkBody,
        profiles::DecisionBody,
        segments::SegmentBody,
        connections::ConnectionBody,
        connections::ReplyBody,
        relevance::LabelBody,
        relevance::MessageRef,
        relevance::ScoreBody,
        relevance::IntentsBody,
    ))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
