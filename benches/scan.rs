//! Scan benchmark: the full scan of a corpus beside the time to merely read it.
//!
//! Run with `cargo bench --bench scan`. It scans
//! `../shared/corpus/quickstart-all` (relative to the crate root) unless a
//! path is given as an argument (`cargo bench --bench scan -- PATH`) or in the
//! `BENCH_CORPUS` environment variable. `BENCH_RUNS` sets how many timed runs
//! each measurement takes (default 5; the best one is reported).
//!
//! What it prints:
//! - the corpus: files (as `discover::walk` finds them) and bytes;
//! - the READ FLOOR: `discover::walk` plus `std::fs::read` of every file, on
//!   one thread and on as many threads as the scan uses (one per core);
//! - the FULL SCAN through the library (`aks_authorized_ips::scan`), on all
//!   cores as the CLI runs it, and on one thread for a like-for-like figure;
//! - files/s and MB/s of the scan, and the ratio scan / read floor against the
//!   FASTER of the two read floors (the stricter comparison). The target is
//!   2.0x or less; it is printed, not asserted;
//! - PEAK MEMORY of a full scan: the release binary runs as a child process
//!   (`scan CORPUS --format json --output /dev/null`) and its own maximum
//!   resident set size is read from `wait4(2)`'s `rusage` (Linux reports
//!   `ru_maxrss` in KiB), with the wall time of that run.
//!
//! Every timing is taken after one untimed warm-up run, so the reads and the
//! scan all see a warm page cache. Beside each best wall time it prints the
//! least CPU time (user + system, all threads, from `getrusage`), which stays
//! steadier than wall time when other work shares the machine; the load
//! average at start says whether it did.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aks_authorized_ips::discover::{self, Candidate, Filters};
use aks_authorized_ips::ScanOptions;

const DEFAULT_CORPUS: &str = "../shared/corpus/quickstart-all";
const TARGET_RATIO: f64 = 2.0;
const BIN_NAME: &str = "aks-authorized-ips";

