//! `cargo run --release -p dixa-bench`: what the sandbox costs per call.
//!
//! One run, one loopback simulator on threads of its own: every operation
//! through the host library (warm instances, the default, and fresh ones)
//! against a native Rust client doing the same requests. Measured: latency
//! and client CPU per call at concurrency 1 on one thread, throughput as the
//! median of several runs, host calls per request, setup costs, the guest's
//! size and opt-level, memory per in-flight call. Writes bench/BENCHMARKS.md (and
//! bench.json) with the ratios. `--quick` runs a fifth of the calls (for
//! trying changes, not for the record); `--profile` only loops
//! `tag-conversation` calls for `perf record`; `--compare-opt-level LEVEL`
//! only compares the shipped guest with one built at `LEVEL`.

mod cpu;
mod native;
mod report;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dixa_contract::operations as ops;
use dixa_host::per_core::PerCore;
use dixa_host::{
    ApiKey, ComponentSource, Connector, ConnectorBuilder, InstanceReuse, RateLimit, TagInput,
};
use dixa_simulator::examples::{Examples, tag_example};
use dixa_simulator::{DEFAULT_API_KEY, Fault, Simulator};

use crate::native::NativeClient;
use crate::report::{
    ClientLatency, ClientRate, HostCalls, Latency, OptLevel, PerCoreThroughput, Report, Setup,
    Sizes, Throughput,
};

const CONCURRENCIES: [usize; 3] = [1, 8, 32];
/// Interleaved rounds of the three clients: drift on a shared machine then
/// hits all three alike.
const ROUNDS: usize = 5;
/// In-flight calls for the memory measurement.
const IN_FLIGHT: usize = 64;
/// Conversation the list operations read: a few notes and tags, so a list's
/// size does not grow with the calls of the other operations.
const LISTED_CONVERSATION: &str = "7001";
/// Conversation the bulk operation writes to.
const BULK_CONVERSATION: &str = "7002";

/// How many calls each measurement makes.
#[derive(Clone, Copy)]
struct Calls {
    /// Calls before measuring, per client and operation.
    warmup: usize,
    /// Latency samples per client and operation.
    latency: usize,
    /// Calls per throughput run.
    throughput: usize,
    /// Throughput runs per client, operation and concurrency (the median counts).
    runs: usize,
}

const FULL: Calls = Calls {
    warmup: 300,
    latency: 3_000,
    throughput: 4_000,
    runs: 5,
};
const QUICK: Calls = Calls {
    warmup: 100,
    latency: 600,
    throughput: 800,
    runs: 3,
};

/// The operations measured, their inputs, and how the component runs each:
/// from the table, so a new operation is measured with its examples.
macro_rules! bench_operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum Operation {
                $([<$snake:camel>],)*
            }

            impl Operation {
                const ALL: &[Operation] = &[$(Operation::[<$snake:camel>]),*];

                /// Its WIT name, from the contract's table of operations.
                pub fn name(self) -> &'static str {
                    match self {
                        $(Operation::[<$snake:camel>] => ops::$row.name,)*
                    }
                }
            }

            /// Each operation's input: the shared examples, the lists reading
            /// a conversation with a few notes and tags, the bulk call
            /// writing to its own.
            pub struct Inputs {
                $($snake: dixa_contract::types::$input,)*
            }

            impl Inputs {
                fn new() -> Self {
                    let mut inputs = Inputs {
                        $($snake: <dixa_contract::types::$input as Examples>::example(),)*
                    };
                    inputs.list_conversation_tags.conversation_id = LISTED_CONVERSATION.into();
                    inputs.list_internal_notes.conversation_id = LISTED_CONVERSATION.into();
                    inputs.create_internal_notes.conversation_id = BULK_CONVERSATION.into();
                    inputs
                }
            }

            impl Subject {
                async fn call(&self, operation: Operation) -> Result<(), String> {
                    let connector = match &self.target {
                        Target::Native(native) => return native.call(operation, &self.inputs).await,
                        Target::Component(connector) => connector,
                    };
                    let inputs = &self.inputs;
                    let done = match operation {
                        $(Operation::[<$snake:camel>] => {
                            connector.$snake(inputs.$snake.clone()).await.map(drop)
                        })*
                    };
                    done.map_err(|e| e.to_string())
                }
            }
        }
    };
}
dixa_contract::for_each_operation!(bench_operations);

