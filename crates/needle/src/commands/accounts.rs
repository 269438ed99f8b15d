//! `needle user …` and `needle token …`: the people who sign in and the tokens scripts use,
//! managed from the command line (the first admin cannot be made anywhere else).
//!
//! Secrets go to standard output alone, on one line, so a script can capture them; what
//! happened goes to standard error.

use std::io::BufRead;
use std::sync::Arc;

use needle_http::auth::secrets;
use needle_store::Backend;
use needle_store::accounts::{EVERY_WORKSPACE, Grant, NewUser, Role};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{RoleArg, StoreArgs, TokenCommand, UserCommand};
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

/// Shortest token accepted from standard input.
const MIN_TOKEN_CHARS: usize = 32;

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::Analyst => Role::Analyst,
        RoleArg::Agent => Role::Agent,
    }
}

fn open(store: &StoreArgs) -> CliResult<Arc<dyn Backend>> {
    DataDir::open_store_only(&store.data_args())
}

/// The grant `--role`/`--workspace` describe; the workspace must exist.
fn grant(store: &Arc<dyn Backend>, role_arg: RoleArg, workspace: Option<&str>) -> CliResult<Grant> {
    let workspace_id = match workspace {
        None => EVERY_WORKSPACE,
        Some(name) => {
            store
                .workspace(name)?
                .ok_or_else(|| Failure::bad_input(format!("no workspace named {name:?}")))?
                .id
        }
    };
    Ok(Grant {
        workspace_id,
        role: role(role_arg),
    })
}

fn where_(grant: Grant, store: &Arc<dyn Backend>) -> String {
    if grant.workspace_id == EVERY_WORKSPACE {
        return "every workspace".into();
    }
    store
        .workspaces()
        .ok()
        .and_then(|all| all.into_iter().find(|w| w.id == grant.workspace_id))
        .map_or_else(
            || format!("workspace #{}", grant.workspace_id),
            |w| format!("workspace {:?}", w.name),
        )
}

/// The first line of standard input, without its line ending.
fn stdin_line(what: &str) -> CliResult<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::bad_input(format!("cannot read the {what} from standard input: {e}"))
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The password to set: chosen on standard input (checked), or made up (one-time).
fn password(from_stdin: bool) -> CliResult<(String, bool)> {
    if from_stdin {
        let chosen = stdin_line("password")?;
        secrets::check_new_password(&chosen).map_err(Failure::bad_input)?;
        Ok((chosen, false))
    } else {
        Ok((secrets::new_password(), true))
    }
}

fn email_arg(email: &str) -> CliResult<String> {
    let email = email.trim().to_lowercase();
    if !needle_http::valid_email(&email) {
        return Err(Failure::bad_input(format!(
            "{email:?} is not an email address"
        )));
    }
    Ok(email)
}

