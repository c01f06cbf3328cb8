//! BENCHMARKS.md and bench.json from one run's measurements.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::{Client, Operation};

/// One client's latency at concurrency 1.
#[derive(Clone, Copy)]
pub struct ClientLatency {
    pub p50: Duration,
    pub p99: Duration,
    /// CPU time of the client's one thread per call.
    pub cpu_per_call: Duration,
}

pub struct Latency {
    pub operation: Operation,
    /// Native, warm, fresh.
    pub clients: [ClientLatency; 3],
}

/// One client's throughput: medians of several runs.
#[derive(Clone, Copy)]
pub struct ClientRate {
    pub per_second: f64,
    /// CPU time of all the client threads per call.
    pub cpu_per_call: Duration,
}

pub struct Throughput {
    pub operation: Operation,
    pub concurrency: usize,
    /// Native, warm, fresh.
    pub clients: [ClientRate; 3],
}

/// Native and warm with the calls on per-core current-thread runtimes.
pub struct PerCoreThroughput {
    pub operation: Operation,
    pub concurrency: usize,
    pub native: ClientRate,
    pub warm: ClientRate,
}

/// The guest's calls into the host per call.
pub struct HostCalls {
    pub operation: Operation,
    pub warm: f64,
    pub fresh: f64,
}

pub struct Setup {
    /// Engine + compile, no cache.
    pub cold: Duration,
    /// Engine + deserialize from the disk cache.
    pub cached: Duration,
    /// Getting a warm instance ready for a call ([`Connector::check`]).
    pub instance_warm: Duration,
    /// A fresh store and instance.
    pub instance_fresh: Duration,
    /// A whole call that the guest rejects before any HTTP, warm and fresh.
    pub rejected_warm: Duration,
    pub rejected_fresh: Duration,
    /// `dixa --version`: the process spawn alone.
    pub spawn: Duration,
    pub cli_cached: Duration,
    pub cli_uncached: Duration,
}

pub struct Sizes {
    pub plain: usize,
    pub service: usize,
    /// The `guest` profile's opt-level.
    pub opt_level: String,
}

/// The shipped guest against the other candidate opt-level.
pub struct OptLevel {
    pub shipped: String,
    pub other: String,
    pub shipped_size: usize,
    pub other_size: usize,
    /// CPU per call (shipped, other) and p50 (shipped, other), warm.
    pub per_operation: Vec<(Operation, [Duration; 2], [Duration; 2])>,
}

pub struct Report {
    pub latencies: Vec<Latency>,
    pub throughputs: Vec<Throughput>,
    pub per_core: Vec<PerCoreThroughput>,
    pub host_calls: Vec<HostCalls>,
    pub setup: Setup,
    pub sizes: Sizes,
    /// The comparison, or why it was not made.
    pub opt_levels: Result<OptLevel, String>,
    /// Bytes per in-flight call: native, warm, fresh.
    pub rss_per_call: Vec<f64>,
}

/// Index of each client in the arrays above.
const NATIVE: usize = 0;
const WARM: usize = 1;
const FRESH: usize = 2;

/// The targets of issue 12, as ratios to native in the default (warm) mode.
const CPU_RATIO: f64 = 3.0;
const THROUGHPUT_RATIO: f64 = 0.6;
const P50_RATIO: f64 = 1.3;
const P99_RATIO: f64 = 1.5;
const INSTANCE_MICROS: f64 = 5.0;
const PLAIN_BYTES: usize = 375_000;
const SERVICE_BYTES: usize = 420_000;

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn ratio(component: Duration, native: Duration) -> f64 {
    component.as_secs_f64() / native.as_secs_f64()
}

