//! `cargo run --release -p dixa-bench`: what the sandbox costs per call.
//!
//! One run, one loopback simulator: the connector component through the host
//! library against a native Rust client doing the same requests, plus the
//! component's setup costs, the CLI's start-up, the component's size and memory
//! per in-flight call. Writes BENCHMARKS.md (and bench.json) with the ratios.

mod native;
mod report;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dixa_host::{ApiKey, Connector, RateLimit};
use dixa_simulator::examples::{message_example, note_example, tag_example};
use dixa_simulator::{DEFAULT_API_KEY, Fault, Simulator};

use crate::native::NativeClient;
use crate::report::{Latency, Report, Setup, Throughput};

/// Calls per latency sample and per throughput run.
const CALLS: usize = 2_000;
/// Calls before measuring, to warm connections and caches.
const WARMUP: usize = 200;
const CONCURRENCIES: [usize; 3] = [1, 8, 32];
/// In-flight calls for the memory measurement.
const IN_FLIGHT: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Note,
    Message,
    Tag,
}

impl Operation {
    const ALL: [Operation; 3] = [Operation::Note, Operation::Message, Operation::Tag];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Note => "create-internal-note",
            Operation::Message => "add-message",
            Operation::Tag => "tag-conversation",
        }
    }
}

/// What is measured: the native client or the component.
#[derive(Clone)]
enum Subject {
    Native(Arc<NativeClient>),
    Component(Arc<Connector>),
}

impl Subject {
    async fn call(&self, operation: Operation) -> Result<(), String> {
        match (self, operation) {
            (Subject::Native(c), Operation::Note) => {
                c.create_internal_note(&note_example()).await.map(drop)
            }
            (Subject::Native(c), Operation::Message) => {
                c.add_message(&message_example()).await.map(drop)
            }
            (Subject::Native(c), Operation::Tag) => c.tag_conversation(&tag_example()).await,
            (Subject::Component(c), Operation::Note) => c
                .create_internal_note(note_example())
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            (Subject::Component(c), Operation::Message) => c
                .add_message(message_example())
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            (Subject::Component(c), Operation::Tag) => c
                .tag_conversation(tag_example())
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}

fn main() -> Result<()> {
    let out = std::env::args()
        .skip_while(|a| a != "--out")
        .nth(1)
        .map_or_else(|| workspace().join("BENCHMARKS.md"), PathBuf::from);
    if std::env::args().any(|a| a == "--profile") {
        return profile();
    }
    let dixa = build_cli()?;

    // The simulator gets a runtime (and thread) of its own, like a remote server.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let simulator = server.block_on(Simulator::start())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(measure(&simulator, &dixa))?;

    report.write(&out)?;
    println!("{}", std::fs::read_to_string(&out)?);
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `--profile`: only component calls (tag-conversation, concurrency 8) for 10 s,
/// to run under `perf record`.
fn profile() -> Result<()> {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let simulator = server.block_on(Simulator::start())?;
    let connector = Connector::builder()
        .base_url(simulator.base_url())
        .api_key(ApiKey::new(DEFAULT_API_KEY).ok())
        .rate_limit(RateLimit::UNLIMITED)
        .build()?;
    let component = Subject::Component(Arc::new(connector));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let started = Instant::now();
        let mut calls = 0;
        while started.elapsed() < Duration::from_secs(10) {
            run(&component, Operation::Tag, 1_000, 8).await?;
            calls += 1_000;
        }
        eprintln!("{calls} calls in {:?}", started.elapsed());
        Ok(())
    })
}

async fn measure(simulator: &Simulator, dixa: &Path) -> Result<Report> {
    let base_url = simulator.base_url();
    let native = Subject::Native(Arc::new(NativeClient::new(
        base_url.clone(),
        DEFAULT_API_KEY,
    )));
    let connector = Arc::new(
        Connector::builder()
            .base_url(&base_url)
            .api_key(ApiKey::new(DEFAULT_API_KEY).ok())
            .rate_limit(RateLimit::UNLIMITED)
            .build()?,
    );
    let component = Subject::Component(Arc::clone(&connector));

    let mut latencies = Vec::new();
    let mut throughputs = Vec::new();
    for operation in Operation::ALL {
        eprintln!("{}: latency and throughput", operation.name());
        for subject in [&native, &component] {
            run(subject, operation, WARMUP, 1).await?;
        }
        let native_samples = latency(&native, operation).await?;
        let component_samples = latency(&component, operation).await?;
        latencies.push(Latency::new(operation, &native_samples, &component_samples));
        for concurrency in CONCURRENCIES {
            let native_rate = CALLS as f64
                / run(&native, operation, CALLS, concurrency)
                    .await?
                    .as_secs_f64();
            let component_rate = CALLS as f64
                / run(&component, operation, CALLS, concurrency)
                    .await?
                    .as_secs_f64();
            throughputs.push(Throughput {
                operation,
                concurrency,
                native: native_rate,
                component: component_rate,
            });
        }
    }

    eprintln!("setup costs");
    let setup = setup_costs(&base_url, &connector, dixa, simulator).await?;
    eprintln!("memory per in-flight call");
    let native_rss = rss_per_call(&native, simulator).await?;
    let component_rss = rss_per_call(&component, simulator).await?;

    Ok(Report {
        latencies,
        throughputs,
        setup,
        component_bytes: dixa_host::EMBEDDED_COMPONENT.len(),
        rss_per_call_native: native_rss,
        rss_per_call_component: component_rss,
    })
}

/// Per-call latency, one call at a time.
async fn latency(subject: &Subject, operation: Operation) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        subject.call(operation).await.map_err(anyhow::Error::msg)?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// Runs `calls` calls with `concurrency` workers; the wall time.
async fn run(
    subject: &Subject,
    operation: Operation,
    calls: usize,
    concurrency: usize,
) -> Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (subject, next) = (subject.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    subject.call(operation).await?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for worker in workers {
        worker.await?.map_err(anyhow::Error::msg)?;
    }
    Ok(started.elapsed())
}

/// Median of `runs` timings of `f`.
async fn median<F, Fut>(runs: usize, mut f: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Duration>>,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(f().await?);
    }
    samples.sort();
    samples
        .get(samples.len() / 2)
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no samples"))
}

