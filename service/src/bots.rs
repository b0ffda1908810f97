//! Whether a request's client is a bot (placeholder until the vendored list lands).

/// True for a missing or empty User-Agent, or one that names a bot or automation.
pub fn is_bot(user_agent: Option<&[u8]>) -> bool {
    let Some(agent) = user_agent else {
        return true;
    };
    let agent = String::from_utf8_lossy(agent).to_ascii_lowercase();
    let agent = agent.trim();
    agent.is_empty()
        || [
            "bot",
            "crawl",
            "spider",
            "headless",
            "curl",
            "wget",
            "python",
            "go-http",
            "lighthouse",
        ]
        .iter()
        .any(|word| agent.contains(word))
}