/// Who makes the calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Native,
    /// The component, each call in a warm instance (the default).
    Warm,
    /// The component, each call in a fresh instance.
    Fresh,
}

impl Client {
    const ALL: [Client; 3] = [Client::Native, Client::Warm, Client::Fresh];
}

/// A client ready to call, with the inputs.
#[derive(Clone)]
struct Subject {
    target: Target,
    inputs: Arc<Inputs>,
}

#[derive(Clone)]
enum Target {
    Native(Arc<NativeClient>),
    Component(Arc<Connector>),
}

/// What every measurement builds its clients from.
struct Bench {
    base_url: String,
    cache: PathBuf,
    calls: Calls,
    inputs: Arc<Inputs>,
}

impl Bench {
    /// A connector to the simulator with its key, no rate limit, the cache.
    fn builder(&self) -> Result<ConnectorBuilder> {
        Ok(Connector::builder()
            .base_url(&self.base_url)
            .api_key(ApiKey::new(DEFAULT_API_KEY)?)
            .rate_limit(RateLimit::UNLIMITED)
            .cache_dir(self.cache.clone()))
    }

    fn connector(&self, source: ComponentSource, reuse: InstanceReuse) -> Result<Connector> {
        Ok(self
            .builder()?
            .component(source)
            .instance_reuse(reuse)
            .build()?)
    }

    fn component(&self, reuse: InstanceReuse) -> Result<Subject> {
        let connector = self.connector(ComponentSource::Embedded, reuse)?;
        Ok(self.subject(Target::Component(Arc::new(connector))))
    }

    fn subject(&self, target: Target) -> Subject {
        Subject {
            target,
            inputs: Arc::clone(&self.inputs),
        }
    }

    /// The three clients, new: their connections belong to the runtime that
    /// first uses them, so each measurement's runtime gets its own.
    fn subjects(&self) -> Result<[Subject; 3]> {
        let native = NativeClient::new(self.base_url.clone(), DEFAULT_API_KEY);
        Ok([
            self.subject(Target::Native(Arc::new(native))),
            self.component(InstanceReuse::WARM)?,
            self.component(InstanceReuse::Fresh)?,
        ])
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .iter()
        .skip_while(|a| *a != "--out")
        .nth(1)
        .map_or_else(|| workspace().join("bench/BENCHMARKS.md"), PathBuf::from);
    let calls = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };

    // The simulator gets a runtime (and thread) of its own, like a remote server.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("simulator")
        .enable_all()
        .build()?;
    let simulator = server.block_on(Simulator::start())?;
    let bench = Bench {
        base_url: simulator.base_url(),
        cache: std::env::temp_dir().join(format!("dixa-bench-cache-{}", std::process::id())),
        calls,
        inputs: Arc::new(Inputs::new()),
    };
    if args.iter().any(|a| a == "--profile") {
        return profile(&bench);
    }
    if let Some(level) = args
        .iter()
        .skip_while(|a| *a != "--compare-opt-level")
        .nth(1)
    {
        let compared = opt_levels(&bench, Some(level))?;
        let _ = std::fs::remove_dir_all(&bench.cache);
        println!("{}", report::opt_level_table(&compared));
        return Ok(());
    }
    let dixa = build_cli()?;
    let report = measure(&bench, &simulator, &dixa);
    let _ = std::fs::remove_dir_all(&bench.cache);
    let report = report?;
    report.write(&out)?;
    println!("{}", std::fs::read_to_string(&out)?);
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `--profile`: only `tag-conversation` in warm instances at concurrency 32
/// on per-core runtimes (as `dixa serve` and `batch` run calls) for 20 s, for
/// `perf record`.
fn profile(bench: &Bench) -> Result<()> {
    let cores = PerCore::for_each_core(cpu::CLIENT_THREAD)?;
    let subject = bench.component(InstanceReuse::WARM)?;
    let same = |_: usize, _: usize| Some(subject.clone());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let started = Instant::now();
            let mut calls = 0;
            while started.elapsed() < Duration::from_secs(20) {
                run_per_core(&cores, &same, 1, Operation::TagConversation, 2_000, 32).await?;
                calls += 2_000;
            }
            eprintln!("{calls} calls in {:?}", started.elapsed());
            Ok(())
        })
}

