/* visitor-counter's embed script (README, "On a web page").
 *
 *   <script async src="https://API/counter.js" data-counter="home"></script>
 *   <span data-counter-views>...</span> views, <span data-counter-visitors>...</span> visitors
 *
 * Counts this page load once: one POST /counters/{name} with an Idempotency-Key made
 * for this load, sent again with the same key after a 503, a 409 or a network error
 * (waiting Retry-After; an attempt that takes over 10 s is given up; at most 3
 * attempts), so a retry never counts twice. Then it
 * writes the numbers into every element marked data-counter-views or
 * data-counter-visitors whose value is empty or this counter's name, formatted for the
 * reader's locale. A page the browser prerenders counts when it is shown, if ever.
 * Without data-counter the name comes from the page's path (the rule is in the README
 * and in name() below). The API is the address this script was loaded from, without
 * /counter.js. It sends nothing else, never throws into the
 * page, and when it cannot count it leaves the elements as they are. When done, the
 * script element and the filled elements carry data-counter-state="counted" or
 * "failed" ("skipped" on a second script for a counter the page already counts). As
 * a module (type="module") it serves every module embed on the page.
 */
(function () {
  "use strict";
  var ATTEMPTS = 3;
  var MAX_WAIT_MS = 10000;
  var ATTEMPT_TIMEOUT_MS = 10000;

  function warn(message) {
    try {
      if (window.console && console.warn) console.warn("visitor-counter: " + message);
    } catch (ignored) {}
  }

  // 32-bit FNV-1a of an ASCII string, as 8 hex digits.
  function fnv1a(text) {
    var hash = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return ("0000000" + hash.toString(16)).slice(-8);
  }

  // The counter name of a path: always a valid name (1 to 64 of a-z 0-9 . _ -, first
  // and last a letter or digit).
  function name(path) {
    try {
      path = decodeURIComponent(path);
    } catch (ignored) {}
    path = path.toLowerCase();
    path = path.replace(/\/index\.html?$/, "/").replace(/\.html?$/, "");
    var derived = path
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "")
      .replace(/[^a-z0-9]+$/, "");
    if (derived === "") return "home";
    if (derived.length <= 64) return derived;
    return derived.slice(0, 55).replace(/[^a-z0-9]+$/, "") + "-" + fnv1a(derived);
  }

  function key() {
    var bytes = new Uint8Array(16);
    var c = window.crypto;
    if (c && c.getRandomValues) {
      c.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var hex = "";
    for (var j = 0; j < bytes.length; j++) hex += ("0" + bytes[j].toString(16)).slice(-2);
    return hex;
  }

  // Retry-After in milliseconds (seconds or an HTTP date), or the fallback.
  function retryAfter(response, fallback) {
    var value = response && response.headers.get("Retry-After");
    if (!value) return fallback;
    var seconds = Number(value);
    var ms = isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
    if (!isFinite(ms)) return fallback;
    return Math.min(Math.max(ms, 0), MAX_WAIT_MS);
  }

  function format(number) {
    try {
      return new Intl.NumberFormat().format(number);
    } catch (ignored) {
      return String(number);
    }
  }

  function targets(attribute, counter) {
    var found = [];
    var all = document.querySelectorAll("[" + attribute + "]");
    for (var i = 0; i < all.length; i++) {
      var wanted = all[i].getAttribute(attribute);
      if (wanted === "" || wanted === counter) found.push(all[i]);
    }
    return found;
  }

  function whenReady(then) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", then);
    } else {
      then();
    }
  }

  function finish(script, counter, totals) {
    whenReady(function () {
      try {
        var state = totals ? "counted" : "failed";
        var fill = [
          ["data-counter-views", totals && totals.views],
          ["data-counter-visitors", totals && totals.visitors],
        ];
        for (var i = 0; i < fill.length; i++) {
          var elements = targets(fill[i][0], counter);
          for (var j = 0; j < elements.length; j++) {
            if (totals) {
              elements[j].textContent = format(fill[i][1]);
            } else if (elements[j].getAttribute("data-counter-state") === "counted") {
              continue; // another script on the page filled it
            }
            elements[j].setAttribute("data-counter-state", state);
          }
        }
        if (script) script.setAttribute("data-counter-state", state);
      } catch (error) {
        warn("could not show the count: " + error);
      }
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function count(url, idempotencyKey, attempt) {
    var backoff = 1000 * Math.pow(2, attempt - 1);
    var again = function (ms) {
      if (attempt >= ATTEMPTS) {
        warn("POST " + url + " failed " + ATTEMPTS + " times; nothing was shown");
        return null;
      }
      return wait(ms).then(function () {
        return count(url, idempotencyKey, attempt + 1);
      });
    };
    // The answers are never stored anyway; asking for no-store here would also make
    // the browser skip its preflight cache and ask again on every page load.
    var options = {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Idempotency-Key": idempotencyKey },
    };
    var timer = null;
    if (window.AbortController) {
      var abort = new AbortController();
      options.signal = abort.signal;
      timer = setTimeout(function () {
        abort.abort();
      }, ATTEMPT_TIMEOUT_MS);
    }
    return fetch(url, options).then(
      function (response) {
        if (response.ok) {
          // The timer also covers the body: an answer cut off or stalled after its
          // headers is given up and asked again, like one that never came.
          return response.json().then(
            function (body) {
              clearTimeout(timer);
              return body;
            },
            function () {
              clearTimeout(timer);
              return again(backoff);
            }
          );
        }
        clearTimeout(timer);
        if (response.status === 503 || response.status === 409) {
          return again(retryAfter(response, backoff));
        }
        warn("POST " + url + " answered " + response.status + "; nothing was counted");
        return null;
      },
      function () {
        clearTimeout(timer);
        // A network error, an attempt that took too long, or an origin the API does not
        // allow (the browser gives no reason): try again, the same key keeps it to one
        // visit.
        return again(backoff);
      }
    );
  }

  // The embed scripts this run of the script serves: itself, or, when it runs as a
  // module (which has no currentScript, and runs once per page however often it is
  // included), every module embed on the page that no run has taken yet.
  function embeds() {
    if (document.currentScript) return [document.currentScript];
    var found = [];
    var all = document.querySelectorAll('script[type="module"][src]');
    for (var i = 0; i < all.length; i++) {
      var path = new URL(all[i].src, document.baseURI).pathname;
      if (/\/counter\.js$/.test(path) && !all[i].hasAttribute("data-counter-state")) {
        found.push(all[i]);
      }
    }
    return found;
  }

  // The counters some script on this page already counts: the same line pasted twice
  // counts the page once.
  var counting = (window.__visitorCounterCounting = window.__visitorCounterCounting || {});

  function embed(script) {
    var source = new URL(script.src, document.baseURI);
    var base = source.origin + source.pathname.replace(/\/counter\.js$/, "");
    var counter = script.getAttribute("data-counter") || name(location.pathname);
    if (counting[counter]) {
      script.setAttribute("data-counter-state", "skipped");
      warn("the counter " + counter + " is counted by another script on this page already");
      return;
    }
    counting[counter] = true;
    script.setAttribute("data-counter-state", "counting");
    var start = function () {
      count(base + "/counters/" + encodeURIComponent(counter), key(), 1)
        .then(function (totals) {
          var valid =
            totals && typeof totals.views === "number" && typeof totals.visitors === "number";
          finish(script, counter, valid ? totals : null);
        })
        .catch(function (error) {
          warn("could not count: " + error);
          finish(script, counter, null);
        });
    };
    // A page the browser prerenders is counted when it is shown, if ever.
    if (document.prerendering) {
      document.addEventListener("prerenderingchange", start, { once: true });
    } else {
      start();
    }
  }

  try {
    if (!window.fetch || !window.Promise || !window.URL) return;
    var scripts = embeds();
    for (var i = 0; i < scripts.length; i++) {
      try {
        if (scripts[i].src) embed(scripts[i]);
      } catch (error) {
        warn("could not count: " + error);
      }
    }
  } catch (error) {
    warn("could not count: " + error);
  }
})();