async fn setup_costs(
    base_url: &str,
    connector: &Connector,
    dixa: &Path,
    simulator: &Simulator,
) -> Result<Setup> {
    let build = |cache: Option<PathBuf>| {
        let started = Instant::now();
        Connector::builder()
            .base_url(base_url)
            .cache_dir(cache)
            .build()
            .map(|_| started.elapsed())
            .map_err(anyhow::Error::from)
    };
    let cache = std::env::temp_dir().join(format!("dixa-bench-cache-{}", std::process::id()));
    let cold = median(5, || async { build(None) }).await?;
    build(Some(cache.clone()))?;
    let cached = median(21, || async { build(Some(cache.clone())) }).await?;

    for _ in 0..1_000 {
        connector.check().await?;
    }
    let instantiations = 10_000;
    let started = Instant::now();
    for _ in 0..instantiations {
        connector.check().await?;
    }
    let instantiate = started.elapsed() / instantiations;
    let started = Instant::now();
    for _ in 0..instantiations {
        let invalid = dixa_host::TagInput {
            conversation_id: String::new(),
            tag_id: "t".into(),
        };
        if connector.tag_conversation(invalid).await.is_ok() {
            bail!("an empty conversation id was accepted");
        }
    }
    let rejected_call = started.elapsed() / instantiations;

    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let cache = cache.clone();
        let base_url = simulator.base_url();
        let dixa = dixa.to_owned();
        async move {
            let started = Instant::now();
            let status = Command::new(&dixa)
                .args(&args)
                .env("DIXA_API_KEY", DEFAULT_API_KEY)
                .env("DIXA_CACHE_DIR", &cache)
                .env("DIXA_BASE_URL", base_url)
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                bail!("dixa {args:?} failed: {status}");
            }
            Ok(started.elapsed())
        }
    };
    let tag = serde_json::to_string(&tag_example())?;
    let spawn = median(21, || cli(&["--version"])).await?;
    let cli_cached = median(21, || cli(&["tag-conversation", &tag])).await?;
    let cli_uncached = median(11, || cli(&["--no-cache", "tag-conversation", &tag])).await?;
    let _ = std::fs::remove_dir_all(&cache);
    Ok(Setup {
        cold,
        cached,
        instantiate,
        rejected_call,
        spawn,
        cli_cached,
        cli_uncached,
    })
}

/// Resident memory added per in-flight call: `IN_FLIGHT` calls held open by
/// the simulator, resident set sampled while they wait.
async fn rss_per_call(subject: &Subject, simulator: &Simulator) -> Result<f64> {
    run(subject, Operation::Tag, 100, IN_FLIGHT).await?;
    let baseline = rss_bytes()?;
    for _ in 0..IN_FLIGHT {
        simulator.inject(Fault::Delay(Duration::from_millis(400)));
    }
    let running = {
        let subject = subject.clone();
        tokio::spawn(async move { run(&subject, Operation::Tag, IN_FLIGHT, IN_FLIGHT).await })
    };
    let mut peak = baseline;
    while !running.is_finished() {
        peak = peak.max(rss_bytes()?);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.await??;
    Ok(peak.saturating_sub(baseline) as f64 / IN_FLIGHT as f64)
}

fn rss_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kb * 1024)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the `dixa` binary beside this one (a no-op when it is up to date).
fn build_cli() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "dixa-cli",
            "--bin",
            "dixa",
        ])
        .status()?;
    if !status.success() {
        bail!("building the dixa CLI failed");
    }
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name("dixa"))
}