fn measure(bench: &Bench, simulator: &Simulator, dixa: &Path) -> Result<Report> {
    let seed = bench.subject(Target::Native(Arc::new(NativeClient::new(
        bench.base_url.clone(),
        DEFAULT_API_KEY,
    ))));
    on_client_thread(async move { seed_lists(&seed).await })?;

    eprintln!("latency and CPU per call at concurrency 1");
    let subjects = bench.subjects()?;
    let calls = bench.calls;
    let latencies = on_client_thread(async move { latencies(&subjects, calls).await })?;

    eprintln!("throughput");
    let subjects = bench.subjects()?;
    let throughputs = on_client_threads(throughputs(&subjects, calls))?;

    eprintln!("throughput on per-core runtimes");
    let per_core = per_core_throughputs(bench)?;

    eprintln!("host calls per request");
    let host_calls = host_calls(bench)?;

    eprintln!("setup costs");
    let setup = setup_costs(bench, dixa)?;

    eprintln!("memory per in-flight call");
    let mut rss = Vec::new();
    for subject in bench.subjects()? {
        rss.push(on_client_threads(rss_per_call(&subject, simulator))?);
    }

    eprintln!("the guest at another opt-level");
    let opt_levels = if wasm_opt_available() {
        Ok(opt_levels(bench, None)?)
    } else {
        eprintln!("  skipped: binaryen's wasm-opt is not on PATH");
        Err(
            "binaryen's `wasm-opt` was not on `PATH` (e.g. `apt install binaryen`), \
             which the build of the other guest needs"
                .to_owned(),
        )
    };

    Ok(Report {
        latencies,
        throughputs,
        per_core,
        host_calls,
        setup,
        sizes: Sizes {
            plain: dixa_host::EMBEDDED_COMPONENT.len(),
            service: dixa_host::EMBEDDED_SERVICE_COMPONENT.len(),
            opt_level: shipped_opt_level()?,
        },
        opt_levels,
        rss_per_call: rss,
    })
}

/// Gives the listed conversation its notes and tags.
async fn seed_lists(native: &Subject) -> Result<()> {
    let Target::Native(client) = &native.target else {
        bail!("seeding needs the native client");
    };
    let mut seed = Inputs::new();
    seed.create_internal_note.conversation_id = LISTED_CONVERSATION.into();
    seed.tag_conversation.conversation_id = LISTED_CONVERSATION.into();
    for _ in 0..3 {
        client
            .call(Operation::CreateInternalNote, &seed)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    client
        .call(Operation::TagConversation, &seed)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(())
}

/// Runs `work` on a new current-thread runtime on one client thread: every
/// hand-off of a call stays on that thread, for native and component alike.
fn on_client_thread<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    std::thread::Builder::new()
        .name(cpu::CLIENT_THREAD.into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(work)
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
}

/// Runs `work` on a new multi-thread runtime with a worker per core, as an
/// embedder's default tokio runtime would. `work` itself only spawns the
/// calls onto the workers and waits for them.
fn on_client_threads<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(cpu::CLIENT_THREAD)
        .enable_all()
        .build()?
        .block_on(work)
}

