//! Live progress of a certification run, drawn from the runner's events
//! ([`Progress`](crate::certify::Progress)) and written to a stream (stderr): a line per
//! scenario with the calls made, the failed calls so far and the elapsed time. Scenarios can
//! run several at once (`certify --jobs`). [`Style::Live`] redraws the line of the oldest
//! running scenario in place (carriage return, a ticker thread keeps the clock moving while a
//! plugin hangs; `+N running` counts the others) and leaves each finished scenario's line
//! behind as it ends; [`Style::Lines`] prints plain lines, one when a scenario starts and one
//! when it ends, for logs. Colour goes
//! through `anstyle` and is kept or stripped by the stream (`anstream` honours `NO_COLOR`,
//! `CLICOLOR_FORCE` and whether the stream is a terminal).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style as Paint};

use crate::certify::Progress;
use crate::plugin::{CallRecord, StatusResult};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One line per scenario, redrawn in place while it runs (for a terminal).
    Live,
    /// Plain lines at the start and end of each scenario (for logs).
    Lines,
}

/// How often the live line's clock is redrawn while nothing else happens.
const TICK: Duration = Duration::from_millis(200);

/// The observer of one run: feed it every [`Progress`] event, then [`finish`](Self::finish).
pub struct ProgressReporter {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressReporter")
            .field("style", &self.lock().style)
            .finish_non_exhaustive()
    }
}

struct Shared {
    out: Box<dyn Write + Send>,
    style: Style,
    /// The scenarios running now, oldest first.
    running: Vec<Running>,
    /// Characters of the live line now on screen (to blank what a shorter redraw leaves).
    drawn: usize,
}

struct Running {
    name: String,
    index: usize,
    total: usize,
    started: Instant,
    calls: usize,
    failed: usize,
}

/// A call that did not succeed as the kubelet saw it: a failed process, or a status the kubelet
/// could not use.
fn call_failed(call: &CallRecord) -> bool {
    call.outcome().error().is_some()
        || matches!(
            call.status,
            Some(StatusResult::Error { .. } | StatusResult::NotJudged { .. })
        )
}

impl ProgressReporter {
    pub fn new(style: Style, out: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            out,
            style,
            running: Vec::new(),
            drawn: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        // The ticker only redraws the elapsed time between events; if the OS refuses a thread
        // the line is still drawn on every event (never a panic).
        let ticker = (style == Style::Live).then(|| {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::park_timeout(TICK);
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                        if !s.running.is_empty() {
                            s.draw_live();
                        }
                    }
                })
        });
        let ticker = ticker.and_then(Result::ok);
        ProgressReporter {
            shared,
            stop,
            ticker,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take one event of the run.
    pub fn event(&self, event: Progress) {
        let mut s = self.lock();
        match event {
            Progress::ScenarioStarted { name, index, total } => {
                s.running.push(Running {
                    name: name.to_string(),
                    index,
                    total,
                    started: Instant::now(),
                    calls: 0,
                    failed: 0,
                });
                match s.style {
                    Style::Live => s.draw_live(),
                    Style::Lines => {
                        let line = s.line(s.running.len() - 1, "start");
                        s.write_line(&line);
                    }
                }
            }
            Progress::CallFinished { scenario, call, .. } => {
                if let Some(r) = s.running.iter_mut().find(|r| r.name == scenario) {
                    r.calls += 1;
                    r.failed += usize::from(call_failed(call));
                }
                if s.style == Style::Live {
                    s.draw_live();
                }
            }
            Progress::ScenarioFinished { name, .. } => {
                let Some(at) = s.running.iter().position(|r| r.name == name) else {
                    return;
                };
                match s.style {
                    Style::Live => {
                        // Its final line replaces the live line; the live line moves below.
                        let line = s.line(at, "");
                        s.draw(&line, true);
                        s.running.remove(at);
                        if !s.running.is_empty() {
                            s.draw_live();
                        }
                    }
                    Style::Lines => {
                        let line = s.line(at, "done");
                        s.write_line(&line);
                        s.running.remove(at);
                    }
                }
            }
        }
    }

    /// Stop the ticker and leave the stream at the start of a fresh line.
    pub fn finish(mut self) {
        self.stop_ticker();
        let mut s = self.lock();
        if s.style == Style::Live {
            for at in 0..s.running.len() {
                let line = s.line(at, "");
                s.draw(&line, true);
            }
            s.running.clear();
        }
        let _ = s.out.flush();
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for ProgressReporter {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

impl Shared {
    /// `[3/7] parallel-pods  48 calls  2 failed  1.2s` for the running scenario `at`, `verb`
    /// first in `Lines` style.
    fn line(&self, at: usize, verb: &str) -> String {
        let Some(r) = self.running.get(at) else {
            return String::new();
        };
        let dim = Paint::new().dimmed();
        let bold = Paint::new().bold();
        let red = Paint::new().fg_color(Some(AnsiColor::Red.into())).bold();
        let failed = if r.failed > 0 {
            format!("{red}{} failed{red:#}", r.failed)
        } else {
            format!("{} failed", r.failed)
        };
        let counter = format!("[{}/{}]", r.index + 1, r.total);
        let counter_width = 3 + 2 * r.total.to_string().len();
        let mut line = String::new();
        if self.style == Style::Lines {
            line.push_str(&format!("{verb:<5} "));
        }
        line.push_str(&format!(
            "{dim}{counter:>counter_width$}{dim:#} {bold}{}{bold:#}",
            super::escape_controls(&r.name, &[])
        ));
        if verb != "start" {
            let pad = 24usize.saturating_sub(r.name.chars().count());
            line.push_str(&format!(
                "{:pad$} {:>4} calls  {failed}  {:.1}s",
                "",
                r.calls,
                r.started.elapsed().as_secs_f64()
            ));
        }
        line
    }

    fn write_line(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// Redraw the live line in place: the oldest running scenario, and how many others run.
    fn draw_live(&mut self) {
        let mut line = self.line(0, "");
        if self.running.len() > 1 {
            let dim = Paint::new().dimmed();
            line.push_str(&format!(
                "  {dim}+{} running{dim:#}",
                self.running.len() - 1
            ));
        }
        self.draw(&line, false);
    }

    /// Write `line` over the live line; `done` ends it with a newline.
    fn draw(&mut self, line: &str, done: bool) {
        let width = visible_width(line);
        let pad = self.drawn.saturating_sub(width);
        let _ = write!(self.out, "\r{line}{:pad$}", "");
        if done {
            let _ = writeln!(self.out);
            self.drawn = 0;
        } else {
            self.drawn = width;
        }
        let _ = self.out.flush();
    }
}

/// The width of `text` without its styling.
fn visible_width(text: &str) -> usize {
    anstream::adapter::strip_str(text)
        .to_string()
        .chars()
        .count()
}
