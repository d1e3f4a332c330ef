//! The command line: `vigil serve`, `vigil user create`, `vigil migrate`.

pub mod args;

pub use args::*;

use std::io::Read as _;

use anyhow::Context;
use vigil_shared::admin::CreateUserRequest;

use crate::db::{self, Database};
use crate::serve;
use crate::telemetry::{self, LogFormat};
use crate::users;

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                telemetry::init(args.log_format, "info,sqlx=warn");
                serve::run(&cli.database, args).await
            }
            Command::User(UserCommand::Create(args)) => {
                telemetry::init(LogFormat::Auto, "warn");
                create_user(&cli.database, args).await
            }
            Command::Migrate => {
                telemetry::init(LogFormat::Auto, "info,sqlx=warn");
                let database =
                    Database::open(&cli.database.source(), &cli.database.pool_settings()).await?;
                let result = db::migrate(&database.pool).await;
                database.close().await?;
                result?;
                println!("The database schema is up to date.");
                Ok(())
            }
        }
    })
}

async fn create_user(database: &DatabaseArgs, args: CreateUserArgs) -> anyhow::Result<()> {
    let password = if args.password == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the password from standard input")?;
        text.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        args.password
    };
    let request = CreateUserRequest {
        email: args.email,
        display_name: args.display_name,
        password,
        role: args.role,
    };
    let new_user = users::NewUser::parse(&request).map_err(|e| anyhow::anyhow!("{e}"))?;

    let database = Database::open(&database.source(), &database.pool_settings()).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        users::create(&database.pool, crate::audit::AuditActor::CLI, &new_user)
            .await
            .map_err(|e| match e {
                crate::error::AppError::Conflict { message, .. } => anyhow::anyhow!(message),
                other => anyhow::anyhow!(other),
            })
    }
    .await;
    database.close().await?;
    let user = result?;
    println!("Created {} {} (id {}).", user.role, user.email, user.id);
    Ok(())
}
