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
# Sensitive values are compared as "(sensitive)": a reviewer sees them so in the plan,
# and the one the stack makes (the dashboard's first password, terraform/
# dashboard_password.tf) is generated anew by every plan, so two plans of its creation
# never agree on it.
#
# Used by infrastructure.yml: jq -S -f plan-changes.jq
def mask($sensitive):
  if $sensitive == true then "(sensitive)"
  elif ($sensitive | type) == "object" and type == "object" then
    with_entries(.key as $key | .value |= mask($sensitive[$key] // false))
  elif ($sensitive | type) == "array" and type == "array" then
    [range(0; length) as $i | .[$i] | mask($sensitive[$i] // false)]
  else . end;

def sets:
  (.after_sensitive // false) as $after_sensitive
  | (.before_sensitive // false) as $before_sensitive
  | ((.after // {}) | mask($after_sensitive)) as $after
  | ((.before // {}) | mask($before_sensitive)) as $before
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