fn audit(
    store: &Arc<dyn Backend>,
    workspace_id: i64,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> CliResult<()> {
    store.record_audit(&needle_store::accounts::AuditEntry::now(
        workspace_id,
        "cli",
        action,
        subject,
        detail,
    ))?;
    Ok(())
}

pub fn user(which: UserCommand) -> CliResult<i32> {
    match which {
        UserCommand::Add {
            email,
            role: role_arg,
            workspace,
            password_stdin,
            store: args,
        } => {
            let email = email_arg(&email)?;
            let store = open(&args)?;
            let grant = grant(&store, role_arg, workspace.as_deref())?;
            let (password, one_time) = password(password_stdin)?;
            let added = store.add_user(&NewUser {
                email: &email,
                password_hash: &secrets::hash_password(&password),
                must_change_password: one_time,
                grant,
            })?;
            if added.is_none() {
                return Err(Failure::new(
                    needle_core::ErrorCode::Conflict,
                    format!(
                        "{email} already has an account; `needle user password {email}` gives them a new password"
                    ),
                ));
            }
            audit(
                &store,
                grant.workspace_id,
                "user.added",
                &email,
                json!({"role": grant.role.as_str()}),
            )?;
            eprintln!(
                "added {email} as {} in {}",
                grant.role.as_str(),
                where_(grant, &store)
            );
            if one_time {
                eprintln!(
                    "their one-time password follows; they choose their own at the first sign-in"
                );
                println!("{password}");
            }
            Ok(0)
        }
        UserCommand::Password {
            email,
            password_stdin,
            store: args,
        } => {
            let email = email_arg(&email)?;
            let store = open(&args)?;
            let Some((user, _)) = store.user_by_email(&email)? else {
                return Err(Failure::bad_input(format!("nobody has the email {email}")));
            };
            let (password, one_time) = password(password_stdin)?;
            store.set_password(user.id, &secrets::hash_password(&password), one_time)?;
            audit(&store, EVERY_WORKSPACE, "password.reset", &email, json!({}))?;
            eprintln!("{email} has a new password and is signed out everywhere");
            if one_time {
                println!("{password}");
            }
            Ok(0)
        }
        UserCommand::Role {
            email,
            role: role_arg,
            workspace,
            store: args,
        } => {
            let email = email_arg(&email)?;
            let store = open(&args)?;
            let grant = grant(&store, role_arg, workspace.as_deref())?;
            let Some((user, _)) = store.user_by_email(&email)? else {
                return Err(Failure::bad_input(format!("nobody has the email {email}")));
            };
            store.set_role(user.id, grant)?;
            audit(
                &store,
                grant.workspace_id,
                "role.changed",
                &email,
                json!({"role": grant.role.as_str()}),
            )?;
            eprintln!(
                "{email} is now {} in {}",
                grant.role.as_str(),
                where_(grant, &store)
            );
            Ok(0)
        }
        UserCommand::List { json, store: args } => {
            let store = open(&args)?;
            for user in store.users()? {
                let roles: Vec<String> = user
                    .grants
                    .iter()
                    .map(|g| format!("{} in {}", g.role.as_str(), where_(*g, &store)))
                    .collect();
                if json {
                    println!(
                        "{}",
                        json!({"email": user.email, "roles": roles,
                        "must_change_password": user.must_change_password,
                        "created_at": needle_core::message::format_time(user.created_at)})
                    );
                } else {
                    println!("{}\t{}", user.email, roles.join(", "));
                }
            }
            Ok(0)
        }
    }
}

pub fn token(which: TokenCommand) -> CliResult<i32> {
    match which {
        TokenCommand::Add {
            name,
            role: role_arg,
            workspace,
            token_stdin,
            store: args,
        } => {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
                return Err(Failure::bad_input(
                    "a token's name must have 1 to 100 visible characters",
                ));
            }
            let token = if token_stdin {
                let given = stdin_line("token")?;
                if given.chars().count() < MIN_TOKEN_CHARS
                    || !given.chars().all(|c| c.is_ascii_graphic())
                {
                    return Err(Failure::bad_input(format!(
                        "a token must have at least {MIN_TOKEN_CHARS} visible ASCII characters and no spaces"
                    )));
                }
                given
            } else {
                secrets::new_token()
            };
            let store = open(&args)?;
            let grant = grant(&store, role_arg, workspace.as_deref())?;
            let hash = secrets::sha256_hex(&token);
            if let Some(existing) = store.token(&hash)? {
                // Provisioning the same secret again (a deploy re-run) changes nothing.
                eprintln!(
                    "that token exists already (id {}, {}); nothing changed",
                    existing.id, existing.name
                );
                return Ok(0);
            }
            let made = store.add_token(&hash, &name, grant)?;
            audit(
                &store,
                grant.workspace_id,
                "token.added",
                &name,
                json!({"id": made.id, "role": grant.role.as_str()}),
            )?;
            eprintln!(
                "token {} ({name}): {} in {}; send it as `Authorization: Bearer …`",
                made.id,
                grant.role.as_str(),
                where_(grant, &store)
            );
            if !token_stdin {
                println!("{token}");
            }
            Ok(0)
        }
        TokenCommand::List { json, store: args } => {
            let store = open(&args)?;
            for t in store.tokens()? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                if json {
                    println!(
                        "{}",
                        json!({"id": t.id, "name": t.name, "role": t.grant.role.as_str(),
                        "where": where_(t.grant, &store), "state": state,
                        "created_at": needle_core::message::format_time(t.created_at)})
                    );
                } else {
                    println!(
                        "{}\t{}\t{} in {}\t{state}",
                        t.id,
                        t.name,
                        t.grant.role.as_str(),
                        where_(t.grant, &store)
                    );
                }
            }
            Ok(0)
        }
        TokenCommand::Revoke { id, store: args } => {
            let store = open(&args)?;
            if !store.revoke_token(id, OffsetDateTime::now_utc())? {
                return Err(Failure::bad_input(format!("no active token with id {id}")));
            }
            audit(
                &store,
                EVERY_WORKSPACE,
                "token.revoked",
                &id.to_string(),
                json!({}),
            )?;
            eprintln!("token {id} revoked");
            Ok(0)
        }
    }
}
