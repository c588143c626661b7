//! `execnet probe`: the plugins the kubelet would see, each with its problems, worded as the
//! chosen kubelet release worded them (`--kubelet`).

use std::path::PathBuf;

use anyhow::Result;
use execnet::plugin::{self, SelectionTexts, select};
use serde::Serialize;

use super::opts::FormatArg;
use super::{Format, Verdict, print_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin directory (the kubelet's --network-plugin-dir).
    #[arg(long, value_name = "DIR")]
    plugin_dir: PathBuf,
    #[command(flatten)]
    kubelet: super::opts::SelectionTextsArg,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    directory: String,
    executable: String,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    plugin_dir: String,
    /// Why the directory yielded no plugins, when it could not be read.
    unreadable: Option<&'a str>,
    plugins: Vec<Entry<'a>>,
}

pub fn run(args: Args) -> Result<Verdict> {
    let probe = plugin::probe(&args.plugin_dir);
    let problems = select::problems(
        &probe.plugins,
        SelectionTexts::for_profile(args.kubelet.kubelet.name),
    );
    let entries: Vec<Entry> = probe
        .plugins
        .iter()
        .zip(problems)
        .map(|(p, problems)| Entry {
            name: &p.name,
            directory: p.directory.display().to_string(),
            executable: p.executable.display().to_string(),
            // What the kubelet's validation let through but cannot run.
            problems: if problems.is_empty() {
                p.exec_problem().into_iter().collect()
            } else {
                problems
            },
        })
        .collect();
    let failed = entries.iter().any(|e| !e.problems.is_empty());
    if let Some(why) = &probe.unreadable {
        // Not there, not a directory: a bad argument, never "no plugins, all fine".
        if !args.plugin_dir.is_dir() {
            anyhow::bail!("cannot read plugin directory {why}");
        }
        errln!("execnet: note: cannot read plugin directory {why}; the kubelet sees no plugins");
    }
    match args.format.format {
        Format::Json => print_json(&Report {
            plugin_dir: args.plugin_dir.display().to_string(),
            unreadable: probe.unreadable.as_deref(),
            plugins: entries,
        })?,
        Format::Text => {
            if entries.is_empty() {
                outln!("no plugins in {}", args.plugin_dir.display());
            }
            for e in &entries {
                let mark = if e.problems.is_empty() {
                    "ok  "
                } else {
                    "FAIL"
                };
                outln!("{mark} {}  {}", e.name, e.executable);
                for p in &e.problems {
                    outln!("       {p}");
                }
            }
        }
    }
    Ok(if failed { Verdict::Failed } else { Verdict::Ok })
}
