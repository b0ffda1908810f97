//! Counting a visit: `POST /count` and `POST /counters/{name}`, with the filters
//! (bots, the views-per-visitor limit, the owner's switch is the script's), the
//! idempotency key and the deadline.

use super::*;

/// Who is visiting, as far as counting needs to know: the client's address (an
/// extension the server or the Lambda adapter sets) and its User-Agent.
pub(super) struct Visitor<'a> {
    address: Option<&'a ClientAddress>,
    /// `None` when none was sent.
    user_agent: Option<&'a [u8]>,
}

impl<'a> Visitor<'a> {
    pub(super) fn of(request: &'a Parts) -> Self {
        Self {
            address: request.extensions.get::<ClientAddress>(),
            user_agent: request
                .headers
                .get(header::USER_AGENT)
                .map(HeaderValue::as_bytes),
        }
    }
}

impl<S: CounterStore> AppState<S> {
    /// The visit of `counter` by `visitor` today: its marker needs the day's salt.
    pub(super) async fn visit_of(
        &self,
        counter: CounterName,
        visitor: Visitor<'_>,
    ) -> Result<Visit, StoreError> {
        let day = self.clock.today();
        let (marker, site_marker) = match visitor.address {
            Some(address) => {
                let salt = self.salts.get_or_fetch(day, self.store.salt(day)).await?;
                let agent = visitor.user_agent.unwrap_or_default();
                (
                    Some(salt.marker(&counter, &address.0, agent)),
                    Some(salt.site_marker(&address.0, agent)),
                )
            }
            // No address (an in-process caller): the view counts, no visitor.
            None => (None, None),
        };
        Ok(Visit {
            counter,
            day,
            marker,
            site_marker,
            limits: self.limits,
        })
    }

    /// Counts one visit of `counter`, within the store deadline; with a key, at most
    /// once per key.
    pub(super) async fn visit(
        &self,
        counter: CounterName,
        visitor: Visitor<'_>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Once, StoreError> {
        within_deadline(async {
            // A bot's POST is tallied, not counted: its User-Agent is read here, in
            // memory, and dropped; no marker is made of it.
            if crate::bots::is_bot(visitor.user_agent) {
                let day = self.clock.today();
                let totals = self.store.filtered(&counter, day, Filter::Bot).await?;
                return Ok(Once::Filtered(Filter::Bot, totals));
            }
            let visit = self.visit_of(counter, visitor).await?;
            match key {
                Some(key) => self.store.record_once(&visit, key, self.clock.now()).await,
                None => self.store.record(&visit).await,
            }
        })
        .await
    }

    /// `GET`, `POST` or `OPTIONS` on a counter: its totals (and whether they replay a
    /// keyed visit's answer), or the response to give instead.
    pub(super) async fn read_or_count(
        &self,
        counter: CounterName,
        request: &Parts,
    ) -> Result<(Totals, Answered), Response> {
        let method = &request.method;
        let once = match *method {
            Method::GET => within_deadline(self.store.get(&counter))
                .await
                .map(Once::Counted),
            Method::POST => {
                let key = IdempotencyKey::of(&request.headers)
                    .map_err(|why| Problem::InvalidIdempotencyKey(why).into_response())?;
                self.visit(counter, Visitor::of(request), key.as_ref())
                    .await
            }
            Method::OPTIONS => return Err(cors::preflight(PREFLIGHT_COUNTING)),
            _ => return Err(Problem::MethodNotAllowed(COUNTING_METHODS).into_response()),
        };
        match once {
            Ok(Once::Counted(totals)) => Ok((totals, Answered::Counted)),
            Ok(Once::Replayed(totals)) => Ok((totals, Answered::Replayed)),
            Ok(Once::Filtered(filter, totals)) => Ok((totals, Answered::Filtered(filter))),
            Ok(Once::TooManyCounters) => Err(Problem::TooManyCounters.into_response()),
            Ok(Once::OtherCounter) => Err(Problem::IdempotencyKeyReused.into_response()),
            Ok(Once::InFlight) => Err(Problem::IdempotencyKeyInFlight.into_response()),
            Err(error) => Err(store_failure(method, &error)),
        }
    }

    /// Whether the request may see the owner's pages (the dashboard, the list): always
    /// without `DASHBOARD_PASSWORD`, with it only when the request carries it.
    pub(super) fn owner(&self, headers: &HeaderMap) -> Result<(), Problem> {
        match &self.password {
            Some(password) if !password.admits(headers) => Err(Problem::Unauthorized),
            _ => Ok(()),
        }
    }

    pub(super) fn resolve(
        &self,
        raw: Result<Path<String>, PathRejection>,
    ) -> Result<CounterName, Problem> {
        raw.ok()
            .and_then(|Path(name)| self.counters.resolve(&name))
            .ok_or(Problem::UnknownCounter)
    }
}

/// What a counter's `200` says besides its numbers: that it replays a keyed visit's
/// first answer (`Idempotent-Replayed: true`), or that the POST was not counted
/// (`Visit-Filtered`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Answered {
    Counted,
    Replayed,
    Filtered(Filter),
}

impl Answered {
    pub(super) fn mark(self, mut response: Response) -> Response {
        let (name, value): (HeaderName, HeaderValue) = match self {
            Answered::Counted => return response,
            Answered::Replayed => (
                HeaderName::from_static(crate::idempotency::REPLAYED_HEADER),
                HeaderValue::from_static("true"),
            ),
            Answered::Filtered(filter) => {
                (FILTERED_HEADER, HeaderValue::from_static(filter.as_str()))
            }
        };
        response.headers_mut().insert(name, value);
        response
    }
}

/// `/count`: dispatches on the method itself, so that every other method gets
/// the contract's 405 problem rather than a bare status.
pub(super) async fn count<S: CounterStore>(State(state): Shared<S>, request: Request) -> Response {
    let (request, _) = request.into_parts();
    match state.read_or_count(CounterName::site(), &request).await {
        Ok((totals, answered)) => answered.mark(json(&CountBody {
            count: totals.views,
        })),
        Err(response) => response,
    }
}

pub(super) async fn counter<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    if request.method() == Method::OPTIONS {
        return cors::preflight(PREFLIGHT_COUNTING);
    }
    let counter = match state.resolve(name) {
        Ok(counter) => counter,
        Err(problem) => return problem.into_response(),
    };
    let (request, _) = request.into_parts();
    match state.read_or_count(counter.clone(), &request).await {
        Ok((totals, answered)) => answered.mark(json(&counter_json(&counter, totals))),
        Err(response) => response,
    }
}

/// `/count`'s body: v1's shape.
#[derive(serde::Serialize)]
struct CountBody {
    count: u64,
}
