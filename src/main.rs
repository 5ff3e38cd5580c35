//! The `wechat-exporter` binary: parses flags and dispatches. All logic is
//! in the library (see ARCHITECTURE.md).

use clap::Parser;
use wechat_exporter::cli::{logging, run};
use wechat_exporter::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(async move {
        match cli.command {
            Some(Command::Simulate {
                listen,
                seed,
                release_hour,
                apps,
                authorized,
                ticket_file,
                pages,
                log_level,
            }) => {
                logging::init(log_level, wechat_exporter::cli::LogFormat::Logfmt);
                let addr = match wechat_exporter::cli::normalize_listen(&listen).parse() {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("--listen {listen}: {e}");
                        return 2;
                    }
                };
                let platform = wechat_exporter::simulator::StandalonePlatform {
                    authorized,
                    ticket_file,
                };
                match wechat_exporter::simulator::run_standalone_with(
                    addr,
                    seed,
                    release_hour,
                    apps,
                    pages,
                    platform,
                )
                .await
                {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("simulator: {e}");
                        1
                    }
                }
            }
            Some(Command::Backfill(flags)) => {
                logging::init(flags.log_level, wechat_exporter::cli::LogFormat::Logfmt);
                backfill(flags).await
            }
            None => {
                let flags = cli.run;
                if flags.config_check {
                    return check_config(&flags);
                }
                logging::init(flags.log_level, flags.log_format);
                match run::run(flags).await {
                    Ok(()) => 0,
                    Err(e) => {
                        tracing::error!(error = %e, "exiting");
                        eprintln!("wechat-exporter: {e}");
                        e.exit_code()
                    }
                }
            }
        }
    });
    std::process::exit(code);
}

fn check_config(flags: &wechat_exporter::cli::RunFlags) -> i32 {
    let Some(path) = &flags.config_file else {
        eprintln!("--config.check needs --config.file");
        return 2;
    };
    // The web config is checked too: a typo there would otherwise only
    // show when the exporter is restarted with it.
    if let Some(web) = &flags.web_config_file {
        if let Err(e) = wechat_exporter::web::config::check_web_config(web) {
            eprintln!("--web.config.file: {e}");
            return 2;
        }
    }
    match run::load_config(path, flags) {
        Ok(cfg) => {
            println!("{}: valid, {} app(s)", path.display(), cfg.apps.len());
            if let Some(web) = &flags.web_config_file {
                println!("{}: valid web config", web.display());
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

/// `wechat-exporter backfill`: exit 0 done, 1 done with failed units or an
/// I/O error, 2 bad flags or config, 3 stopped early (rerun to continue).
async fn backfill(flags: wechat_exporter::cli::BackfillFlags) -> i32 {
    use wechat_exporter::backfill::{self, RawArgs};
    let config = match wechat_exporter::config::Config::load(&flags.config_file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let raw = RawArgs {
        from: flags.from,
        to: flags.to,
        output: flags.output,
        step: flags.step,
        rate: flags.rate,
        max_calls: flags.max_calls,
        split_days: flags.split_days,
        job: flags.job,
        instance: flags.instance,
        labels: flags.label,
    };
    let clock = wechat_exporter::clock::Clock::system();
    let opts = match backfill::validate(&raw, &config, clock.now()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wechat-exporter backfill: {e}");
            return e.exit_code();
        }
    };
    match backfill::run(&config, &opts, clock).await {
        Ok(report) => {
            eprint!("{}", report.summary());
            if report.failures.is_empty() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("wechat-exporter backfill: {e}");
            e.exit_code()
        }
    }
}
