/* visitor-counter's embed script: what it does and why is in docs/embed.md. ASCII, no
 * dependencies, under 10 KB, and it never throws into the page.
 *   <script async src="https://API/counter.js" data-counter="home"></script>
 */
(function () {
  "use strict";
  var ATTEMPTS = 3;
  var MAX_WAIT_MS = 10000;
  var ATTEMPT_TIMEOUT_MS = 10000;
  var SWITCH = "visitor-counter:ignore";
  var HASH = /^#visitor-counter=(ignore|count)$/;

  function say(kind, message) {
    try {
      console[kind]("visitor-counter: " + message);
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

  // The counter name of a path, by the README's rule: always a valid name.
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
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    var hex = "";
    for (var i = 0; i < bytes.length; i++) hex += ("0" + bytes[i].toString(16)).slice(-2);
    return hex;
  }

  // The owner's switch: whether this browser is off for this site. Storage may throw
  // (blocked, full); this load still follows the address.
  function switched() {
    var wanted = HASH.exec(location.hash);
    var off = false;
    try {
      if (wanted && wanted[1] === "ignore") localStorage.setItem(SWITCH, "1");
      if (wanted && wanted[1] === "count") localStorage.removeItem(SWITCH);
      off = localStorage.getItem(SWITCH) === "1";
    } catch (error) {
      if (wanted) say("warn", "this browser cannot keep the switch: " + error.name);
    }
    if (!wanted) return off;
    // So that a reload, a bookmark or a shared address does not switch again.
    try {
      history.replaceState(history.state, "", location.href.split("#")[0]);
    } catch (ignored) {}
    return wanted[1] === "ignore";
  }

  function tell(off) {
    var undo = off ? "not counted (#visitor-counter=count on any page undoes it)" : "counted";
    say("info", "this browser is " + undo + " on " + location.origin);
  }

  // Retry-After in milliseconds (seconds or an HTTP date), or the fallback.
  function retryAfter(response, fallback) {
    var value = response.headers.get("Retry-After");
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

  // This counter's badges on the page may predate the count: ask again, with v (which
  // a badge ignores) new, so the browser cannot reuse its image.
  function refresh(url, views) {
    for (var i = 0; i < document.images.length; i++) {
      var image = document.images[i];
      try {
        var src = new URL(image.src);
        if (src.origin + src.pathname === url + "/badge.svg") {
          src.searchParams.set("v", views);
          image.src = src.href;
        }
      } catch (ignored) {}
    }
  }

  function finish(script, counter, totals, state, url) {
    whenReady(function () {
      try {
        var fill = { "data-counter-views": "views", "data-counter-visitors": "visitors" };
        for (var attribute in fill) {
          var elements = targets(attribute, counter);
          for (var j = 0; j < elements.length; j++) {
            if (totals) {
              elements[j].textContent = format(totals[fill[attribute]]);
            } else if (/^(counted|read)$/.test(elements[j].getAttribute("data-counter-state"))) {
              continue; // another script on the page filled it
            }
            elements[j].setAttribute("data-counter-state", state);
          }
        }
        if (script) script.setAttribute("data-counter-state", state);
        if (state === "counted") refresh(url, totals.views);
      } catch (error) {
        say("warn", "could not show the count: " + error);
      }
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  // POST url with idempotencyKey, or, without one, GET it.
  function ask(url, idempotencyKey, attempt) {
    var backoff = 1000 * Math.pow(2, attempt - 1);
    var method = idempotencyKey ? "POST" : "GET";
    var again = function (ms, why) {
      if (attempt >= ATTEMPTS) {
        say("warn", method + " " + url + " failed " + ATTEMPTS + " times; nothing was shown. " + why);
        return null;
      }
      return wait(ms).then(function () {
        return ask(url, idempotencyKey, attempt + 1);
      });
    };
    // No cache: "no-store": it would also skip the preflight cache.
    var options = { method: method, mode: "cors", credentials: "omit" };
    if (idempotencyKey) options.headers = { "Idempotency-Key": idempotencyKey };
    var abort = new AbortController();
    options.signal = abort.signal;
    var timer = setTimeout(function () {
      abort.abort();
    }, ATTEMPT_TIMEOUT_MS);
    var failed = function (error) {
      clearTimeout(timer);
      // Network down, too slow (AbortError) or origin refused (a TypeError, like the
      // first): again, with the same key.
      var refused = error && error.name === "TypeError";
      var origin = "this page's origin, " + location.origin + ", is not in its ALLOWED_ORIGINS";
      return again(backoff, refused ? "The API is unreachable, or " + origin + "." : "Last: " + error);
    };
    return fetch(url, options).then(function (response) {
      if (response.ok) {
        // The timer covers the body too.
        return response.json().then(function (body) {
          clearTimeout(timer);
          return body;
        }, failed);
      }
      clearTimeout(timer);
      var status = method + " " + url + " answered " + response.status;
      if (response.status === 503 || response.status === 409) {
        return again(retryAfter(response, backoff), "Last: " + status);
      }
      say("warn", status + "; nothing was shown");
      return null;
    }, failed);
  }

  // The embeds this run serves: itself, or as a module (one run per page, no
  // currentScript) every module embed no run has taken yet.
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

  // Shared by every run on the page: the counters taken, the switch (read once).
  var page = window.__visitorCounter;

  function embed(script) {
    var source = new URL(script.src, document.baseURI);
    var base = source.origin + source.pathname.replace(/\/counter\.js$/, "");
    var counter = script.getAttribute("data-counter") || name(location.pathname);
    if (page.counting[counter]) {
      script.setAttribute("data-counter-state", "skipped");
      say("warn", "another script on this page counts " + counter);
      return;
    }
    page.counting[counter] = true;
    script.setAttribute("data-counter-state", "counting");
    var url = base + "/counters/" + encodeURIComponent(counter);
    var start = function () {
      var counts = !page.off && navigator.webdriver !== true;
      ask(url, counts && key(), 1)
        .then(function (totals) {
          var valid =
            totals && typeof totals.views === "number" && typeof totals.visitors === "number";
          finish(script, counter, valid && totals, valid ? (counts ? "counted" : "read") : "failed", url);
        })
        .catch(function (error) {
          say("warn", "could not count: " + error);
          finish(script, counter, null, "failed");
        });
    };
    // A prerendered page counts when shown, if ever.
    if (document.prerendering) {
      document.addEventListener("prerenderingchange", start, { once: true });
    } else {
      start();
    }
  }

  try {
    // Browsers from before 2018 are not counted.
    if (!window.fetch || !window.AbortController || !window.URL) return;
    if (!page) {
      var asked = HASH.test(location.hash);
      page = window.__visitorCounter = { counting: {}, off: switched() };
      if (navigator.webdriver === true) {
        say("info", "navigator.webdriver is true: a browser under automation is not counted");
      } else if (page.off || asked) {
        tell(page.off);
      }
      window.addEventListener("hashchange", function () {
        if (HASH.test(location.hash)) tell((page.off = switched()));
      });
    }
    var scripts = embeds();
    for (var i = 0; i < scripts.length; i++) {
      try {
        if (scripts[i].src) embed(scripts[i]);
      } catch (error) {
        say("warn", "could not count: " + error);
      }
    }
  } catch (error) {
    say("warn", "could not count: " + error);
  }
})();