fn main() {
    let corpus = corpus_path();
    if !corpus.is_dir() {
        println!("skipped: corpus not found at {}", corpus.display());
        return;
    }
    let corpus = corpus.canonicalize().unwrap_or(corpus);
    let runs = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let roots = vec![corpus.clone()];
    let base = corpus.clone();

    let (files, _) = discover::walk(&roots, &Filters::default(), &base);
    if files.is_empty() {
        println!("skipped: no .json/.jsonc files under {}", corpus.display());
        return;
    }
    let bytes: u64 = files
        .iter()
        .filter_map(|c| std::fs::metadata(&c.path).ok())
        .map(|m| m.len())
        .sum();
    let mb = bytes as f64 / 1e6;

    println!("aks-authorized-ips scan benchmark");
    println!("  corpus:          {}", corpus.display());
    println!(
        "  files:           {} (.json/.jsonc, as discover::walk finds them)",
        files.len()
    );
    println!(
        "  size:            {bytes} bytes = {mb:.1} MB = {:.1} MiB",
        bytes as f64 / 1_048_576.0
    );
    println!("  cores:           {cores}");
    println!(
        "  load average:    {} (at start; a busy machine makes wall times noisy)",
        load_average()
    );
    println!("  timing:          best wall time of {runs} runs after 1 warm-up (warm page cache);");
    println!("                   cpu = least user+system CPU time of any run, all threads");
    println!();

    // The read floors: walk + read every file, as the scan must at least do.
    let read_1 = best_of(runs, || read_all(&roots, &base, 1));
    let read_n = best_of(runs, || read_all(&roots, &base, cores));
    let (read_floor, read_label) = if read_n.wall <= read_1.wall {
        (read_n.wall, format!("{cores}-thread"))
    } else {
        (read_1.wall, "1-thread".to_string())
    };
    println!("READ FLOOR (discover::walk + std::fs::read of every file)");
    println!(
        "  1 thread:        {}  cpu {}  ({} bytes read)",
        ms(read_1.wall),
        ms(read_1.cpu),
        read_1.value
    );
    println!(
        "  {cores} threads:       {}  cpu {}  ({} bytes read)",
        ms(read_n.wall),
        ms(read_n.cpu),
        read_n.value
    );
    println!();

    // The full scan through the library, as the CLI runs it (all cores).
    let scan_n = best_of(runs, || scan_once(&roots, &base, 0));
    let scan_1 = best_of(runs, || scan_once(&roots, &base, 1));
    let stats = scan_n.value;
    let rate = |wall: Duration| {
        format!(
            "{:6.0} files/s {:6.1} MB/s",
            files.len() as f64 / wall.as_secs_f64(),
            mb / wall.as_secs_f64()
        )
    };
    println!("FULL SCAN (aks_authorized_ips::scan, report not rendered)");
    println!(
        "  all cores ({cores}):   {}  cpu {}  {}",
        ms(scan_n.wall),
        ms(scan_n.cpu),
        rate(scan_n.wall)
    );
    println!(
        "  1 thread:        {}  cpu {}  {}",
        ms(scan_1.wall),
        ms(scan_1.cpu),
        rate(scan_1.wall)
    );
    println!(
        "  found:           {} templates, {} parameter files, {} cluster evaluations, {} findings, {} errors",
        stats.templates, stats.parameter_files, stats.resources, stats.findings, stats.errors
    );
    println!();

    let ratio = scan_n.wall.as_secs_f64() / read_floor.as_secs_f64();
    let ratio_1 = scan_1.wall.as_secs_f64() / read_1.wall.as_secs_f64();
    let ratio_cpu = scan_1.cpu.as_secs_f64() / read_1.cpu.as_secs_f64();
    println!("RATIO");
    println!(
        "  scan (all cores) / read floor ({read_label}, the faster): {ratio:.2}x  (target <= {TARGET_RATIO:.1}x: {})",
        if ratio <= TARGET_RATIO { "met" } else { "NOT met" }
    );
    println!("  scan (1 thread) / read floor (1 thread), wall:  {ratio_1:.2}x  (for information)");
    println!(
        "  scan (1 thread) / read floor (1 thread), cpu:   {ratio_cpu:.2}x  (for information)"
    );
    println!();

    println!("PEAK MEMORY (release binary as a child process, max RSS from wait4)");
    match locate_binary() {
        Ok(bin) => peak_memory(&bin, &corpus, runs.min(3)),
        Err(e) => println!("  skipped: {e}"),
    }
}

/// The corpus: the first argument that is not a flag (cargo bench passes
/// `--bench`), else `BENCH_CORPUS`, else the default beside the crate.
fn corpus_path() -> PathBuf {
    if let Some(arg) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        return PathBuf::from(arg);
    }
    if let Some(dir) = std::env::var_os("BENCH_CORPUS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CORPUS)
}

/// The fastest of several runs: its wall time, the least process CPU time
/// (user + system, all threads) of any run, and the fastest run's value.
struct Best<T> {
    wall: Duration,
    cpu: Duration,
    value: T,
}

/// Runs `f` once to warm up, then `runs` times.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Best<T> {
    let value = f();
    let mut best: Option<Best<T>> = None;
    for _ in 0..runs {
        let cpu_start = cpu_time();
        let start = Instant::now();
        let value = std::hint::black_box(f());
        let wall = start.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_start);
        best = Some(match best {
            None => Best { wall, cpu, value },
            Some(b) if wall < b.wall => Best {
                wall,
                cpu: cpu.min(b.cpu),
                value,
            },
            Some(b) => Best {
                cpu: cpu.min(b.cpu),
                ..b
            },
        });
    }
    best.unwrap_or(Best {
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        value,
    })
}

