//! The CPU share of a small Lambda function, on this machine: a cgroup v1 `cpu` group
//! with a CFS quota, and the CPU time a process has used.
//!
//! Lambda gives a function CPU in proportion to its memory: a full vCPU at 1,769 MB,
//! so 128 MB gets 128/1,769 of one, about 7.2%. A group with `cpu.cfs_quota_us` =
//! 7,236 per `cpu.cfs_period_us` = 100,000 holds a process to the same share, and
//! each 0.1 ms of CPU it needs becomes about 1.4 ms of wall time.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// Where cgroup v1 mounts its `cpu` controller.
pub const CPU_CONTROLLER: &str = "/sys/fs/cgroup/cpu";
/// The CFS period the quota is a share of.
pub const PERIOD_US: u64 = 100_000;
/// The memory at which Lambda gives a function one full vCPU.
pub const MB_PER_VCPU: u64 = 1_769;

/// The quota per [`PERIOD_US`] of a function with `memory_mb` of memory, to the
/// nearest microsecond: 7,236 us at 128 MB.
pub fn lambda_quota_us(memory_mb: u64) -> u64 {
    (PERIOD_US * memory_mb + MB_PER_VCPU / 2) / MB_PER_VCPU
}

/// A `cpu` group of its own, removed when dropped (after every process in it ended).
#[derive(Debug)]
pub struct CpuQuota {
    dir: PathBuf,
    quota_us: u64,
}

impl CpuQuota {
    /// Makes `/sys/fs/cgroup/cpu/NAME` with `quota_us` per [`PERIOD_US`]. Needs root
    /// and cgroup v1's `cpu` controller.
    pub fn create(name: &str, quota_us: u64) -> io::Result<Self> {
        let dir = Path::new(CPU_CONTROLLER).join(name);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            // Left behind by a run that was killed: the settings are written again.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
        let quota = Self { dir, quota_us };
        fs::write(quota.dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
        fs::write(quota.dir.join("cpu.cfs_quota_us"), quota_us.to_string())?;
        Ok(quota)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn quota_us(&self) -> u64 {
        self.quota_us
    }

    /// How often the group was held back by its quota, and for how long in all
    /// (`cpu.stat`'s `nr_throttled` and `throttled_time`).
    pub fn throttled(&self) -> Option<(u64, Duration)> {
        let stat = fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        let field = |name: &str| {
            stat.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        Some((
            field("nr_throttled ")?,
            Duration::from_nanos(field("throttled_time ")?),
        ))
    }

    /// Spawns `command` inside the group, so that it is held to the quota from its
    /// first instruction (writing its PID to `cgroup.procs` after the spawn would let
    /// the start of its init run free). A thread of its own joins the group (cgroup
    /// v1's `tasks` moves one thread; `0` is the writer) and forks from there: a child
    /// starts in its parent thread's group. The thread ends with the spawn.
    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        let tasks = self.dir.join("tasks");
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&tasks)?
                        .write_all(b"0")?;
                    command.spawn()
                })
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the spawning thread panicked")))
        })
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

/// CPU time process `pid` has used so far, all its threads: the sum of the first field
/// (nanoseconds on a CPU, user and kernel) of each `/proc/PID/task/*/schedstat`.
/// Threads that have already exited are not in it.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let mut nanos = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        let Ok(schedstat) = fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_128_mb_function_gets_7236_us_per_100_ms() {
        assert_eq!(lambda_quota_us(128), 7_236);
        assert_eq!(lambda_quota_us(1_769), PERIOD_US);
    }
}