/// Latency and the thread's CPU per call, one call at a time on one thread.
async fn latencies(subjects: &[Subject; 3], calls: Calls) -> Result<Vec<Latency>> {
    let mut rows = Vec::new();
    for &operation in Operation::ALL {
        let clients = interleaved(subjects, operation, calls).await?;
        rows.push(Latency { operation, clients });
    }
    Ok(rows)
}

/// `operation` through each of `subjects`, one call at a time on this
/// thread, after a warm-up: the subjects take turns in [`ROUNDS`] rounds, so
/// drift on a shared machine hits them alike.
async fn interleaved<const N: usize>(
    subjects: &[Subject; N],
    operation: Operation,
    calls: Calls,
) -> Result<[ClientLatency; N]> {
    for subject in subjects {
        for _ in 0..calls.warmup {
            subject.call(operation).await.map_err(anyhow::Error::msg)?;
        }
    }
    let mut measured: [(Vec<Duration>, Duration); N] =
        std::array::from_fn(|_| (Vec::new(), Duration::ZERO));
    for _ in 0..ROUNDS {
        for (subject, (samples, cpu)) in subjects.iter().zip(&mut measured) {
            let started_cpu = cpu::this_thread();
            for _ in 0..calls.latency / ROUNDS {
                let started = Instant::now();
                subject.call(operation).await.map_err(anyhow::Error::msg)?;
                samples.push(started.elapsed());
            }
            *cpu += cpu::this_thread().saturating_sub(started_cpu);
        }
    }
    let per_call = (calls.latency / ROUNDS * ROUNDS) as u32;
    Ok(measured.map(|(samples, cpu)| ClientLatency {
        p50: percentile(&samples, 50),
        p99: percentile(&samples, 99),
        cpu_per_call: cpu / per_call,
    }))
}

fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

/// Calls per second and the client threads' CPU per call at each
/// concurrency: the medians of `calls.runs` runs, the clients interleaved.
async fn throughputs(subjects: &[Subject; 3], calls: Calls) -> Result<Vec<Throughput>> {
    let mut rows = Vec::new();
    for &operation in Operation::ALL {
        eprintln!("  {}", operation.name());
        for subject in subjects {
            run(subject, operation, calls.warmup, 8).await?;
        }
        for concurrency in CONCURRENCIES {
            let mut runs: [Vec<RunSample>; 3] = Default::default();
            for _ in 0..calls.runs {
                for (subject, runs) in subjects.iter().zip(&mut runs) {
                    let run = run(subject, operation, calls.throughput, concurrency);
                    runs.push(sampled(calls.throughput, run).await?);
                }
            }
            rows.push(Throughput {
                operation,
                concurrency,
                clients: runs.map(rate),
            });
        }
    }
    Ok(rows)
}

/// One throughput run: calls per second, and the client threads' CPU per call.
type RunSample = (f64, Duration);

/// Times `run`, a run of `calls` calls, on the wall clock and the client
/// threads' CPU.
async fn sampled(calls: usize, run: impl Future<Output = Result<Duration>>) -> Result<RunSample> {
    let started_cpu = cpu::client_threads();
    let wall = run.await?;
    let cpu = cpu::client_threads().saturating_sub(started_cpu);
    Ok((calls as f64 / wall.as_secs_f64(), cpu / calls as u32))
}

/// The median rate and CPU per call of several runs.
fn rate(runs: Vec<RunSample>) -> ClientRate {
    let (mut rates, mut cpus): (Vec<f64>, Vec<Duration>) = runs.into_iter().unzip();
    ClientRate {
        per_second: median(&mut rates),
        cpu_per_call: median(&mut cpus),
    }
}

fn median<T: PartialOrd + Copy + Default>(values: &mut [T]) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// Runs `calls` calls with `concurrency` tasks; the wall time.
async fn run(
    subject: &Subject,
    operation: Operation,
    calls: usize,
    concurrency: usize,
) -> Result<Duration> {
    let subject_for = |_| Some(subject.clone());
    timed_workers(concurrency, calls, operation, subject_for, |worker| {
        tokio::spawn(worker.work())
    })
    .await
}

