# The changes a saved Terraform plan proposes, from `terraform show -json PLAN`, in a
# form that two plans of the same configuration and state share even when they were
# made at different times: for each resource that is not left alone, its address, its
# actions, and only the attributes the plan sets (a value that differs from the
# current one, or one "known after apply"); the outputs that change; the variables.
#
# Left out on purpose: attributes the plan does not change. A code deploy between the
# pull request's plan and the merge changes some of the function's (last_modified,
# version, code_sha256), which Terraform does not manage (ignore_changes) and no
# plan sets; comparing them would reject every reviewed plan that a deploy overtook.
# An attribute that becomes unknown is compared as unknown, not by its old value.
#
# Used by infrastructure.yml: jq -S -f plan-changes.jq
def sets:
  (.after // {}) as $after
  | (.before // {}) as $before
  | (.after_unknown // {}) as $unknown
  | [($after | keys[]), ($unknown | keys[])]
  | unique
  | map(select($after[.] != $before[.] or (($unknown[.] // false) != false)))
  | map({key: ., value: {after: $after[.], unknown: ($unknown[.] // false)}})
  | from_entries;

{
  resource_changes: [
    .resource_changes[]?
    | select(.change.actions != ["no-op"] and .change.actions != ["read"])
    | {
        address,
        actions: .change.actions,
        replace_paths: (.change.replace_paths // []),
        sets: (.change | sets)
      }
  ],
  output_changes: (
    (.output_changes // {})
    | with_entries(select(.value.actions != ["no-op"]))
    | map_values({actions, after, after_unknown})
  ),
  variables: (.variables // {})
}
