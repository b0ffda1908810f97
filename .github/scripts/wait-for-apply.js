// Waits until this commit's Infrastructure run has applied one environment, so that a
// code deploy never races the apply of the same merge (both change the function:
// Lambda answers the second ResourceConflictException) and publishes its version only
// after the configuration of this commit (say a new ALLOWED_ORIGINS) is in place; a
// published version freezes the configuration it was published with.
//
// Called from actions/github-script in deploy.yml:
//   await require('./.github/scripts/wait-for-apply.js')({ github, context, core, stage })
// It needs `actions: read`. A commit that changed nothing under terraform/ has no
// Infrastructure run, and nothing to wait for.
module.exports = async ({ github, context, core, stage, pollSeconds = 30 }) => {
  const { owner, repo } = context.repo;
  // The apply job's name in infrastructure.yml.
  const jobName = `terraform apply (${stage})`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const { data } = await github.rest.actions.listWorkflowRuns({
    owner, repo, workflow_id: 'infrastructure.yml',
    event: 'push', branch: 'main', head_sha: context.sha, per_page: 10,
  });
  const run = data.workflow_runs[0];
  if (!run) {
    core.info(`No Infrastructure run for ${context.sha}: the commit changed nothing under terraform/, so there is no apply to wait for.`);
    return;
  }

  for (;;) {
    const jobs = await github.paginate(github.rest.actions.listJobsForWorkflowRun, {
      owner, repo, run_id: run.id, filter: 'latest', per_page: 100,
    });
    const job = jobs.find((j) => j.name === jobName);
    if (job && job.status === 'completed') {
      if (job.conclusion === 'success') {
        core.info(`${jobName} of ${context.sha} succeeded (${job.html_url}); deploying.`);
        return;
      }
      core.setFailed(`${jobName} of this commit ended "${job.conclusion}" (${job.html_url}), so ${stage} does not have this commit's infrastructure; its code is not deployed there. Make the apply succeed (see that run), then re-run this job.`);
      return;
    }
    if (!job) {
      const { data: current } = await github.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id });
      if (current.status === 'completed') {
        core.setFailed(`Infrastructure run ${run.html_url} of this commit ended "${current.conclusion}" without a job "${jobName}"; nothing applied ${stage}, so its code is not deployed there.`);
        return;
      }
    }
    core.info(`Waiting for ${jobName} (${job ? job.status : 'not started yet'}) of ${run.html_url}`);
    await sleep(pollSeconds * 1000);
  }
};
