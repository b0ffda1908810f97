//! One test binary for the service (see `helpers/` for the harness).
//!
//! Where each clause of the contract (`contracts/openapi.json`; docs/api.md's
//! table) is proven:
//!
//! | clause | tests |
//! | --- | --- |
//! | `GET /count` reads, a missing item is 0 and not written | `contract::get_reads_zero_*`, `dynamodb::*`, `embedded::*` |
//! | `POST /count` counts; every POST gets its own N | `contract::concurrent_posts_*`, `dynamodb::*`, `embedded::*`, `load::*` |
//! | `OPTIONS /count` preflight, allowed origins only | `contract::preflight_*`, `lambda::preflight_*` |
//! | other methods: 405 with `Allow` | `contract::other_methods_*`, `lambda::errors_keep_*` |
//! | other paths: 404 | `contract::any_other_path_*`, `openapi::the_app_serves_exactly_*` |
//! | a body over 1 KiB: 413, nothing counted | `contract::bodies_over_1_kib_*`, `wire::a_client_that_sends_a_1_mib_body_*`, `hostile::oversized_bodies_*` |
//! | header limits: 431 problem; unreadable requests: 400 problem | `wire::*`, `hostile::header_limits_*` |
//! | storage down, throttled, slow: 503 + `Retry-After` | `contract::storage_unavailable_*`, `faults::*` |
//! | a stored value that is not a count: 500, not overwritten | `contract::a_stored_value_*`, `dynamodb::*` |
//! | problem+json, no AWS text, `Cache-Control: no-store` | `contract::*`, `faults::*`, `wire::*`, `schemathesis::*` |
//! | CORS: exact allow-list, `Vary: Origin`, `*` only when configured | `contract::*origin*`, `security::*` |
//! | a POST from a foreign `Origin`: 403, nothing counted | `origin::*`, `browser::*` (in Chromium) |
//! | reads are strongly consistent | `dynamodb::*`, `binary::serves_from_dynamodb_local` |
//! | the OpenAPI document matches what the app serves | `openapi::*`, `schemathesis::*`, `e2e_checker::*` |
//! | configuration: one line naming the variable; the README lists what is read; the docs name the contract's routes and problems and the store's keys, and their links resolve | `binary::bad_configuration_*`, `docs::*`, `docs_links::*` |
//! | v2: `GET/POST /counters/{name}`, views consecutive, a visitor once per counter and UTC day | `counters::*` (both stores) |
//! | v2: `days` range rules, zeros, oldest first, 366 dates, a day boundary | `counters::days_*`, `counters::a_day_boundary_*` |
//! | v2: `GET /counters` sorted, paged past 1,000 | `counters::the_list_*` |
//! | v2: invalid or not allowed names are `unknown-counter`; `COUNTERS` | `counters::invalid_names_*`, `counters::counters_limits_*` |
//! | v2: `/count` is `site`; a v1 table or file keeps its count | `counters::count_is_*`, `counters::a_v1_*` |
//! | v2: reads never write; round trips and write units per operation | `counters::reads_never_write`, `counters::each_operation_costs_*` |
//! | operators: `counters set/list/export/import` on both stores; `set` refuses a counter that moved; bad input is one line and changes nothing; a running server keeps them off its file; `--help` everywhere | `operator::*` |
//! | v2 privacy: no address or User-Agent stored in any encoding; old salts and markers gone | `privacy::*` (both stores) |
//! | v2: the visitor is `sourceIp` in Lambda, the TCP peer locally, never a header | `lambda::the_visitor_is_*`, `security::the_local_server_counts_*` |
//! | v2: `Idempotency-Key`: a retry replays (marked), counts nothing; another counter 422; malformed 400; concurrent one key counts once; new again after 24 h; the key is never stored | `idempotency::*` (both stores), `lambda::a_keyed_post_*` |
//! | v2: a keyed visit is counted once when its answer is lost after the write landed, when the process is killed between attempts, when its write arrives late; embedded store under `kill -9` | `idempotency_faults::*` |
//! | v2: badges (`badge.svg`, `shields.json`): parameters, escaping, `no-cache`, a CSP without script; `/counter.js` cacheable; `/dashboard` server-rendered, `DASHBOARD=off` a 404 | `site::*`, `openapi::*`, `schemathesis::*` |
//! | v2 in Chromium: the README's embed line counts once per load, retries with its key, fails quietly on a foreign origin, derives names by docs/pages.md's rule; badges in `<img>`; the dashboard alone, without JavaScript too | `browser::*` |
//! | v3: bots tallied not counted; `VIEWS_PER_VISITOR`; `/totals` counts a person once a day; `MAX_COUNTERS`; delete and rename; the index (and a v2 table gaining it); `DASHBOARD_PASSWORD`; `HEAD`, `/`, `/dashboard/`; route before origin | `people::*` (both stores) |
//! | Lambda mode, real API Gateway events | `lambda::*`, `lambda_binary::*`, `origin::in_lambda_*` |
//! | crash safety, SIGTERM, hostile input, logs without addresses | `binary::*`, `faults::*`, `hostile::*`, `security::*` |
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod browser;
mod contract;
mod counters;
mod docs;
mod docs_links;
mod dynamodb;
mod e2e_checker;
mod embedded;
mod faults;
mod helpers;
mod hostile;
mod idempotency;
mod idempotency_faults;
mod lambda;
mod lambda_binary;
mod layers;
mod load;
mod openapi;
mod operator;
mod origin;
mod people;
mod privacy;
mod schemathesis;
mod security;
mod site;
mod wire;
