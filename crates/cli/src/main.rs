//! The `firebreak` binary.
//!
//! `serve` runs the server; `migrate` and `token create` work directly on the database, through
//! the application layer; every other command is an HTTP client of a running server, speaking only
//! the types of `firebreak-api`.

mod client;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use firebreak_app::App;
use firebreak_server::config::{self, RawConfig};

#[derive(Parser)]
#[command(name = "firebreak", version, about = "Self-hosted incident response in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run the server: API, web UI, health and metrics.
    Serve(ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate(DatabaseArgs),
    /// Manage API tokens: `create` makes an administrator's token directly on the database (the
    /// server may be running or not); the others talk to a running server.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Read the audit log: who changed what, when, from where (administrators; talks to a running server).
    Audit(client::AuditArgs),
    /// Print the documented configuration file with every default.
    ExampleConfig,
    /// Declare, list and act on incidents (talks to a running server).
    #[command(subcommand)]
    Incident(client::IncidentCommand),
    /// Show the service catalog and choose who services page (talks to a running server).
    #[command(subcommand)]
    Service(client::ServiceCommand),
    /// Silence alerts for a while (maintenance windows) (talks to a running server).
    #[command(subcommand)]
    Silence(client::SilenceCommand),
    /// A team's severity guide: the questions that say how severe an incident is (talks to a running server).
    #[command(subcommand)]
    Guide(client::GuideCommand),
    /// Heartbeat checks: jobs that must ping on a schedule (talks to a running server).
    #[command(subcommand)]
    Heartbeat(client::HeartbeatCommand),
    /// Expected outcomes: rules that raise an alert when business events stop showing what should
    /// happen (talks to a running server).
    #[command(subcommand)]
    Outcome(client::OutcomeCommand),
    /// Manage teams and their members (talks to a running server).
    #[command(subcommand)]
    Team(client::TeamCommand),
    /// Manage users and where pages reach them (talks to a running server).
    #[command(subcommand)]
    User(client::UserCommand),
    /// Manage on-call schedules and their overrides (talks to a running server).
    #[command(subcommand)]
    Schedule(client::ScheduleCommand),
    /// Manage escalation policies (talks to a running server).
    #[command(subcommand)]
    Policy(client::PolicyCommand),
    /// Show who a service's escalation policy would page, level by level (talks to a running server).
    Oncall(client::OncallArgs),
    /// Anomaly detection tools.
    #[command(subcommand)]
    Detect(DetectCommand),
    /// Find swallowed errors in source code: empty catch blocks, handlers that only pass or log
    /// below warning, discarded Go and Rust errors. Exits 1 when something is found, 2 on error.
    Scan(ScanArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// The file or directory to scan (`.gitignore`d, hidden and vendored directories are skipped).
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScanFormat {
    /// One row per finding, with why it is dangerous.
    Table,
    /// A JSON object with the findings and counts.
    Json,
    /// SARIF 2.1.0, for code scanning and editors.
    Sarif,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FIREBREAK_LISTEN")]
    listen: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Log format: text or json [default: text].
    #[arg(long, env = "FIREBREAK_LOG_FORMAT")]
    log_format: Option<String>,
    /// The URL people use to reach this server, for links [default: from --listen].
    #[arg(long, env = "FIREBREAK_PUBLIC_URL")]
    public_url: Option<String>,
    /// Base URL of a Prometheus-compatible API for golden signals [default: none].
    #[arg(long, env = "FIREBREAK_PROMETHEUS_URL")]
    prometheus_url: Option<String>,
    /// Mail server for email pages: smtp://HOST[:PORT], smtp://HOST?tls=starttls or smtps://HOST,
    /// with optional USER:PASSWORD@ [default: none].
    #[arg(long, env = "FIREBREAK_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender address of email pages [default: firebreak@localhost].
    #[arg(long, env = "FIREBREAK_SMTP_FROM")]
    smtp_from: Option<String>,
    /// PEM file of extra certificate authorities to trust for the mail server.
    #[arg(long, env = "FIREBREAK_SMTP_CA_FILE")]
    smtp_ca_file: Option<String>,
    /// Twilio account SID, for SMS and voice pages [default: none].
    #[arg(long, env = "FIREBREAK_TWILIO_ACCOUNT_SID")]
    twilio_account_sid: Option<String>,
    /// Twilio auth token (prefer the environment variable: flags show in process lists).
    #[arg(long, env = "FIREBREAK_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// The number SMS and voice pages come from, E.164 such as +15005550006.
    #[arg(long, env = "FIREBREAK_TWILIO_FROM")]
    twilio_from: Option<String>,
    /// Base URL of a Twilio-compatible API [default: https://api.twilio.com].
    #[arg(long, env = "FIREBREAK_TWILIO_API_URL")]
    twilio_api_url: Option<String>,
    /// Issuer URL of an OpenID Connect provider people may sign in with [default: none].
    #[arg(long, env = "FIREBREAK_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// The client id registered with the OpenID provider.
    #[arg(long, env = "FIREBREAK_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// The client secret (prefer the environment variable: flags show in process lists).
    #[arg(long, env = "FIREBREAK_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// Create a person the OpenID provider vouches for at their first sign-in [default: false].
    #[arg(long, env = "FIREBREAK_OIDC_CREATE_USERS")]
    oidc_create_users: Option<bool>,
}

#[derive(Args)]
struct DatabaseArgs {
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DATABASE [default: sqlite:firebreak.db].
    #[arg(long, env = "FIREBREAK_DATABASE_URL")]
    database: Option<String>,
    /// TOML configuration file; flags and environment variables take precedence over it.
    #[arg(long, env = "FIREBREAK_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it as the only line on stdout. It cannot be shown again.
    Create {
        /// Who or what will use the token; shown as the actor on incident timelines.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    #[command(flatten)]
    Client(client::TokenClientCommand),
}

#[derive(Subcommand)]
enum DetectCommand {
    /// Run the anomaly detector over the Numenta Anomaly Benchmark and print its scores.
    Nab {
        /// The NAB root, holding data/, labels/ and config/.
        #[arg(long)]
        data: PathBuf,
        /// Where to write the results files.
        #[arg(long)]
        out: PathBuf,
    },
}

/// mimalloc in place of the system allocator: a request allocates and frees many small buffers
/// across threads, where glibc's malloc spent about a quarter of the server's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Top::Scan(args) = &cli.command {
        return match scan(args) {
            Ok(true) => ExitCode::from(1),
            Ok(false) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Top::Serve(args) => {
            let flags = RawConfig {
                listen: args.listen,
                database_url: args.database.database,
                log_format: args.log_format,
                public_url: args.public_url,
                prometheus_url: args.prometheus_url,
                smtp_url: args.smtp_url,
                smtp_from: args.smtp_from,
                smtp_ca_file: args.smtp_ca_file,
                twilio_account_sid: args.twilio_account_sid,
                twilio_auth_token: args.twilio_auth_token,
                twilio_from: args.twilio_from,
                twilio_api_url: args.twilio_api_url,
                oidc_issuer: args.oidc_issuer,
                oidc_client_id: args.oidc_client_id,
                oidc_client_secret: args.oidc_client_secret,
                oidc_create_users: args.oidc_create_users,
            };
            let config = layered(flags, args.database.config.as_deref())?.check()?;
            firebreak_server::init_logging(config.log_format);
            firebreak_server::run(config).await
        }
        Top::Migrate(args) => {
            let applied = firebreak_app::migrate(&database_url(&args)?).await?;
            if applied.is_empty() {
                println!("the schema is up to date");
            } else {
                println!("applied: {}", applied.join(", "));
            }
            Ok(())
        }
        Top::Token(TokenCommand::Create { name, database }) => {
            let store = App::open_store(&database_url(&database)?).await?;
            let created = firebreak_app::access::create_token(&store, &name, jiff::Timestamp::now()).await;
            store.close().await;
            println!("{}", created.context("creating the token")?);
            Ok(())
        }
        Top::Token(TokenCommand::Client(command)) => client::token(command).await,
        Top::Audit(args) => client::audit(args).await,
        Top::User(client::UserCommand::SetPassword { user, admin, database, config }) => {
            let url = database_url(&DatabaseArgs { database, config })?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let store = App::open_store(&url).await?;
            let done = async {
                let user = firebreak_api::Ref::parse(&user);
                let found = if admin {
                    firebreak_app::access::make_admin(&store, &user).await?
                } else {
                    firebreak_app::access::find_user(&store, &user).await?
                };
                firebreak_app::access::set_password(&store, &found, password, jiff::Timestamp::now()).await?;
                anyhow::Ok(found)
            }
            .await;
            store.close().await;
            let user = done.context("setting the password")?;
            println!("password set for {}{}", user.name, if admin { ", an administrator" } else { "" });
            Ok(())
        }
        Top::ExampleConfig => {
            print!("{}", config::EXAMPLE_CONFIG);
            Ok(())
        }
        Top::Incident(command) => client::incident(command).await,
        Top::Service(command) => client::service(command).await,
        Top::Silence(command) => client::silence(command).await,
        Top::Heartbeat(command) => client::heartbeat(command).await,
        Top::Guide(command) => client::guide(command).await,
        Top::Outcome(command) => client::outcome(command).await,
        Top::Team(command) => client::team(command).await,
        Top::User(command) => client::user(command).await,
        Top::Schedule(command) => client::schedule(command).await,
        Top::Policy(command) => client::policy(command).await,
        Top::Oncall(args) => client::oncall(args).await,
        Top::Scan(_) => unreachable!("scan runs without the async runtime"),
        Top::Detect(DetectCommand::Nab { data, out }) => {
            let report = tokio::task::spawn_blocking(move || {
                firebreak_nab::run(&data, &out, &mut |line| eprintln!("{line}"))
            })
            .await
            .context("running the benchmark")??;
            println!("{report}");
            Ok(())
        }
    }
}

/// Runs `firebreak scan`, showing a progress bar on stderr when it is a terminal and the tree is
/// large; true when something was found.
fn scan(args: &ScanArgs) -> anyhow::Result<bool> {
    use std::io::Write;

    /// Trees smaller than this are scanned too quickly for a bar to help.
    const BAR_FILES_MIN: usize = 200;
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("scanning {bar:40} {pos}/{len} files, {per_sec}, {eta} left")
            .context("the progress bar's template")?,
    );
    let mut progress = |p: firebreak_scan::Progress| {
        if p.total >= BAR_FILES_MIN {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        }
    };
    let report = firebreak_scan::scan_path(&args.path, &firebreak_scan::Options::default(), &mut progress);
    bar.finish_and_clear();
    let report = report?;
    let rendered = match args.format {
        ScanFormat::Table => firebreak_scan::render::table(&report),
        ScanFormat::Json => format!("{:#}\n", firebreak_scan::render::json(&report)),
        ScanFormat::Sarif => format!("{:#}\n", firebreak_scan::render::sarif(&report)),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{}", firebreak_scan::render::summary(&report));
        }
        None => std::io::stdout().write_all(rendered.as_bytes()).context("writing the report")?,
    }
    Ok(!report.findings.is_empty())
}

/// `flags` (which already include environment variables) over the config file, if any.
fn layered(flags: RawConfig, config_file: Option<&Path>) -> anyhow::Result<RawConfig> {
    Ok(match config_file {
        Some(path) => flags.or(RawConfig::from_file(path)?),
        None => flags,
    })
}

/// The database URL that `args` (and the configuration file they name) give.
fn database_url(args: &DatabaseArgs) -> anyhow::Result<String> {
    let flags = RawConfig { database_url: args.database.clone(), ..Default::default() };
    Ok(layered(flags, args.config.as_deref())?.check()?.database_url)
}
