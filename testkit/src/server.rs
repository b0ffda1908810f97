//! The `visitor-counter` binary in local mode: started with a clean environment on a
//! free port, its address read from the line it prints on start.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Error;

/// How long the binary may take to print its start-up line.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A command for `binary` with nothing of this process's environment but `PATH`, so
/// that no variable of the service or the AWS SDK leaks in from the shell.
pub fn command(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// [`command`] for the local server on a free loopback port, with `env`, stdin closed
/// and stdout piped for the start-up line. Where stderr goes is the caller's choice.
pub fn local_command<K: AsRef<OsStr>, V: AsRef<OsStr>>(binary: &Path, env: &[(K, V)]) -> Command {
    let mut command = command(binary);
    command
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// The binary serving in local mode; killed when dropped.
#[derive(Debug)]
pub struct LocalServer {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, from the start-up line.
    pub base_url: String,
    /// The line it printed on start.
    pub banner: String,
}

impl LocalServer {
    /// Spawns `command` (see [`local_command`]) and waits for its start-up line.
    pub fn start(command: &mut Command) -> Result<Self, Error> {
        let binary = command.get_program().to_string_lossy().into_owned();
        let child = command.spawn().map_err(|source| Error::Binary {
            binary,
            what: "cannot start it".to_owned(),
            source: Some(source),
        })?;
        Self::wait_for_banner(child)
    }

    /// Waits up to [`START_TIMEOUT`] for a child spawned from [`local_command`] to print
    /// its start-up line, and keeps draining its stdout so it never blocks on a full
    /// pipe. The child is killed if no usable line comes.
    pub fn wait_for_banner(mut child: Child) -> Result<Self, Error> {
        let failed = |mut child: Child, what: String| {
            let _ = child.kill();
            let _ = child.wait();
            Err(Error::Binary {
                binary: format!("the binary (pid {})", child.id()),
                what,
                source: None,
            })
        };
        let Some(stdout) = child.stdout.take() else {
            return failed(child, "its stdout is not piped".to_owned());
        };
        let (lines, banner) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = lines.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let banner = match banner.recv_timeout(START_TIMEOUT) {
            Ok(line) => line.trim().to_owned(),
            Err(_) => {
                return failed(
                    child,
                    format!("no start-up line within {}s", START_TIMEOUT.as_secs()),
                );
            }
        };
        let Some(base_url) = banner
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .map(str::to_owned)
        else {
            return failed(child, format!("no URL in the start-up line {banner:?}"));
        };
        Ok(Self {
            child,
            base_url,
            banner,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