/// User + system CPU time of this process so far, all threads.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value; getrusage fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The load average when the bench starts: figures taken on a busy machine
/// are noisy, and the CPU times are then the steadier ones.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Walks the corpus as the scan does and reads every file on `threads`
/// threads; returns the bytes read.
fn read_all(roots: &[PathBuf], base: &Path, threads: usize) -> u64 {
    let (files, _) = discover::walk(roots, &Filters::default(), base);
    if threads <= 1 {
        return files.iter().map(read_len).sum();
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut total = 0;
                    while let Some(c) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        total += read_len(c);
                    }
                    total
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("reader thread"))
            .sum()
    })
}

fn read_len(candidate: &Candidate) -> u64 {
    std::fs::read(&candidate.path)
        .map(|b| std::hint::black_box(b).len() as u64)
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
struct Counts {
    templates: usize,
    parameter_files: usize,
    resources: usize,
    findings: usize,
    errors: usize,
}

fn scan_once(roots: &[PathBuf], base: &Path, threads: usize) -> Counts {
    let mut options = ScanOptions::new(roots.to_vec());
    options.base = base.to_path_buf();
    options.threads = threads;
    let report = std::hint::black_box(aks_authorized_ips::scan(&options));
    Counts {
        templates: report.stats.templates,
        parameter_files: report.stats.parameter_files,
        resources: report.resources.len(),
        findings: report.resources.iter().map(|r| r.findings.len()).sum(),
        errors: report.errors.len(),
    }
}

/// The release binary: the one cargo built for this bench when it says so,
/// else `target/release/` (built with `cargo build --release` if missing).
fn locate_binary() -> Result<PathBuf, String> {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_aks-authorized-ips") {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target_dir.join("release").join(BIN_NAME);
    if bin.is_file() {
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", BIN_NAME])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run cargo build --release: {e}"))?;
    if status.success() && bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("the release binary is not at {}", bin.display()))
    }
}

/// Runs the binary over the corpus `runs` times and prints the fastest wall
/// time and the highest max RSS seen.
fn peak_memory(bin: &Path, corpus: &Path, runs: usize) {
    println!(
        "  command:         {} scan {} --format json --output /dev/null",
        bin.display(),
        corpus.display()
    );
    // One warm-up, then the measured runs.
    let mut best_wall: Option<Duration> = None;
    let mut peak_kib: i64 = 0;
    let mut code = None;
    for i in 0..=runs {
        match run_child(bin, corpus) {
            Ok((wall, maxrss_kib, exit)) => {
                if i == 0 {
                    continue;
                }
                best_wall = Some(best_wall.map_or(wall, |b| b.min(wall)));
                peak_kib = peak_kib.max(maxrss_kib);
                code = Some(exit);
            }
            Err(e) => {
                println!("  skipped: {e}");
                return;
            }
        }
    }
    let Some(wall) = best_wall else {
        println!("  skipped: no measured run");
        return;
    };
    println!(
        "  peak RSS:        {:.1} MiB ({peak_kib} KiB, highest of {runs} runs)",
        peak_kib as f64 / 1024.0
    );
    println!(
        "  wall time:       {}  (best of {runs} runs, JSON report rendered)",
        ms(wall)
    );
    match code {
        Some(Some(c)) => println!("  exit code:       {c} (0 clean, 1 findings, 2 errors)"),
        _ => println!("  exit code:       killed by a signal"),
    }
}

/// Spawns the binary and reaps it with `wait4` to get its own `rusage`.
/// Returns wall time, max RSS in KiB and the exit code.
fn run_child(bin: &Path, corpus: &Path) -> Result<(Duration, i64, Option<i32>), String> {
    let start = Instant::now();
    let child = Command::new(bin)
        .arg("scan")
        .arg(corpus)
        .args(["--format", "json", "--output", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; the pointers are valid for the call.
    let reaped = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = start.elapsed();
    // The child is reaped: dropping the handle does not wait on it again.
    drop(child);
    if reaped != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    let exit = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    Ok((wall, usage.ru_maxrss as i64, exit))
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1e3)
}