/// The table cells "native | warm | ratio | fresh | ratio" of one measure of
/// the three clients (native, warm, fresh).
fn against_native([native, warm, fresh]: [Duration; 3]) -> String {
    format!(
        "{} | {} | {:.2}× | {} | {:.2}×",
        us(native),
        us(warm),
        ratio(warm, native),
        us(fresh),
        ratio(fresh, native)
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

impl Report {
    pub fn write(&self, markdown: &Path) -> Result<()> {
        std::fs::write(markdown, self.markdown())?;
        std::fs::write(
            markdown.with_file_name("bench.json"),
            serde_json::to_string_pretty(&self.json())?,
        )?;
        Ok(())
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Produced by `cargo run --release -p dixa-bench` in one run against one loopback \
             simulator (on a thread of its own): every operation through the `dixa-host` \
             library, in warm instances (the default for the embedded component) and in fresh \
             ones, versus a native Rust client (pooled hyper, the guest's own JSON code compiled \
             natively). Ratios are component / native from the same run; absolute numbers vary \
             with the machine. Latency and CPU per call at concurrency 1 run on one \
             current-thread runtime, so no call crosses threads on either side; throughput runs \
             on a multi-thread runtime with a worker per core, each figure the median of several \
             runs with the clients interleaved. CPU is the client threads' time on a CPU \
             (`/proc/…/schedstat`), the simulator's excluded.\n"
        );
        let _ = writeln!(md, "Machine: {}\n", machine());
        self.targets(&mut md);
        self.latency_tables(&mut md);
        self.throughput_table(&mut md);
        self.per_core_table(&mut md);
        self.host_call_table(&mut md);
        self.setup_table(&mut md);
        self.size_tables(&mut md);
        md.push_str(EXPLANATION);
        md
    }

    fn targets(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "## Targets (warm instances, the default)\n\nAt concurrency 32 on per-core \
             runtimes, as `dixa serve`, `batch` and `mcp` run calls, native on the same; the \
             multi-thread runtime's figures are in the tables below.\n\n\
             | target | measured | |\n|---|---|---|"
        );
        // One row: the target, the measured figure, met or missed.
        let mut row = |target: String, measured: String, met: bool| {
            let _ = writeln!(md, "| {target} | {measured} | {} |", verdict(met));
        };
        for l in &self.latencies {
            let (native, warm) = (l.clients[NATIVE], l.clients[WARM]);
            let name = l.operation.name();
            let cpu = ratio(warm.cpu_per_call, native.cpu_per_call);
            let p50 = ratio(warm.p50, native.p50);
            let p99 = ratio(warm.p99, native.p99);
            row(
                format!("{name} client CPU per call at 1 ≤ {CPU_RATIO}× native"),
                format!("{cpu:.2}×"),
                cpu <= CPU_RATIO,
            );
            row(
                format!("{name} p50 ≤ {P50_RATIO}× native"),
                format!("{p50:.2}×"),
                p50 <= P50_RATIO,
            );
            row(
                format!("{name} p99 ≤ {P99_RATIO}× native"),
                format!("{p99:.2}×"),
                p99 <= P99_RATIO,
            );
        }
        for p in &self.per_core {
            let (name, c) = (p.operation.name(), p.concurrency);
            let cpu = ratio(p.warm.cpu_per_call, p.native.cpu_per_call);
            let r = p.warm.per_second / p.native.per_second;
            row(
                format!("{name} client CPU per call at {c}, per-core ≤ {CPU_RATIO}× native"),
                format!("{cpu:.2}×"),
                cpu <= CPU_RATIO,
            );
            row(
                format!("{name} throughput at {c}, per-core ≥ {THROUGHPUT_RATIO}× native"),
                format!("{r:.2}×"),
                r >= THROUGHPUT_RATIO,
            );
        }
        let instance = self.setup.instance_warm.as_secs_f64() * 1e6;
        row(
            format!("instantiate-or-reuse per call < {INSTANCE_MICROS} µs"),
            format!("{instance:.2} µs"),
            instance < INSTANCE_MICROS,
        );
        row(
            format!("plain component ≤ {}", kb(PLAIN_BYTES)),
            kb(self.sizes.plain),
            self.sizes.plain <= PLAIN_BYTES,
        );
        row(
            format!("service component ≤ {}", kb(SERVICE_BYTES)),
            kb(self.sizes.service),
            self.sizes.service <= SERVICE_BYTES,
        );
        md.push('\n');
    }

    fn latency_tables(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "## Latency at concurrency 1 (one thread)\n\n\
             | operation | native p50 | warm p50 | ratio | fresh p50 | ratio | native p99 | warm p99 | ratio | fresh p99 | ratio |\n\
             |---|---|---|---|---|---|---|---|---|---|---|"
        );
        for l in &self.latencies {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                l.operation.name(),
                against_native(l.clients.map(|c| c.p50)),
                against_native(l.clients.map(|c| c.p99)),
            );
        }
        let _ = writeln!(
            md,
            "\n## Client CPU per call\n\nAt concurrency 1 (one thread) and at 32 (all client \
             threads, median of the runs).\n\n\
             | operation | native, 1 | warm, 1 | ratio | fresh, 1 | ratio | native, 32 | warm, 32 | ratio | fresh, 32 | ratio |\n\
             |---|---|---|---|---|---|---|---|---|---|---|"
        );
        for l in &self.latencies {
            let Some(t) = self
                .throughputs
                .iter()
                .find(|t| t.operation == l.operation && t.concurrency == 32)
            else {
                continue;
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                l.operation.name(),
                against_native(l.clients.map(|c| c.cpu_per_call)),
                against_native(t.clients.map(|c| c.cpu_per_call)),
            );
        }
    }

    fn throughput_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Throughput (calls/s, median of the runs)\n\n\
             | operation | concurrency | native | warm | ratio | fresh | ratio |\n\
             |---|---|---|---|---|---|---|"
        );
        for t in &self.throughputs {
            let c = &t.clients;
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {:.2}× | {:.0} | {:.2}× |",
                t.operation.name(),
                t.concurrency,
                c[NATIVE].per_second,
                c[WARM].per_second,
                c[WARM].per_second / c[NATIVE].per_second,
                c[FRESH].per_second,
                c[FRESH].per_second / c[NATIVE].per_second,
            );
        }
    }

    fn per_core_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Thread-per-core\n\nThe same runs at concurrency 32 with every call task on \
             one of `dixa_host::per_core::PerCore`'s current-thread runtimes (one per core, the \
             connector's connection pool per core; native gets a client per core) next to the \
             multi-thread runtime above.\n\n\
             | operation | native, multi-thread | warm, multi-thread | ratio | native, per-core | warm, per-core | ratio | warm CPU, multi-thread | warm CPU, per-core | native CPU, per-core |\n\
             |---|---|---|---|---|---|---|---|---|---|"
        );
        for p in &self.per_core {
            let Some(multi) = self
                .throughputs
                .iter()
                .find(|t| t.operation == p.operation && t.concurrency == p.concurrency)
            else {
                continue;
            };
            let m = &multi.clients;
            let _ = writeln!(
                md,
                "| {} | {:.0}/s | {:.0}/s | {:.2}× | {:.0}/s | {:.0}/s | {:.2}× | {} | {} | {} |",
                p.operation.name(),
                m[NATIVE].per_second,
                m[WARM].per_second,
                m[WARM].per_second / m[NATIVE].per_second,
                p.native.per_second,
                p.warm.per_second,
                p.warm.per_second / p.native.per_second,
                us(m[WARM].cpu_per_call),
                us(p.warm.cpu_per_call),
                us(p.native.cpu_per_call),
            );
        }
    }

    fn host_call_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Host calls per request\n\nCalls from the guest into the host per operation \
             call (imports, and runtime libcalls such as resource drops), counted with \
             wasmtime's call hook.\n\n| operation | warm | fresh |\n|---|---|---|"
        );
        for h in &self.host_calls {
            let _ = writeln!(
                md,
                "| {} | {:.1} | {:.1} |",
                h.operation.name(),
                h.warm,
                h.fresh
            );
        }
    }

    fn setup_table(&self, md: &mut String) {
        let s = &self.setup;
        let _ = writeln!(md, "\n## Setup\n\n| step | time |\n|---|---|");
        let rows = [
            ("engine + compile (no cache)", ms(s.cold)),
            ("engine + load from the disk cache", ms(s.cached)),
            ("a warm instance taken and put back", us(s.instance_warm)),
            ("a fresh store + instance", us(s.instance_fresh)),
            (
                "a call rejected by validation, warm (instance + guest logic, no HTTP)",
                us(s.rejected_warm),
            ),
            (
                "a call rejected by validation, fresh (adds instantiation and config reads)",
                us(s.rejected_fresh),
            ),
            ("process spawn (`dixa --version`)", ms(s.spawn)),
            ("CLI `tag-conversation`, warm cache", ms(s.cli_cached)),
            ("CLI `tag-conversation`, `--no-cache`", ms(s.cli_uncached)),
        ];
        for (step, time) in rows {
            let _ = writeln!(md, "| {step} | {time} |");
        }
    }

    fn size_tables(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Size and memory\n\n| what | value |\n|---|---|\n\
             | plain component (`guest` profile: opt-level {}, LTO; then `wasm-opt -O3`) | {} bytes |\n\
             | service component | {} bytes |",
            self.sizes.opt_level, self.sizes.plain, self.sizes.service
        );
        for (name, bytes) in ["native", "component, warm", "component, fresh"]
            .iter()
            .zip(&self.rss_per_call)
        {
            let _ = writeln!(
                md,
                "| resident memory per in-flight call, {name} | {:.1} KiB |",
                bytes / 1024.0
            );
        }
        match &self.opt_levels {
            Ok(compared) => md.push_str(&opt_level_table(compared)),
            Err(why) => {
                let _ = writeln!(
                    md,
                    "\n## Guest opt-level\n\nNot measured in this run: {why}."
                );
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        let client = |i: usize| match Client::ALL.get(i) {
            Some(Client::Native) => "native",
            Some(Client::Warm) => "warm",
            Some(Client::Fresh) | None => "fresh",
        };
        json!({
            "machine": machine(),
            "latency": self.latencies.iter().map(|l| json!({
                "operation": l.operation.name(),
                "clients": l.clients.iter().enumerate().map(|(i, c)| json!({
                    "client": client(i),
                    "p50_us": c.p50.as_secs_f64() * 1e6,
                    "p99_us": c.p99.as_secs_f64() * 1e6,
                    "cpu_per_call_us": c.cpu_per_call.as_secs_f64() * 1e6,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "throughput": self.throughputs.iter().map(|t| json!({
                "operation": t.operation.name(),
                "concurrency": t.concurrency,
                "clients": t.clients.iter().enumerate().map(|(i, c)| json!({
                    "client": client(i),
                    "per_s": c.per_second,
                    "cpu_per_call_us": c.cpu_per_call.as_secs_f64() * 1e6,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "per_core": self.per_core.iter().map(|p| json!({
                "operation": p.operation.name(),
                "concurrency": p.concurrency,
                "native_per_s": p.native.per_second,
                "warm_per_s": p.warm.per_second,
                "native_cpu_per_call_us": p.native.cpu_per_call.as_secs_f64() * 1e6,
                "warm_cpu_per_call_us": p.warm.cpu_per_call.as_secs_f64() * 1e6,
            })).collect::<Vec<_>>(),
            "host_calls_per_call": self.host_calls.iter().map(|h| json!({
                "operation": h.operation.name(),
                "warm": h.warm,
                "fresh": h.fresh,
            })).collect::<Vec<_>>(),
            "setup_us": {
                "cold": self.setup.cold.as_secs_f64() * 1e6,
                "cached": self.setup.cached.as_secs_f64() * 1e6,
                "instance_warm": self.setup.instance_warm.as_secs_f64() * 1e6,
                "instance_fresh": self.setup.instance_fresh.as_secs_f64() * 1e6,
                "rejected_warm": self.setup.rejected_warm.as_secs_f64() * 1e6,
                "rejected_fresh": self.setup.rejected_fresh.as_secs_f64() * 1e6,
                "spawn": self.setup.spawn.as_secs_f64() * 1e6,
                "cli_cached": self.setup.cli_cached.as_secs_f64() * 1e6,
                "cli_uncached": self.setup.cli_uncached.as_secs_f64() * 1e6,
            },
            "component_bytes": { "plain": self.sizes.plain, "service": self.sizes.service },
            "opt_level": self.opt_levels.as_ref().ok().map(|o| json!({
                "shipped": o.shipped,
                "other": o.other,
                "shipped_bytes": o.shipped_size,
                "other_bytes": o.other_size,
            })),
            "rss_per_call_bytes": self.rss_per_call,
        })
    }
}

/// The guest opt-level comparison as a Markdown section.
pub fn opt_level_table(o: &OptLevel) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Guest opt-level\n\nThe shipped guest (opt-level {s}) against the same guest \
             built at opt-level {other}, both in warm instances, at concurrency 1 on one \
             thread. Plain component: {} at {s}, {} at {other}.\n\n\
             | operation | CPU, {s} | CPU, {other} | p50, {s} | p50, {other} |\n|---|---|---|---|---|",
        kb(o.shipped_size),
        kb(o.other_size),
        s = o.shipped,
        other = o.other,
    );
    for (operation, cpu, p50) in &o.per_operation {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            operation.name(),
            us(cpu[0]),
            us(cpu[1]),
            us(p50[0]),
            us(p50[1])
        );
    }
    md
}

/// Where the cost goes: from `perf record` on `dixa-bench --profile`, on the
/// development machine (2 cores); rerun it after changing the call path.
const EXPLANATION: &str = "
## Where the remaining cost goes

`perf record -g -- target/release/dixa-bench --profile` (`tag-conversation`, warm \
instances, concurrency 32, per-core runtimes, 20 s) on the development machine, as \
shares of the client threads' samples:

| share | what |
|---|---|
| ~18% | the guest's own code (JIT-compiled): JSON, validation, URL and header handling in waki and the `http` crate |
| ~23% | wasmtime's component glue: lifting and lowering arguments, resource tables, entering and leaving the guest, about 33–46 times per call (see host calls per request) |
| ~4% | wasmtime-wasi-http's host functions and the host's outbound policy (`PolicyHooks::send_request`) |
| ~14% | the runtime's own allocations and copies (libc, unresolved symbols) |
| ~11% | the kernel: TCP on loopback, epoll |
| ~15% | tokio and hyper: tasks, timers, the connection |

The native client's whole cost is about the last two rows. What separates the \
component is per request, not per call set-up: reusing warm instances took the \
instance cost from ~18 µs (a fresh store and instance) to under 1 µs, and per-core \
runtimes removed the cross-thread wake-ups (about a quarter of the component's CPU at \
concurrency 32). The remaining gap is the guest's work and the 33–46 guest-host \
transitions each request makes through `wasi:http`: waki makes a resource and a call \
for every step of a request (fields, request, options, body stream, pollables, future \
response, incoming body), and the project keeps waki by design. Changes kept after \
measuring them: warm instances; per-core runtimes for `serve`, `batch` and `mcp`; \
settings read once per instance (4 host calls fewer per call); a call slot taken \
without arming a timer; the request options wasmtime-wasi-http leaves in the table \
released by the host; binaryen's `wasm-opt -O3` on the guest after rustc (opt-level \
`s`), which made it 16% smaller and a few percent faster (opt-level 3 before \
`wasm-opt` measured the same CPU within noise, 6% larger: see the table above). \
Measured and not kept: opt-level `z` (3% smaller, 3–6% slower). The call hook that \
counts host calls is compiled in and costs under 0.5% of the client's CPU when not \
counting.
";

/// CPU model, cores, memory and kernel, from /proc.
fn machine() -> String {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "?".into(),
            |kb| format!("{:.0} GiB", kb as f64 / 1_048_576.0),
        );
    let kernel = read("/proc/sys/kernel/osrelease");
    format!(
        "{cpu}, {cores} cores, {memory} RAM, Linux {}",
        kernel.trim()
    )
}