/// One of the tasks that share a run's calls.
struct Worker {
    subject: Subject,
    operation: Operation,
    /// The run's calls started so far, shared by its workers.
    next: Arc<AtomicUsize>,
    calls: usize,
}

impl Worker {
    async fn work(self) -> Result<(), String> {
        while self.next.fetch_add(1, Ordering::Relaxed) < self.calls {
            self.subject.call(self.operation).await?;
        }
        Ok(())
    }
}

/// `calls` calls shared by `concurrency` workers, worker `i` calling through
/// `subject_for(i)` and started by `spawn`; the wall time.
async fn timed_workers<H>(
    concurrency: usize,
    calls: usize,
    operation: Operation,
    subject_for: impl Fn(usize) -> Option<Subject>,
    spawn: impl Fn(Worker) -> H,
) -> Result<Duration>
where
    H: Future<Output = Result<Result<(), String>, tokio::task::JoinError>>,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..concurrency)
        .map(|i| {
            Ok(spawn(Worker {
                subject: subject_for(i).context("no client")?,
                operation,
                next: Arc::clone(&next),
                calls,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    for worker in workers {
        worker.await?.map_err(anyhow::Error::msg)?;
    }
    Ok(started.elapsed())
}

/// Throughput and client CPU at concurrency 32 with every call task on one of
/// [`PerCore`]'s current-thread runtimes, for native (a client per core, so
/// its connections live there too) and warm instances (the connector's pool
/// per core): medians of the runs, interleaved.
fn per_core_throughputs(bench: &Bench) -> Result<Vec<PerCoreThroughput>> {
    const CONCURRENCY: usize = 32;
    let cores = PerCore::for_each_core(cpu::CLIENT_THREAD)?;
    let natives: Vec<Subject> = (0..cores.threads())
        .map(|_| {
            let native = NativeClient::new(bench.base_url.clone(), DEFAULT_API_KEY);
            bench.subject(Target::Native(Arc::new(native)))
        })
        .collect();
    let warm = bench.component(InstanceReuse::WARM)?;
    let calls = bench.calls;
    let waiter = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    waiter.block_on(async {
        let mut rows = Vec::new();
        for &operation in Operation::ALL {
            let mut runs: [Vec<RunSample>; 2] = Default::default();
            let subjects = |client: usize, worker: usize| match client {
                0 => natives.get(worker % natives.len()).cloned(),
                _ => Some(warm.clone()),
            };
            for client in 0..2 {
                run_per_core(&cores, &subjects, client, operation, calls.warmup, 8).await?;
            }
            for _ in 0..calls.runs {
                for (client, runs) in runs.iter_mut().enumerate() {
                    let run = run_per_core(
                        &cores,
                        &subjects,
                        client,
                        operation,
                        calls.throughput,
                        CONCURRENCY,
                    );
                    runs.push(sampled(calls.throughput, run).await?);
                }
            }
            let [native_rate, warm_rate] = runs.map(rate);
            rows.push(PerCoreThroughput {
                operation,
                concurrency: CONCURRENCY,
                native: native_rate,
                warm: warm_rate,
            });
        }
        Ok(rows)
    })
}

/// [`run`] with worker `i` on core `i % cores`, calling through
/// `subjects(client, i)`.
async fn run_per_core(
    cores: &PerCore,
    subjects: &impl Fn(usize, usize) -> Option<Subject>,
    client: usize,
    operation: Operation,
    calls: usize,
    concurrency: usize,
) -> Result<Duration> {
    let subject_for = |worker| subjects(client, worker);
    timed_workers(concurrency, calls, operation, subject_for, |worker| {
        cores.spawn(worker.work())
    })
    .await
}

/// The guest's calls into the host (imports and runtime libcalls) per call of
/// each operation, in warm and in fresh instances.
fn host_calls(bench: &Bench) -> Result<Vec<HostCalls>> {
    const CALLS: u64 = 100;
    let counted = |reuse| -> Result<Subject> {
        let connector = bench
            .builder()?
            .instance_reuse(reuse)
            .count_host_calls(true)
            .build()?;
        Ok(bench.subject(Target::Component(Arc::new(connector))))
    };
    let warm = counted(InstanceReuse::WARM)?;
    let fresh = counted(InstanceReuse::Fresh)?;
    on_client_thread(async move {
        let mut rows = Vec::new();
        for &operation in Operation::ALL {
            let mut per_call = [0.0; 2];
            for (subject, per_call) in [&warm, &fresh].into_iter().zip(&mut per_call) {
                let Target::Component(connector) = &subject.target else {
                    bail!("host calls are counted on the component");
                };
                // The first call of a warm instance reads its config.
                subject.call(operation).await.map_err(anyhow::Error::msg)?;
                let before = connector.host_calls().unwrap_or_default();
                for _ in 0..CALLS {
                    subject.call(operation).await.map_err(anyhow::Error::msg)?;
                }
                let after = connector.host_calls().unwrap_or_default();
                *per_call = (after - before) as f64 / CALLS as f64;
            }
            rows.push(HostCalls {
                operation,
                warm: per_call[0],
                fresh: per_call[1],
            });
        }
        Ok(rows)
    })
}

/// Median of `runs` timings of `f`.
fn median_of<F>(runs: usize, mut f: F) -> Result<Duration>
where
    F: FnMut() -> Result<Duration>,
{
    let mut samples = (0..runs).map(|_| f()).collect::<Result<Vec<_>>>()?;
    Ok(median(&mut samples))
}

fn setup_costs(bench: &Bench, dixa: &Path) -> Result<Setup> {
    let build = |cache: Option<PathBuf>| {
        let started = Instant::now();
        let builder = Connector::builder().base_url(&bench.base_url);
        match cache {
            Some(dir) => builder.cache_dir(dir),
            None => builder,
        }
        .build()
        .map(|_| started.elapsed())
        .map_err(anyhow::Error::from)
    };
    let cold = median_of(5, || build(None))?;
    build(Some(bench.cache.clone()))?;
    let cached = median_of(21, || build(Some(bench.cache.clone())))?;

    let warm = Arc::new(bench.connector(ComponentSource::Embedded, InstanceReuse::WARM)?);
    let fresh = Arc::new(bench.connector(ComponentSource::Embedded, InstanceReuse::Fresh)?);
    let (instance_warm, instance_fresh, rejected_warm, rejected_fresh) =
        on_client_thread(async move {
            Ok((
                per_call(|| warm.check()).await?,
                per_call(|| fresh.check()).await?,
                per_call(|| rejected(&warm)).await?,
                per_call(|| rejected(&fresh)).await?,
            ))
        })?;

    let cli = |args: &[&str]| {
        let started = Instant::now();
        let status = Command::new(dixa)
            .args(args)
            .env("DIXA_API_KEY", DEFAULT_API_KEY)
            .env("DIXA_CACHE_DIR", &bench.cache)
            .env("DIXA_BASE_URL", &bench.base_url)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("dixa {args:?} failed: {status}");
        }
        Ok(started.elapsed())
    };
    let tag = serde_json::to_string(&tag_example())?;
    let spawn = median_of(21, || cli(&["--version"]))?;
    let cli_cached = median_of(21, || cli(&["tag-conversation", &tag]))?;
    let cli_uncached = median_of(11, || cli(&["--no-cache", "tag-conversation", &tag]))?;
    Ok(Setup {
        cold,
        cached,
        instance_warm,
        instance_fresh,
        rejected_warm,
        rejected_fresh,
        spawn,
        cli_cached,
        cli_uncached,
    })
}

/// A call the guest rejects before any HTTP: instance, config, validation.
async fn rejected(connector: &Connector) -> Result<(), dixa_host::Error> {
    let invalid = TagInput {
        conversation_id: String::new(),
        tag_id: "t".into(),
    };
    match connector.tag_conversation(invalid).await {
        Ok(_) => Err(dixa_host::Error::component("an empty id was accepted")),
        Err(dixa_host::Error::Connector(dixa_host::ConnectorError::InvalidInput { .. })) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Mean time of `call` over 10,000 calls, after 1,000 to warm up.
async fn per_call<F, Fut>(mut call: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), dixa_host::Error>>,
{
    for _ in 0..1_000 {
        call().await?;
    }
    let calls = 10_000;
    let started = Instant::now();
    for _ in 0..calls {
        call().await?;
    }
    Ok(started.elapsed() / calls)
}

/// Resident memory added per in-flight call: `IN_FLIGHT` calls held open by
/// the simulator, resident set sampled while they wait.
async fn rss_per_call(subject: &Subject, simulator: &Simulator) -> Result<f64> {
    run(subject, Operation::TagConversation, 200, IN_FLIGHT).await?;
    let baseline = rss_bytes()?;
    for _ in 0..IN_FLIGHT {
        simulator.inject(Fault::Delay(Duration::from_millis(400)));
    }
    let running = {
        let subject = subject.clone();
        tokio::spawn(async move {
            run(&subject, Operation::TagConversation, IN_FLIGHT, IN_FLIGHT).await
        })
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

/// The shipped guest against the same guest built at opt-level `other` (by
/// default the other candidate: 3 against "s", else "s"), both in warm
/// instances: size, CPU and p50 per call at concurrency 1, interleaved on one
/// thread. `--compare-opt-level LEVEL` runs only this.
fn opt_levels(bench: &Bench, other: Option<&str>) -> Result<OptLevel> {
    let shipped = shipped_opt_level()?;
    let other = other.unwrap_or(if shipped == "3" { "s" } else { "3" });
    std::fs::create_dir_all(&bench.cache)?;
    let wasm = bench.cache.join(format!("guest-opt-{other}.wasm"));
    guest_build::build_optimized_component(
        &workspace(),
        &guest_build::ComponentBuild::guest(&[], "bench-guest"),
        &wasm,
        Some(other),
    )
    .map_err(anyhow::Error::msg)?;
    let other_bytes = std::fs::read(&wasm)?;
    let other_size = other_bytes.len();
    let subjects = [
        bench.component(InstanceReuse::WARM)?,
        bench.subject(Target::Component(Arc::new(bench.connector(
            ComponentSource::Bytes(other_bytes),
            InstanceReuse::WARM,
        )?))),
    ];
    let calls = bench.calls;
    let cpu = on_client_thread(async move {
        let mut rows = Vec::new();
        for &operation in Operation::ALL {
            let [shipped, other] = interleaved(&subjects, operation, calls).await?;
            rows.push((
                operation,
                [shipped.cpu_per_call, other.cpu_per_call],
                [shipped.p50, other.p50],
            ));
        }
        Ok(rows)
    })?;
    Ok(OptLevel {
        shipped,
        other: other.to_owned(),
        shipped_size: dixa_host::EMBEDDED_COMPONENT.len(),
        other_size,
        per_operation: cpu,
    })
}

/// Whether binaryen's `wasm-opt`, which guest builds run, can be started.
fn wasm_opt_available() -> bool {
    Command::new("wasm-opt")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The `opt-level` of the `guest` profile in the workspace's Cargo.toml.
fn shipped_opt_level() -> Result<String> {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml"))?;
    let profile = manifest
        .split("[profile.guest]")
        .nth(1)
        .context("no [profile.guest] in Cargo.toml")?;
    let level = profile
        .lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| line.trim().strip_prefix("opt-level"))
        .context("no opt-level in [profile.guest]")?;
    Ok(level
        .trim_start_matches([' ', '='])
        .trim()
        .trim_matches('"')
        .to_owned())
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
